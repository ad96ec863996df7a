/**
 * No message jwtis writes may carry a secret it was given: an age identity, a passphrase, a
 * client or admin token, an HMAC secret, a password in a URL. Errors from libraries sometimes
 * echo their input (typage's bech32 decoder prints the whole identity it could not read), so
 * every message that leaves the process goes through `redact` on its way out.
 */

const known = new Set<string>()

/** Remembers a secret value so that it is masked wherever it would appear in a message. */
export function registerSecret(value: string | undefined): void {
  // Short values would mask ordinary words; secrets jwtis accepts are longer than this.
  if (value && value.length >= 6) known.add(value)
}

const PATTERNS: Array<[RegExp, string]> = [
  // age identities (X25519 and plugin/PQ ones), whatever their checksum
  [/AGE-(?:PLUGIN-[A-Z0-9-]+-)?SECRET-KEY-[0-9A-Z]+/gi, 'AGE-SECRET-KEY-1…(redacted)'],
  // client and admin tokens: recognisable by their prefix
  [/\bjwtis_(admin_)?[\w-]{16,}/g, 'jwtis_$1…(redacted)'],
  // user:password@ in any URL
  [/(\b[a-z][\w+.-]*:\/\/[^/\s:@]*:)[^@\s/]*@/gi, '$1***@'],
]

export function redact(message: string): string {
  let out = message
  for (const secret of known) out = out.split(secret).join('…(redacted)')
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement)
  return out
}

/** A URL fit to print: its password (and only that) masked. Unparseable input is not echoed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return redact(url)
  }
}
