import type {JWTHeaderParameters, JWTPayload} from 'jose'

import {JwtisError, UsageError} from '../common/errors.js'
import {jsonDepth, MAX_CLAIM_DEPTH} from '../common/limits.js'
import {claimVerdict} from './claims.js'
import {keyFor, verifyBytes} from './compact.js'
import {type Header, jsonPart, protectedHeader, reject} from './header.js'
import {entryAllows, type KeyEntry, type Keyring} from './keyring.js'

export interface VerifyOptions {
  /** Allowlist of `alg` values (RFC 8725 §3.1); when absent, the key's own algorithm decides. */
  algorithms?: string[]
  /** Accept a token without `exp` (one that never expires); refused by default. */
  allowNoExp?: boolean
  audience?: string[]
  /** How deep the claims may nest (default MAX_CLAIM_DEPTH). */
  claimDepth?: number
  issuer?: readonly string[] | string
  keyring: Keyring
  leewayMs: number
  maxAgeMs?: number
  /** Without it, no time is compared (revoking an expired token). */
  now?: number
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
function checkType(header: {typ?: unknown}, required: string | undefined): void {
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
 * by `kid`, signature, `typ`, and only then the claims, with leeway (jwtis's one claims checker,
 * which the debugger page goes through too). A vault key's signature is checked on node:crypto
 * (compact.ts: keys imported once, synchronous); any other key's (a file, a JWKS) through jose.
 */
export async function verifyJws(token: string, options: VerifyOptions): Promise<Verified> {
  const header = protectedHeader(token)
  const parts = token.split('.')
  if (parts.length !== 3) throw reject('MALFORMED_TOKEN', 'expected a JWS (3 parts)')
  if (options.algorithms && !options.algorithms.includes(header.alg)) {
    throw reject('ALG_NOT_ALLOWED', `alg ${header.alg} is not in the allowed list (${options.algorithms.join(', ')})`)
  }

  const key = await signatureKey(token, header, options.keyring)
  checkType(header, options.typ)
  return {header: header as JWTHeaderParameters, key, payload: claimsOf(parts[1], options)}
}

/** The key whose signature `token` carries, tried by `kid`; BAD_SIGNATURE (or jose's verdict) when none. */
async function signatureKey(token: string, header: Header, keyring: Keyring): Promise<KeyEntry> {
  const keys = selectKeys(keyring, header, 'sig')
  const vaultKeys = keys.filter((key) => key.client !== undefined)
  if (vaultKeys.length === keys.length) {
    const dot = token.lastIndexOf('.')
    const signed = Buffer.from(token.slice(0, dot))
    const signature = Buffer.from(token.slice(dot + 1), 'base64url')
    const found = vaultKeys.find((key) => verifyBytes(header.alg, signed, signature, vaultKey(key)))
    if (found) return found
    throw reject('BAD_SIGNATURE', 'signature verification failed')
  }

  const {compactVerify} = await import('jose')
  let lastError: unknown
  for (const key of keys) {
    const material = await keyring.material(key, header.alg, 'public')
    const verified = await compactVerify(token, material, {algorithms: [header.alg]}).catch((error: unknown) => {
      lastError = error
    })
    if (verified) return key
    // Another key with the same kid (a JWKS without kids) may still verify it.
    if ((lastError as {code?: string}).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') break
  }

  throw fromJose(lastError)
}

/** A vault key as node:crypto verifies with it: the public key, or an HMAC key's secret. */
const vaultKey = (key: KeyEntry) => keyFor((key.jwk?.kty === 'oct' ? key.privateJwk : key.jwk)!, 'public')

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

  const depth = options.claimDepth ?? MAX_CLAIM_DEPTH
  if (jsonDepth(payload, depth) > depth) throw reject('MALFORMED_TOKEN', `the claims nest deeper than ${depth} levels`)
  return payload
}
