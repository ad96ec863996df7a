/**
 * The base of the URLs a discovery document gives (`jwks_uri`, endpoints), from `--public-url`
 * or an issuer name: an absolute http(s) URL without credentials, query or fragment (what RFC
 * 8414 §2 asks of an issuer), without its trailing slash. Undefined for anything else.
 */
export function publicBase(value: string): string | undefined {
  if (/[?#]/.test(value)) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }

  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) return undefined
  return url.href.replace(/\/+$/, '')
}
