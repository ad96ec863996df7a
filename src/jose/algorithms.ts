import {UsageError} from '../common/errors.js'

/**
 * Every algorithm jwtis knows, once: what key it takes, whether a client may be set up with it
 * (`client`: the CLI's options, the HTTP enums, discovery) and whether the node:crypto fast path
 * (compact.ts) implements it (`fast`). Every other list (per key type, JWE allowlists, the
 * debugger's, the fast path's) is derived from these tables. This module imports nothing of
 * Node's: the debugger page's bundle uses it.
 */
interface KeyFit {
  /** A key of exactly this many bytes (an `oct` key). */
  bytes?: number
  /** Curves the key may be on; any when absent. */
  crv?: readonly string[]
  /** Key types that serve the algorithm; none for a password (PBES2). */
  kty: readonly string[]
}

/** A hash of the SHA-2 family, by its output bits. */
export type HashBits = 256 | 384 | 512

interface JwsSpec extends KeyFit {
  client?: true
  family: 'ECDSA' | 'EdDSA' | 'HMAC' | 'RSA-PSS' | 'RSASSA-PKCS1-v1_5'
  hash?: HashBits
}

/* eslint-disable perfectionist/sort-objects -- a table's order is its lists' order (options, a key's default) */

/** JWS algorithms (RFC 7518 §3, RFC 8037, RFC 9864 for `Ed25519`), in the order a key's default is picked. */
export const JWS = {
  ES256: {client: true, crv: ['P-256'], family: 'ECDSA', hash: 256, kty: ['EC']},
  ES384: {client: true, crv: ['P-384'], family: 'ECDSA', hash: 384, kty: ['EC']},
  ES512: {client: true, crv: ['P-521'], family: 'ECDSA', hash: 512, kty: ['EC']},
  EdDSA: {client: true, crv: ['Ed25519', 'Ed448'], family: 'EdDSA', kty: ['OKP']},
  RS256: {client: true, family: 'RSASSA-PKCS1-v1_5', hash: 256, kty: ['RSA']},
  RS384: {client: true, family: 'RSASSA-PKCS1-v1_5', hash: 384, kty: ['RSA']},
  RS512: {client: true, family: 'RSASSA-PKCS1-v1_5', hash: 512, kty: ['RSA']},
  PS256: {client: true, family: 'RSA-PSS', hash: 256, kty: ['RSA']},
  PS384: {client: true, family: 'RSA-PSS', hash: 384, kty: ['RSA']},
  PS512: {client: true, family: 'RSA-PSS', hash: 512, kty: ['RSA']},
  HS256: {bytes: 32, client: true, family: 'HMAC', hash: 256, kty: ['oct']},
  HS384: {bytes: 48, client: true, family: 'HMAC', hash: 384, kty: ['oct']},
  HS512: {bytes: 64, client: true, family: 'HMAC', hash: 512, kty: ['oct']},
  Ed25519: {crv: ['Ed25519', 'Ed448'], family: 'EdDSA', kty: ['OKP']},
} as const satisfies Record<string, JwsSpec>

/** The curves an ECDH-ES key (and so a JWE's `epk`) may be on. */
export const ECDH_CURVES = {EC: ['P-256', 'P-384', 'P-521'], OKP: ['X25519', 'X448']} as const
const ECDH = {crv: [...ECDH_CURVES.EC, ...ECDH_CURVES.OKP], kty: ['EC', 'OKP']} as const

interface KeyManagementSpec extends KeyFit {
  client?: true
  fast?: true
  /** The AES key wrap key an ECDH-ES+AxxxKW agreement derives, in bytes. */
  kwBytes?: number
}

/** JWE key management algorithms accepted for decryption (RFC 7518 §4): all jose has but RSA1_5 (RFC 8725 §3.2). */
export const KEY_MANAGEMENT = {
  'ECDH-ES': {...ECDH, client: true, fast: true},
  'ECDH-ES+A128KW': {...ECDH, client: true, fast: true, kwBytes: 16},
  'ECDH-ES+A192KW': {...ECDH, client: true, fast: true, kwBytes: 24},
  'ECDH-ES+A256KW': {...ECDH, client: true, fast: true, kwBytes: 32},
  'RSA-OAEP': {client: true, fast: true, kty: ['RSA']},
  'RSA-OAEP-256': {client: true, fast: true, kty: ['RSA']},
  'RSA-OAEP-384': {kty: ['RSA']},
  'RSA-OAEP-512': {kty: ['RSA']},
  A128KW: {bytes: 16, fast: true, kty: ['oct']},
  A192KW: {bytes: 24, fast: true, kty: ['oct']},
  A256KW: {bytes: 32, fast: true, kty: ['oct']},
  A128GCMKW: {bytes: 16, kty: ['oct']},
  A192GCMKW: {bytes: 24, kty: ['oct']},
  A256GCMKW: {bytes: 32, kty: ['oct']},
  dir: {kty: ['oct']},
  'PBES2-HS256+A128KW': {kty: []},
  'PBES2-HS384+A192KW': {kty: []},
  'PBES2-HS512+A256KW': {kty: []},
} as const satisfies Record<string, KeyManagementSpec>

