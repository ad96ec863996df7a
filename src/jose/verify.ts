import type {JWTHeaderParameters, JWTPayload} from 'jose'

import {JwtisError, type RejectionCode, TokenRejectedError, UsageError} from '../common/errors.js'
import {jsonDepth, MAX_CLAIM_DEPTH} from '../common/limits.js'
import {claimVerdict} from './claims.js'
import {entryAllows, type KeyEntry, type Keyring} from './keyring.js'

/** Larger inputs are refused before any parsing: no honest token comes near it. */
export const MAX_TOKEN_BYTES = 64 * 1024

export interface VerifyOptions {
  /** Allowlist of `alg` values (RFC 8725 §3.1); when absent, the key's own algorithm decides. */
  algorithms?: string[]
  /** Accept a token without `exp` (one that never expires); refused by default. */
  allowNoExp?: boolean
  audience?: string[]
  issuer?: string
  keyring: Keyring
  leewayMs: number
  maxAgeMs?: number
  now: number
  subject?: string
  /**
   * Required `typ` (compared as media types: case-insensitive, `application/` optional). When
   * absent, an access token (`at+jwt`) or a plain JWT (`JWT`, or no `typ`) is accepted.
   */
  typ?: string
}

/** `typ` as a media type to compare: RFC 7515 §4.1.9 lets `application/` be left out. */
const mediaType = (typ: unknown): string | undefined =>
  typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined

const PLAIN_JWT_TYPES = new Set(['at+jwt', 'jwt', undefined])

/** RFC 8725 §3.11: a token of one kind must never pass as another. */
export function checkType(header: {typ?: unknown}, required: string | undefined): void {
  const typ = mediaType(header.typ)
  if (required === undefined ? PLAIN_JWT_TYPES.has(typ) : typ === mediaType(required)) return
  const shown = typeof header.typ === 'string' ? JSON.stringify(header.typ) : 'no typ'
  if (typ === 'rt+jwt') {
    throw reject(
      'WRONG_TYPE',
      'this is a refresh token, not an access token: exchange it with `jwtis token renew` (or POST /renew_token)',
    )
  }

  throw reject(
    'WRONG_TYPE',
    `the token has ${shown}, expected ${required === undefined ? '"at+jwt" or a plain JWT' : JSON.stringify(required)} (pass --typ to accept another)`,
  )
}

export interface Verified {
  header: JWTHeaderParameters
  key: KeyEntry
  payload: JWTPayload
}

export const reject = (code: RejectionCode, message: string): TokenRejectedError =>
  new TokenRejectedError(code, message)

function checkSize(token: string): void {
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES)
    throw reject('TOKEN_TOO_LARGE', `token is over ${MAX_TOKEN_BYTES / 1024} KiB`)
}

/**
 * RFC 7515 §2 and RFC 4648 §3.5: base64url without padding, and canonical (the unused low bits
 * of the last character zero). Decoders ignore those bits, so without this check one signature
 * could be written several ways: a token altered in them would still verify.
 */
export function canonicalBase64url(part: string): boolean {
  if (!/^[\w-]*$/.test(part) || part.length % 4 === 1) return false
  // Only the last character can carry unused bits (4 of them after 2 characters of a group, 2
  // after 3): checked there, rather than by decoding and re-encoding the whole part.
  const unused = [0, 0, 0b1111, 0b11][part.length % 4]
  return (BASE64URL.indexOf(part.at(-1) ?? 'A') & unused) === 0
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

const utf8 = new TextDecoder('utf8', {fatal: true})

/**
 * A header or payload part as JSON. Its bytes must be UTF-8 (RFC 7515 §5.2), decoded strictly as
 * jose decodes them: a lenient decoder would let bytes that are no text read as U+FFFD, so that
 * two different tokens could carry the same header or claims.
 */
export function jsonPart(part: string): unknown {
  return JSON.parse(utf8.decode(Buffer.from(part, 'base64url')))
}

/** The protected header of a compact JWS or JWE, refusing what can never be accepted. */
export function protectedHeader(token: string): JWTHeaderParameters & Record<string, unknown> {
  checkSize(token)
  const parts = token.split('.')
  if (parts.length !== 3 && parts.length !== 5)
    throw reject('MALFORMED_TOKEN', 'not a compact JWS (3 parts) or JWE (5 parts)')
  if (!parts.every((part) => canonicalBase64url(part)))
    throw reject('MALFORMED_TOKEN', 'a part of the token is not canonical base64url')
  let header
  try {
    header = jsonPart(parts[0]) as JWTHeaderParameters & Record<string, unknown>
  } catch {
    throw reject('MALFORMED_TOKEN', 'the protected header is not base64url UTF-8 JSON')
  }

  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw reject('MALFORMED_TOKEN', 'the protected header is not a JSON object')

  if (typeof header.alg !== 'string' || header.alg.toLowerCase() === 'none') {
    throw reject('ALG_NOT_ALLOWED', 'unsecured tokens (alg "none") are never accepted')
  }

  if (header.crit !== undefined) {
    throw reject(
      'UNSUPPORTED_CRIT',
      `the token requires header extensions this verifier does not implement: ${JSON.stringify(header.crit)}`,
    )
  }

  return header
}

/**
 * jose's failures in the contract's reason codes. Only jose's own errors (codes `ERR_J…`) say
 * something about the token; anything else is returned as it is (a bug: INTERNAL, exit 70).
 */
export function fromJose(error: unknown): Error {
  if (error instanceof JwtisError) return error
  const {code, message} = error as {code?: string; message: string}
  if (typeof code !== 'string' || !code.startsWith('ERR_J')) return error as Error
  switch (code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED': {
      return reject('ALG_NOT_ALLOWED', message)
    }

    case 'ERR_JWE_DECRYPTION_FAILED': {
      return reject('DECRYPT_FAILED', 'decryption failed: wrong key, or the JWE was altered')
    }

    case 'ERR_JWK_INVALID':
    case 'ERR_JWKS_INVALID': {
      return new UsageError(`the key is not usable: ${message}`, 'BAD_KEY')
    }

    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': {
      return reject('BAD_SIGNATURE', 'signature verification failed')
    }

    default: {
      return reject('MALFORMED_TOKEN', message)
    }
  }
}

