/**
 * What the debugger page knows about a token, without the DOM and without Node: decoding, the
 * checks `jwtis token verify` makes (with its reason codes), and signature verification with
 * WebCrypto, so that it runs in the browser, where the token stays, and in Node for the tests.
 * It never decrypts: a JWE's key stays in the vault (`jwtis jwe decrypt`).
 */
import {checkClaims as checkClaimSet} from '../jose/claims.js'

export {describeTime} from '../common/time.js'

/** The same ceiling as `jwtis token verify`: larger inputs are refused before any parsing. */
export const MAX_TOKEN_CHARS = 64 * 1024
/** Clock skew allowed on exp, nbf and iat: `token verify`'s default --leeway. */
export const LEEWAY_SECONDS = 30

export type Json = Record<string, unknown>

export type Decoded =
  | {error: Finding; kind: 'invalid'}
  | {header: Json; kind: 'jwe'; parts: string[]}
  | {header: Json; kind: 'jws'; parts: string[]; payload?: Json; payloadText: string}

/** One check's outcome; `code` is the reason code `token verify` gives for that failure. */
export interface Finding {
  code?: string
  message: string
  name: string
  ok: boolean
}

/** A public key as the page holds it: a JWK, and where it came from. */
export interface KeyInfo {
  client?: string
  jwk: Json
  source: 'jwks' | 'pasted'
  state?: string
  until?: null | string
}

const fail = (name: string, code: string, message: string): Finding => ({code, message, name, ok: false})
const pass = (name: string, message: string): Finding => ({message, name, ok: true})

const B64URL = /^[\w-]*$/

export function base64urlDecode(text: string): Uint8Array {
  if (!B64URL.test(text) || text.length % 4 === 1) throw new Error('not base64url')
  const b64 = text.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat((4 - (text.length % 4)) % 4)
  const binary = atob(b64)
  return Uint8Array.from(binary, (c) => c.charCodeAt(0))
}

export function base64urlEncode(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

const utf8 = new TextDecoder('utf8', {fatal: true})
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

function jsonPart(part: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(utf8.decode(base64urlDecode(part)))
    return isObject(value) ? value : undefined
  } catch {
    return undefined
  }
}

/**
 * Takes a token as people paste it (`Bearer ` in front, quotes or whitespace around) and splits
 * it into a JWS (3 parts) or a JWE (5 parts).
 */