interface ContentEncryptionSpec {
  /** The content encryption key's length. */
  cekBytes: number
  client?: true
  fast?: true
}

/** JWE content encryption algorithms (RFC 7518 §5); refresh tokens use the AES-GCM ones. */
export const CONTENT_ENCRYPTION = {
  A128GCM: {cekBytes: 16, client: true, fast: true},
  A192GCM: {cekBytes: 24, client: true, fast: true},
  A256GCM: {cekBytes: 32, client: true, fast: true},
  'A128CBC-HS256': {cekBytes: 32},
  'A192CBC-HS384': {cekBytes: 48},
  'A256CBC-HS512': {cekBytes: 64},
} as const satisfies Record<string, ContentEncryptionSpec>
/* eslint-enable perfectionist/sort-objects */

/** The names in `table` whose spec has `flag` set. */
type Flagged<T, F extends string> = {[K in keyof T]: T[K] extends Record<F, true> ? K : never}[keyof T]
const flagged = <T extends object, F extends string>(table: T, flag: F) =>
  Object.keys(table).filter((name) => flag in (table as Record<string, object>)[name]) as Array<Flagged<T, F> & string>

export type SigAlg = Flagged<typeof JWS, 'client'>
export type EncAlg = Flagged<typeof KEY_MANAGEMENT, 'client'>
export type Enc = Flagged<typeof CONTENT_ENCRYPTION, 'client'>

/** JWS algorithms a client may sign with. */
export const SIG_ALGS: readonly SigAlg[] = flagged(JWS, 'client')
/** HMAC algorithms: a secret shared with the verifiers, never published. */
export const HMAC_ALGS = Object.keys(JWS).filter((alg) => JWS[alg as keyof typeof JWS].family === 'HMAC')
export const isHmac = (alg: string): boolean => HMAC_ALGS.includes(alg)
/** RFC 7518 §3.2: an HMAC key is at least as long as the hash output. */
export const hmacKeyBytes = (alg: string): number => Number(alg.slice(2)) / 8
/** JWE key management algorithms a client's encryption key may use. */
export const ENC_ALGS: readonly EncAlg[] = flagged(KEY_MANAGEMENT, 'client')
/** JWE content encryption algorithms for refresh tokens. */
export const ENCS: readonly Enc[] = flagged(CONTENT_ENCRYPTION, 'client')
/** Every key management algorithm and content encryption a JWE may name. */
export const JWE_ALGS = Object.keys(KEY_MANAGEMENT)
export const JWE_ENCS = Object.keys(CONTENT_ENCRYPTION)
/** What the node:crypto fast path seals and opens. */
export const FAST_JWE_ALGS: ReadonlySet<string> = new Set(flagged(KEY_MANAGEMENT, 'fast'))
export const FAST_JWE_ENCS: ReadonlySet<string> = new Set(flagged(CONTENT_ENCRYPTION, 'fast'))

const fits = (spec: KeyFit, kty: string | undefined, crv: string | undefined, octBytes: number): boolean =>
  (spec.kty as readonly (string | undefined)[]).includes(kty) &&
  (spec.crv === undefined || (spec.crv as readonly (string | undefined)[]).includes(crv)) &&
  (spec.bytes === undefined || spec.bytes === octBytes)

/**
 * The algorithms a key can serve when it does not name one, from its type and curve (an `oct`
 * key: its length; HMAC takes a longer one for any hash). A public RSA or EC key never yields an
 * HMAC algorithm, which closes the classic "HS256 with the public key as secret" confusion.
 */
export function algorithmsForKey(kty: string | undefined, crv?: string, octBytes = 0): string[] {
  const hmacAny = kty === 'oct' && octBytes > 64
  const jws = Object.entries(JWS).filter(
    ([, spec]) => fits(spec, kty, crv, octBytes) || (hmacAny && spec.family === 'HMAC'),
  )
  const jwe = Object.entries(KEY_MANAGEMENT).filter(([, spec]) => fits(spec, kty, crv, octBytes))
  return [...jws, ...jwe].map(([alg]) => alg)
}

export const REFRESH_STRATEGIES = ['noRefresh', 'refreshOnExpire', 'refreshBoth'] as const

export type RefreshStrategy = (typeof REFRESH_STRATEGIES)[number]

/**
 * Whom a refresh token is sealed to: `issuer`, JWE `A256KW` under the issuer's own key-wrapping
 * key (only the issuer ever opens a refresh token); `client`, to the client's encryption key with
 * its `enc_alg`, as JWTIS did.
 */
export const REFRESH_SEALS = ['issuer', 'client'] as const

export type RefreshSeal = (typeof REFRESH_SEALS)[number]

/** The key management algorithm of `refresh_seal: issuer`, and its key's size. */
export const ISSUER_SEAL_ALG = 'A256KW'

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
export const parseRefreshSeal = (value: string): RefreshSeal => oneOf(REFRESH_SEALS, value, 'refresh seal')

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