/** The keys that may check a token with this header: by `kid`, bound to its `alg`. */
export function selectKeys(keyring: Keyring, header: {alg?: string; kid?: string}, use: 'enc' | 'sig'): KeyEntry[] {
  const found = keyring.candidates(header.kid, use)
  // Without a kid, only a single key may be tried: never every key of a vault or JWKS.
  if (found.length === 0 || (header.kid === undefined && found.length > 1)) {
    throw reject(
      'UNKNOWN_KID',
      header.kid ? `no key with kid ${header.kid}` : 'the token names no kid, and there is not exactly one key to try',
    )
  }

  const fitting = found.filter((e) => entryAllows(e, header.alg!))
  if (fitting.length === 0) {
    throw reject('ALG_NOT_ALLOWED', `alg ${header.alg} does not match the key${header.kid ? ` ${header.kid}` : ''}`)
  }

  return fitting
}

/**
 * Verifies a compact JWS JWT. Order: size cap, header, `alg` allowlist against the key found
 * by `kid`, signature (jose's), `typ`, then the claims with leeway (jwtis's one claims checker,
 * which the issuer's refresh tokens and the debugger page go through too).
 */
export async function verifyJws(token: string, options: VerifyOptions): Promise<Verified> {
  const header = protectedHeader(token)
  const parts = token.split('.')
  if (parts.length !== 3) throw reject('MALFORMED_TOKEN', 'expected a JWS (3 parts)')
  if (options.algorithms && !options.algorithms.includes(header.alg)) {
    throw reject('ALG_NOT_ALLOWED', `alg ${header.alg} is not in the allowed list (${options.algorithms.join(', ')})`)
  }

  const {compactVerify} = await import('jose')
  let lastError: unknown
  for (const key of selectKeys(options.keyring, header, 'sig')) {
    const material = await options.keyring.material(key, header.alg, 'public')
    const verified = await compactVerify(token, material, {algorithms: [header.alg]}).catch((error: unknown) => {
      lastError = error
    })
    if (verified) {
      checkType(header, options.typ)
      return {header, key, payload: claimsOf(parts[1], options)}
    }

    // Another key with the same kid (a JWKS without kids) may still verify it.
    if ((lastError as {code?: string}).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') break
  }

  throw fromJose(lastError)
}

/** The claims of a verified JWS, refused unless they pass every check `options` asks for. */
function claimsOf(part: string, options: VerifyOptions): JWTPayload {
  let payload
  try {
    payload = jsonPart(part) as JWTPayload
  } catch {
    throw reject('MALFORMED_TOKEN', 'the payload is not base64url UTF-8 JSON (an unencoded or non-JWT JWS?)')
  }

  const refusal = claimVerdict(payload, options)
  if (refusal) {
    const hint = refusal.name === 'exp' && payload.exp === undefined ? ' (--allow-no-exp accepts it)' : ''
    throw reject(refusal.code, refusal.message + hint)
  }

  if (jsonDepth(payload, MAX_CLAIM_DEPTH) > MAX_CLAIM_DEPTH)
    throw reject('MALFORMED_TOKEN', `the claims nest deeper than ${MAX_CLAIM_DEPTH} levels`)
  return payload
}