export function decode(input: string): Decoded {
  const text = input
    .trim()
    .replace(/^bearer\s+/i, '')
    .replace(/^(["'])(.*)\1$/s, '$2')
    .trim()
  const invalid = (message: string, code = 'MALFORMED_TOKEN'): Decoded => ({
    error: fail('format', code, message),
    kind: 'invalid',
  })
  if (text.length > MAX_TOKEN_CHARS)
    return invalid(`the token is over ${MAX_TOKEN_CHARS / 1024} KiB`, 'TOKEN_TOO_LARGE')
  const parts = text.split('.')
  if (parts.length !== 3 && parts.length !== 5) return invalid('not a compact JWS (3 parts) or JWE (5 parts)')
  if (!parts.every((p) => B64URL.test(p))) return invalid('a part of the token is not base64url')
  const header = jsonPart(parts[0])
  if (!header) return invalid('the protected header is not base64url JSON')
  if (parts.length === 5) return {header, kind: 'jwe', parts}
  let payloadText: string
  try {
    payloadText = utf8.decode(base64urlDecode(parts[1]))
  } catch {
    return invalid('the payload is not base64url UTF-8')
  }

  let payload: Json | undefined
  try {
    const value: unknown = JSON.parse(payloadText)
    if (isObject(value)) payload = value
  } catch {}

  return {header, kind: 'jws', parts, payload, payloadText}
}

export interface Expectations {
  /** Audiences any one of which the token must name; none: not checked. */
  audience?: string[]
  /** The issuer the token must name; absent: not checked. */
  issuer?: string
  now: number
}

/** The claim checks of `token verify` (its checker itself), each with its outcome, in the order it makes them. */
export function checkClaims(payload: Json | undefined, expected: Expectations): Finding[] {
  return checkClaimSet(payload, {...expected, leewayMs: LEEWAY_SECONDS * 1000})
}

const shown = (value: unknown): string => (value === undefined ? 'none' : JSON.stringify(value))

/** WebCrypto parameters for each JWS algorithm jwtis signs with (RFC 7518 §3). */
const ALGORITHMS: Record<string, {import: Json; kty: string; verify: Json}> = {
  EdDSA: {import: {name: 'Ed25519'}, kty: 'OKP', verify: {name: 'Ed25519'}},
  ES256: {import: {name: 'ECDSA', namedCurve: 'P-256'}, kty: 'EC', verify: {hash: 'SHA-256', name: 'ECDSA'}},
  ES384: {import: {name: 'ECDSA', namedCurve: 'P-384'}, kty: 'EC', verify: {hash: 'SHA-384', name: 'ECDSA'}},
  ES512: {import: {name: 'ECDSA', namedCurve: 'P-521'}, kty: 'EC', verify: {hash: 'SHA-512', name: 'ECDSA'}},
  HS256: {import: {hash: 'SHA-256', name: 'HMAC'}, kty: 'oct', verify: {name: 'HMAC'}},
  HS384: {import: {hash: 'SHA-384', name: 'HMAC'}, kty: 'oct', verify: {name: 'HMAC'}},
  HS512: {import: {hash: 'SHA-512', name: 'HMAC'}, kty: 'oct', verify: {name: 'HMAC'}},
  PS256: {import: {hash: 'SHA-256', name: 'RSA-PSS'}, kty: 'RSA', verify: {name: 'RSA-PSS', saltLength: 32}},
  PS384: {import: {hash: 'SHA-384', name: 'RSA-PSS'}, kty: 'RSA', verify: {name: 'RSA-PSS', saltLength: 48}},
  PS512: {import: {hash: 'SHA-512', name: 'RSA-PSS'}, kty: 'RSA', verify: {name: 'RSA-PSS', saltLength: 64}},
  RS256: {import: {hash: 'SHA-256', name: 'RSASSA-PKCS1-v1_5'}, kty: 'RSA', verify: {name: 'RSASSA-PKCS1-v1_5'}},
  RS384: {import: {hash: 'SHA-384', name: 'RSASSA-PKCS1-v1_5'}, kty: 'RSA', verify: {name: 'RSASSA-PKCS1-v1_5'}},
  RS512: {import: {hash: 'SHA-512', name: 'RSASSA-PKCS1-v1_5'}, kty: 'RSA', verify: {name: 'RSASSA-PKCS1-v1_5'}},
}

export const SUPPORTED_ALGS = Object.keys(ALGORITHMS)

/** Only the public members of a JWK (a pasted private key is used as its public half). */
const PUBLIC_MEMBERS: Record<string, string[]> = {EC: ['crv', 'x', 'y'], oct: ['k'], OKP: ['crv', 'x'], RSA: ['n', 'e']}

/**
 * The key that verifies a JWS, chosen as `token verify` chooses: by `kid` among the candidates
 * (the only one when there is one and the token names none), refusing `alg: none`, `crit`, and
 * an `alg` the key is not for (RFC 8725 §3.1: HMAC with a public key included).
 */
export function chooseKey(header: Json, keys: KeyInfo[]): {finding: Finding; key?: KeyInfo} {
  const {alg, crit, kid} = header
  if (typeof alg !== 'string' || alg.toLowerCase() === 'none')
    return {finding: fail('alg', 'ALG_NOT_ALLOWED', `alg ${shown(alg)} is never accepted`)}
  if (crit !== undefined)
    return {
      finding: fail(
        'crit',
        'UNSUPPORTED_CRIT',
        `the token requires extensions ${shown(crit)} that jwtis does not support`,
      ),
    }
  const spec = ALGORITHMS[alg]
  if (!spec) return {finding: fail('alg', 'ALG_NOT_ALLOWED', `alg ${JSON.stringify(alg)} is not one jwtis accepts`)}
  const candidates = keys.filter((k) => k.jwk.use === undefined || k.jwk.use === 'sig')
  const key =
    kid === undefined
      ? candidates.length === 1
        ? candidates[0]
        : undefined
      : (candidates.find((k) => k.jwk.kid === kid) ??
        (candidates.length === 1 && candidates[0].source === 'pasted' ? candidates[0] : undefined))
  if (!key) {
    return {
      finding: fail(
        'kid',
        'UNKNOWN_KID',
        kid === undefined
          ? 'the token names no kid, and there is not exactly one key to try'
          : `no key with kid ${JSON.stringify(kid)} ${keys.some((k) => k.source === 'jwks') ? "in this server's JWKS" : 'in the key you pasted'}`,
      ),
    }
  }

  if (key.jwk.kty !== spec.kty || (key.jwk.alg !== undefined && key.jwk.alg !== alg)) {
    return {
      finding: fail(
        'alg',
        'ALG_NOT_ALLOWED',
        `alg ${alg} does not fit the key (${String(key.jwk.kty)}${key.jwk.alg ? `, for ${String(key.jwk.alg)}` : ''})`,
      ),
      key,
    }
  }

  return {finding: pass('alg', `alg ${alg} fits the key`), key}
}

/** Verifies the JWS signature with WebCrypto: a BAD_SIGNATURE finding when it does not match. */
export async function verifySignature(decoded: Extract<Decoded, {kind: 'jws'}>, key: KeyInfo): Promise<Finding> {
  const alg = String(decoded.header.alg)
  const spec = ALGORITHMS[alg]
  const members = PUBLIC_MEMBERS[spec.kty] ?? []
  const jwk: Json = {kty: key.jwk.kty}
  for (const name of members) jwk[name] = key.jwk[name]
  let cryptoKey
  try {
    cryptoKey = await crypto.subtle.importKey('jwk', jwk as never, spec.import as never, false, ['verify'])
  } catch (error) {
    return fail('signature', 'BAD_KEY', `the key is not usable for ${alg}: ${(error as Error).message}`)
  }

  let signature: Uint8Array
  try {
    signature = base64urlDecode(decoded.parts[2])
  } catch {
    return fail('signature', 'MALFORMED_TOKEN', 'the signature is not base64url')
  }

  const input = new TextEncoder().encode(`${decoded.parts[0]}.${decoded.parts[1]}`)
  // (a signature of the wrong length is false in browsers, an exception in some runtimes)
  const ok = await crypto.subtle
    .verify(spec.verify as never, cryptoKey, signature as never, input as never)
    .catch(() => false)
  return ok
    ? pass('signature', `${alg} signature verified`)
    : fail('signature', 'BAD_SIGNATURE', 'signature verification failed')
}

/** A token with these claims and header, re-encoded with an empty signature: for editing, never valid. */
export function encodeUnsigned(header: Json, payload: Json): string {
  const enc = (value: Json) => base64urlEncode(new TextEncoder().encode(JSON.stringify(value)))
  return `${enc(header)}.${enc(payload)}.`
}

/**
 * A public key the user pasted: a JWK, a JWKS (every key a candidate) or an SPKI PEM (for the
 * token's alg). Private members are dropped here, before anything else sees them.
 */
export async function parsePastedKey(text: string, alg: unknown): Promise<KeyInfo[]> {
  const trimmed = text.trim()
  if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
    const spec = typeof alg === 'string' ? ALGORITHMS[alg] : undefined
    if (!spec || spec.kty === 'oct') throw new Error('a PEM key needs the token to name an asymmetric alg')
    const body = trimmed.replaceAll(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replaceAll(/\s+/g, '')
    const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0))
    const key = await crypto.subtle.importKey('spki', der as never, spec.import as never, true, ['verify'])
    const jwk = (await crypto.subtle.exportKey('jwk', key)) as Json
    return [{jwk: {...publicPart(jwk), alg}, source: 'pasted'}]
  }

  if (trimmed.startsWith('-----BEGIN')) throw new Error('paste a public key: PEM "PUBLIC KEY" (SPKI) or a JWK')
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch {
    throw new Error('the key is neither JSON (a JWK or JWKS) nor a PEM public key')
  }

  const list = isObject(value) && Array.isArray(value.keys) ? (value.keys as unknown[]) : [value]
  const keys = list.filter((k) => isObject(k)).filter((k) => typeof k.kty === 'string')
  if (keys.length === 0) throw new Error('no JWK (an object with "kty") in what you pasted')
  return keys.map((jwk) => ({jwk: publicPart(jwk), source: 'pasted'}))
}

function publicPart(jwk: Json): Json {
  const out: Json = {}
  for (const name of ['kty', 'kid', 'alg', 'use', ...(PUBLIC_MEMBERS[String(jwk.kty)] ?? [])])
    if (jwk[name] !== undefined) out[name] = jwk[name]
  return out
}
