import type {JWTHeaderParameters, JWTPayload} from 'jose'

import {type RejectionCode, TokenRejectedError} from './errors.js'
import {entryAllows, type KeyEntry, type Keyring} from './keyring.js'

/** Larger inputs are refused before any parsing: no honest token comes near it. */
export const MAX_TOKEN_BYTES = 64 * 1024

export interface VerifyOptions {
  /** Allowlist of `alg` values (RFC 8725 §3.1); when absent, the key's own algorithm decides. */
  algorithms?: string[]
  audience?: string[]
  issuer?: string
  keyring: Keyring
  leewayMs: number
  maxAgeMs?: number
  now: number
  subject?: string
  /** Required `typ`; when absent any `typ` but a refresh token's is accepted. */
  typ?: string
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

/** The protected header of a compact JWS or JWE, refusing what can never be accepted. */
export async function protectedHeader(token: string): Promise<JWTHeaderParameters & Record<string, unknown>> {
  checkSize(token)
  const parts = token.split('.')
  if (parts.length !== 3 && parts.length !== 5)
    throw reject('MALFORMED_TOKEN', 'not a compact JWS (3 parts) or JWE (5 parts)')
  const {decodeProtectedHeader} = await import('jose')
  let header
  try {
    header = decodeProtectedHeader(token) as JWTHeaderParameters & Record<string, unknown>
  } catch {
    throw reject('MALFORMED_TOKEN', 'the protected header is not base64url JSON')
  }

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

const CLAIM_REASONS: Record<string, RejectionCode> = {
  aud: 'AUDIENCE_MISMATCH',
  iat: 'TOKEN_TOO_OLD',
  iss: 'ISSUER_MISMATCH',
  nbf: 'TOKEN_NOT_YET_VALID',
  sub: 'SUBJECT_MISMATCH',
  typ: 'WRONG_TYPE',
}

/** jose's failures in the contract's reason codes. */
export function fromJose(error: unknown): TokenRejectedError {
  if (error instanceof TokenRejectedError) return error
  const {claim, code, message} = error as {claim?: string; code?: string; message: string}
  switch (code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED': {
      return reject('ALG_NOT_ALLOWED', message)
    }

    case 'ERR_JWE_DECRYPTION_FAILED': {
      return reject('DECRYPT_FAILED', 'decryption failed: wrong key, or the JWE was altered')
    }

    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': {
      return reject('BAD_SIGNATURE', 'signature verification failed')
    }

    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      return reject(CLAIM_REASONS[claim ?? ''] ?? 'CLAIM_INVALID', message)
    }

    case 'ERR_JWT_EXPIRED': {
      // jose reports --max-age as an expiry of "iat"
      return reject(claim === 'iat' ? 'TOKEN_TOO_OLD' : 'TOKEN_EXPIRED', message)
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
 * Verifies a compact JWS JWT. Order (DESIGN.md): size cap, header, `alg` allowlist against
 * the key found by `kid`, signature, `typ`, then the claims with leeway.
 */
export async function verifyJws(token: string, options: VerifyOptions): Promise<Verified> {
  const header = await protectedHeader(token)
  if (token.split('.').length !== 3) throw reject('MALFORMED_TOKEN', 'expected a JWS (3 parts)')
  if (options.algorithms && !options.algorithms.includes(header.alg)) {
    throw reject('ALG_NOT_ALLOWED', `alg ${header.alg} is not in the allowed list (${options.algorithms.join(', ')})`)
  }

  if (!options.typ && typeof header.typ === 'string' && header.typ.toLowerCase() === 'rt+jwt') {
    throw reject('WRONG_TYPE', 'this is the inside of a refresh token, not an access token')
  }

  const {jwtVerify} = await import('jose')
  let lastError: unknown
  for (const key of selectKeys(options.keyring, header, 'sig')) {
    try {
      const material = await options.keyring.material(key, header.alg, 'public')
      const {payload, protectedHeader} = await jwtVerify(token, material, {
        algorithms: [header.alg],
        audience: options.audience,
        clockTolerance: options.leewayMs / 1000,
        currentDate: new Date(options.now),
        issuer: options.issuer,
        maxTokenAge: options.maxAgeMs === undefined ? undefined : options.maxAgeMs / 1000,
        subject: options.subject,
        typ: options.typ,
      })
      return {header: protectedHeader, key, payload}
    } catch (error) {
      lastError = error
      // Another key with the same kid (a JWKS without kids) may still verify it.
      if ((error as {code?: string}).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') break
    }
  }

  throw fromJose(lastError)
}
