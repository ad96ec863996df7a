import type {CompactJWEHeaderParameters, JWK} from 'jose'

import type {KeyEntry, Keyring} from './keyring.js'

import {UsageError} from '../common/errors.js'
import {ECDH_CURVES, FAST_JWE_ALGS, FAST_JWE_ENCS, JWE_ALGS, JWE_ENCS} from './algorithms.js'
import {decryptCompact, encryptCompact, keyFor} from './compact.js'
import {canonicalBase64url, protectedHeader, reject} from './header.js'
import {fromJose, selectKeys} from './verify.js'

/**
 * The most PBES2 iterations an input may demand. Each decryption costs p2c HMACs chosen by the
 * sender, so the cap bounds the work an attacker can ask for (a few tens of ms here).
 */
export const MAX_PBES2_COUNT = 100_000

export interface Decrypted {
  header: CompactJWEHeaderParameters
  /** The vault or file key that opened it; absent for a password. */
  key?: KeyEntry
  plaintext: Uint8Array
}

/**
 * The protected header of a compact JWE, refusing before any key is touched what this tool never
 * decrypts: both paths that open a JWE (jose's and node:crypto's) start here.
 */
export function jweHeader(jwe: string): CompactJWEHeaderParameters {
  const header = protectedHeader(jwe) as unknown as CompactJWEHeaderParameters & {p2c?: unknown; zip?: unknown}
  if (jwe.split('.').length !== 5) throw reject('MALFORMED_TOKEN', 'expected a compact JWE (5 parts)')
  if (header.zip !== undefined)
    throw reject('ALG_NOT_ALLOWED', 'compressed JWEs ("zip") are refused: decompression is unbounded work')
  if (!JWE_ALGS.includes(header.alg))
    throw reject('ALG_NOT_ALLOWED', `key management algorithm ${header.alg} is not allowed`)
  if (typeof header.enc !== 'string' || !JWE_ENCS.includes(header.enc)) {
    throw reject('ALG_NOT_ALLOWED', `content encryption ${String(header.enc)} is not allowed`)
  }

  if (header.alg.startsWith('PBES2') && (typeof header.p2c !== 'number' || header.p2c > MAX_PBES2_COUNT)) {
    throw reject('ALG_NOT_ALLOWED', `PBES2 iteration count ${String(header.p2c)} is over the cap of ${MAX_PBES2_COUNT}`)
  }

  if (header.alg.startsWith('ECDH-ES')) {
    if (!isEphemeralKey(header.epk))
      throw reject('MALFORMED_TOKEN', 'the "epk" header is not an EC or OKP public key (RFC 7518 §4.6.1.1)')
    checkPartyInfo(header)
  }

  return header
}

/** Members of a private or secret JWK (RFC 7518 §6): an ephemeral key carrying one is refused, as jose does. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv']

/** The shape of an ECDH-ES ephemeral public key; whether its point is on the curve, the key import says. */
function isEphemeralKey(epk: unknown): boolean {
  if (typeof epk !== 'object' || epk === null) return false
  const {crv, kty, x, y} = epk as Record<string, unknown>
  return (
    typeof kty === 'string' &&
    typeof crv === 'string' &&
    ((ECDH_CURVES as Record<string, readonly string[]>)[kty] ?? []).includes(crv) &&
    typeof x === 'string' &&
    (kty === 'OKP' ? y === undefined : typeof y === 'string') &&
    !PRIVATE_MEMBERS.some((member) => Object.hasOwn(epk, member))
  )
}

/**
 * `apu` and `apv` enter the key derivation (RFC 7518 §4.6.2), so they must be base64url strings;
 * equal ones are refused as jose refuses them, so that both paths that open a JWE agree.
 */
function checkPartyInfo(header: Record<string, unknown>): void {
  for (const name of ['apu', 'apv']) {
    const value = header[name]
    if (value !== undefined && (typeof value !== 'string' || !canonicalBase64url(value)))
      throw reject('MALFORMED_TOKEN', `the "${name}" header is not a base64url string (RFC 7518 §4.6.1.2)`)
  }

  if (header.apu !== undefined && header.apu === header.apv)
    throw reject('MALFORMED_TOKEN', 'the "apu" and "apv" headers are the same: the two parties must differ')
}

/**
 * jose's verdicts keep their codes; anything else thrown while opening a JWE came from its
 * attacker-chosen header reaching WebCrypto (a point off the curve, a key of the wrong size):
 * the JWE cannot be opened, which is all a sender learns.
 */
function openFailure(error: unknown): Error {
  const {name} = (error ?? {}) as {name?: string}
  if (error instanceof TypeError || name === 'DataError' || name === 'OperationError')
    return reject('DECRYPT_FAILED', 'decryption failed: wrong key, or the JWE was altered')
  return fromJose(error)
}

