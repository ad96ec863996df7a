import {UsageError} from '../common/errors.js'

/** JWS algorithms a client may sign with (RFC 7518 §3, RFC 8037). */
export const SIG_ALGS = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'HS256',
  'HS384',
  'HS512',
] as const
/** HMAC algorithms: a secret shared with the verifiers, never published. */
export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const
export const isHmac = (alg: string): boolean => (HMAC_ALGS as readonly string[]).includes(alg)
/** RFC 7518 §3.2: an HMAC key is at least as long as the hash output. */
export const hmacKeyBytes = (alg: string): number => Number(alg.slice(2)) / 8
/** JWE key management algorithms a client's encryption key may use (RFC 7518 §4). */
export const ENC_ALGS = [
  'ECDH-ES',
  'ECDH-ES+A128KW',
  'ECDH-ES+A192KW',
  'ECDH-ES+A256KW',
  'RSA-OAEP',
  'RSA-OAEP-256',
] as const
/** JWE content encryption algorithms for refresh tokens. */
export const ENCS = ['A128GCM', 'A192GCM', 'A256GCM'] as const
export const REFRESH_STRATEGIES = ['noRefresh', 'refreshOnExpire', 'refreshBoth'] as const

export type SigAlg = (typeof SIG_ALGS)[number]
export type EncAlg = (typeof ENC_ALGS)[number]
export type Enc = (typeof ENCS)[number]
export type RefreshStrategy = (typeof REFRESH_STRATEGIES)[number]

export const DEFAULT_RSA_BITS = 2048

function oneOf<T extends string>(list: readonly T[], value: string, what: string): T {
  if ((list as readonly string[]).includes(value)) return value as T
  throw new UsageError(`unsupported ${what} "${value}": use one of ${list.join(', ')}`)
}

export const parseSigAlg = (value: string): SigAlg => oneOf(SIG_ALGS, value, 'signing algorithm')
export const parseEncAlg = (value: string): EncAlg => oneOf(ENC_ALGS, value, 'key management algorithm')
export const parseEnc = (value: string): Enc => oneOf(ENCS, value, 'content encryption')
export const parseRefreshStrategy = (value: string): RefreshStrategy =>
  oneOf(REFRESH_STRATEGIES, value, 'refresh strategy')

/**
 * What `generateKeyPair` needs for an algorithm. `bits` follows JWTIS's `sig_bits`/`enc_bits`:
 * the RSA modulus length, or the EC curve size for ECDH-ES (256, 384, 521). For ES* the curve is
 * fixed by the algorithm and EdDSA is always Ed25519.
 */
export function keyGenOptions(alg: EncAlg | SigAlg, bits?: number): {crv?: string; modulusLength?: number} {
  if (alg.startsWith('RS') || alg.startsWith('PS') || alg.startsWith('RSA')) {
    const modulusLength = bits || DEFAULT_RSA_BITS
    if (modulusLength < 2048 || modulusLength > 8192 || modulusLength % 8 !== 0) {
      throw new UsageError(`RSA keys must be 2048 to 8192 bits (a multiple of 8), not ${modulusLength}`)
    }

    return {modulusLength}
  }

  if (alg === 'EdDSA') return {crv: 'Ed25519'}
  if (isHmac(alg)) return {}
  if (alg.startsWith('ECDH-ES')) {
    const curves: Record<number, string> = {256: 'P-256', 384: 'P-384', 521: 'P-521'}
    const crv = curves[bits || 256]
    if (!crv) throw new UsageError(`ECDH-ES keys are 256, 384 or 521 bits (P-256, P-384, P-521), not ${bits}`)
    return {crv}
  }

  return {}
}
