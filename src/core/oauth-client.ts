import type {ClientSettings} from '../model/document.js'

import {UsageError} from '../common/errors.js'
import {checkPublicJwks} from '../jose/index.js'

/** A client's OAuth registration (RFC 7591 metadata) as users give it, flags or JSON. */
export interface OAuthClientInput {
  /** A JWK Set object (`client add --jwks FILE`, register `jwks`). */
  jwks?: unknown
  /** `client add --jwks URL`, register `jwks_uri`. */
  jwksUri?: string
  redirectUris?: string[]
  /** Scope tokens; each entry may itself be a space-separated list (register `scope`). */
  scopes?: string[]
}

type OAuthSettings = Pick<ClientSettings, 'jwks' | 'jwksUri' | 'redirectUris' | 'scopes'>

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\u0021\u0023-\u005B\u005D-\u007E]{1,128}$/
const MAX_ITEMS = 64
const MAX_URL = 2048

/** Space-separated scope tokens (RFC 6749 §3.3) as a list, each checked, duplicates dropped. */
export function parseScope(value: string, what = 'scope'): string[] {
  const tokens = value.split(' ').filter((t) => t !== '')
  const bad = tokens.find((t) => !SCOPE_TOKEN.test(t))
  if (bad !== undefined) {
    throw new UsageError(
      `${what}: invalid scope ${JSON.stringify(bad)} (1-128 printable ASCII characters, no space, " or \\)`,
    )
  }

  return [...new Set(tokens)]
}

/**
 * Loopback hosts, as a listen address or a URL's hostname names them (`::1`, `[::1]`): reachable
 * from this machine only, where plain http is fine (RFC 8252 §7.3).
 */
export const isLoopbackHost = (hostname: string): boolean =>
  hostname === 'localhost' || hostname === '::1' || hostname === '[::1]' || /^127(\.\d+){3}$/.test(hostname)

function absoluteUrl(value: string, what: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`${what} ${JSON.stringify(value.slice(0, 200))} is not an absolute URL`)
  }

  if (value.length > MAX_URL) throw new UsageError(`${what} is longer than ${MAX_URL} characters`)
  // RFC 6749 §3.1.2: no fragment. An empty "#" still counts: it is not what the client registered.
  if (value.includes('#')) throw new UsageError(`${what} ${url.origin}… has a fragment: RFC 6749 §3.1.2 forbids one`)
  return url
}

/** Schemes that would run or read something in the browser instead of reaching the client. */
// eslint-disable-next-line no-script-url -- a list of what is refused
const UNSAFE_SCHEMES = new Set(['blob:', 'data:', 'file:', 'javascript:', 'vbscript:'])

export function checkRedirectUri(value: string): string {
  const url = absoluteUrl(value, 'redirect URI')
  if (UNSAFE_SCHEMES.has(url.protocol)) throw new UsageError(`redirect URI: the ${url.protocol} scheme is not allowed`)
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new UsageError(
      `redirect URI ${url.origin}: plain http only on loopback (127.0.0.1, [::1], localhost); use https`,
    )
  }

  return value
}

export function checkJwksUri(value: string): string {
  const url = absoluteUrl(value, 'jwks_uri')
  const ok = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))
  if (!ok || url.username || url.password) {
    throw new UsageError(`jwks_uri ${url.origin}: use https (plain http only on loopback), without credentials`)
  }

  return url.href
}

function list<T>(values: string[], what: string, check: (value: string) => T): T[] {
  if (values.length > MAX_ITEMS) throw new UsageError(`at most ${MAX_ITEMS} ${what}`)
  return [...new Set(values.map((value) => check(value)))]
}

/**
 * The stored form of a client's OAuth registration: what is given replaces what was there
 * (`jwks` and `jwks_uri` replace each other: RFC 7591 §2 allows one of them).
 */
export function normalizeOAuthSettings(input: OAuthClientInput): Partial<OAuthSettings> {
  const out: Partial<OAuthSettings> = {}
  if (input.scopes !== undefined)
    out.scopes = list(
      input.scopes.flatMap((s) => parseScope(s)),
      'scopes',
      (s) => s,
    )
  if (input.redirectUris !== undefined) out.redirectUris = list(input.redirectUris, 'redirect URIs', checkRedirectUri)
  if (input.jwks !== undefined && input.jwksUri !== undefined) {
    throw new UsageError('give jwks or jwks_uri, not both (RFC 7591 §2)')
  }

  if (input.jwks !== undefined) Object.assign(out, {jwks: checkPublicJwks(input.jwks, 'jwks'), jwksUri: undefined})
  if (input.jwksUri !== undefined) Object.assign(out, {jwks: undefined, jwksUri: checkJwksUri(input.jwksUri)})
  return out
}