/**
 * Opens a JWE sealed to a vault key with an algorithm the issuer seals with, on node:crypto
 * (keys imported once, synchronous); jose opens anything else (an old token, a file's key).
 */
function decryptFast(jwe: string, header: CompactJWEHeaderParameters, key: KeyEntry): Decrypted {
  const plaintext = decryptCompact(jwe.split('.'), header, keyFor(key.privateJwk!, 'private'))
  if (!plaintext) throw reject('DECRYPT_FAILED', 'decryption failed: wrong key, or the JWE was altered')
  return {header, key, plaintext}
}

/** Decrypts a compact JWE with a key from `keyring` (by `kid`, bound to `alg`) or a password (PBES2). */
export async function decryptJwe(jwe: string, source: {keyring: Keyring} | {password: string}): Promise<Decrypted> {
  const header = jweHeader(jwe)
  const keys = 'keyring' in source ? selectKeys(source.keyring, header, 'enc') : []
  // vault keys with the issuer's algorithms: node:crypto, without loading jose
  if (
    (keys[0]?.client !== undefined || keys[0]?.issuer) &&
    FAST_JWE_ALGS.has(header.alg) &&
    FAST_JWE_ENCS.has(header.enc)
  )
    return decryptFast(jwe, header, keys[0])

  const {compactDecrypt} = await import('jose')
  const options = {
    contentEncryptionAlgorithms: JWE_ENCS,
    keyManagementAlgorithms: [header.alg],
    maxPBES2Count: MAX_PBES2_COUNT,
  }
  if ('password' in source) {
    if (!header.alg.startsWith('PBES2'))
      throw reject('ALG_NOT_ALLOWED', `a password opens only PBES2 JWEs, not ${header.alg}`)
    try {
      const {plaintext, protectedHeader} = await compactDecrypt(jwe, new TextEncoder().encode(source.password), options)
      return {header: protectedHeader, plaintext}
    } catch (error) {
      throw openFailure(error)
    }
  }

  let lastError: unknown
  for (const key of keys) {
    try {
      const material = await source.keyring.material(key, header.alg, 'private')
      const {plaintext, protectedHeader} = await compactDecrypt(jwe, material, options)
      return {header: protectedHeader, key, plaintext}
    } catch (error) {
      lastError = error
    }
  }

  throw openFailure(lastError)
}

/** Encrypts `plaintext` to a public key with its bound algorithm (or `alg`) and `enc`. */
export async function encryptJwe(
  plaintext: Uint8Array,
  keyring: Keyring,
  options: {alg?: string; cty?: string; enc: string},
): Promise<string> {
  const [key] = keyring.candidates(undefined, 'enc')
  const alg = options.alg ?? key?.alg
  if (!key) throw reject('UNKNOWN_KID', 'no encryption key among the keys given')
  if (!alg)
    throw new UsageError(
      `the key${key.kid ? ` ${key.kid}` : ''} does not say which algorithm it is for: pass --alg (e.g. ECDH-ES+A256KW, RSA-OAEP-256)`,
    )
  selectKeys(keyring, {alg, kid: key.kid}, 'enc')
  const {CompactEncrypt} = await import('jose')
  const material = await keyring.material(key, alg, 'public')
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({
      alg,
      enc: options.enc,
      ...(key.kid ? {kid: key.kid} : {}),
      ...(options.cty ? {cty: options.cty} : {}),
    })
    .encrypt(material)
}

/**
 * Whom a JWE is sealed to and how: the recipient's public JWK (an `oct` key's secret), the key
 * management `alg` (ECDH-ES or RSA-OAEP to a client's key, A256KW under the issuer's own
 * key-wrapping key) and the content encryption `enc`.
 */
export interface SealTo {
  alg: string
  enc: string
  jwk: JWK
  kid?: string
}

/**
 * A compact JWE of `plaintext`: on node:crypto (compact.ts) for the algorithms the issuer seals
 * with, through jose for any other pair.
 */
export async function sealJwe(plaintext: string, to: SealTo, cty?: string): Promise<string> {
  const header = {alg: to.alg, ...(cty ? {cty} : {}), enc: to.enc, ...(to.kid === undefined ? {} : {kid: to.kid})}
  if (FAST_JWE_ALGS.has(to.alg) && FAST_JWE_ENCS.has(to.enc))
    return encryptCompact(plaintext, header, keyFor(to.jwk, 'public'))
  const {CompactEncrypt, importJWK} = await import('jose')
  return new CompactEncrypt(new TextEncoder().encode(plaintext))
    .setProtectedHeader(header)
    .encrypt(await importJWK(to.jwk, to.alg))
}
