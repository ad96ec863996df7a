import type {JWK} from 'jose'
import type {JsonWebKey, KeyObject} from 'node:crypto'

import {UsageError} from '../common/errors.js'
import {
  algorithmsForKey,
  type EncAlg,
  hmacKeyBytes,
  isHmac,
  ISSUER_SEAL_ALG,
  keyGenOptions,
  type SigAlg,
} from './algorithms.js'
import {keyFor} from './compact.js'

export type {JWK} from 'jose'

/** What a key is for (RFC 7517 §4.2). */
export type KeyUse = 'enc' | 'sig'

const PRIVATE_MEMBERS = new Set(['d', 'dp', 'dq', 'k', 'oth', 'p', 'q', 'qi'])

/** The public half of a JWK: every private member (RFC 7518 §6) removed. */
export function publicJwk(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name))) as JWK
}

/**
 * A new private JWK for `alg` (no `kid`, `alg` or `use` set): a key pair, or a random secret: for
 * HMAC of the hash's full size (RFC 7518 §3.2), for the issuer's key wrap of 256 bits.
 */
export async function generateJwk(alg: EncAlg | SigAlg | typeof ISSUER_SEAL_ALG, bits?: number): Promise<JWK> {
  if (isHmac(alg) || alg === ISSUER_SEAL_ALG) {
    const {randomBytes} = await import('node:crypto')
    return {k: randomBytes(alg === ISSUER_SEAL_ALG ? 32 : hmacKeyBytes(alg)).toString('base64url'), kty: 'oct'}
  }

  const {exportJWK, generateKeyPair} = await import('jose')
  const {privateKey} = await generateKeyPair(alg, {...keyGenOptions(alg, bits), extractable: true})
  return exportJWK(privateKey)
}

/** The RFC 7638 SHA-256 thumbprint of a JWK (its key material only). */
export async function thumbprint(jwk: JWK): Promise<string> {
  const {calculateJwkThumbprint} = await import('jose')
  return calculateJwkThumbprint(jwk, 'sha256')
}

/** A key read from PEM as a JWK, private members kept when it has them. */
export async function jwkOf(key: KeyObject): Promise<JWK> {
  const {exportJWK} = await import('jose')
  return exportJWK(key)
}

/** A JWK as PEM: PKCS#8 for a private key, SPKI for a public one (no PEM form for a secret). */
export async function jwkToPem(jwk: JWK): Promise<string> {
  if (jwk.kty === 'oct') throw new UsageError('a secret (kty oct) has no PEM form: use --format jwk', 'BAD_KEY')
  const {createPrivateKey, createPublicKey} = await import('node:crypto')
  const key = jwk.d
    ? createPrivateKey({format: 'jwk', key: jwk as JsonWebKey})
    : createPublicKey({format: 'jwk', key: jwk as JsonWebKey})
  return key.export({format: 'pem', type: jwk.d ? 'pkcs8' : 'spki'}).toString()
}

/** A vault key's public half as an SPKI PEM block, through jose (which takes the key's `alg`). */
export async function spkiPem(jwk: JWK): Promise<string> {
  const {exportSPKI, importJWK} = await import('jose')
  const key = await importJWK({...jwk, alg: undefined, use: undefined}, jwk.alg === 'EdDSA' ? 'Ed25519' : jwk.alg)
  return exportSPKI(key as Parameters<typeof exportSPKI>[0])
}

/** Whether a key is a shared secret (never published, exported only on request). */
export const isSecretKey = (jwk: {kty?: string}): boolean => jwk.kty === 'oct'

/** How many keys a client may register for its assertions (a rotation needs two; more is a mistake). */
export const MAX_CLIENT_JWKS_KEYS = 16

/**
 * A client's registered JWK Set (RFC 7591 `jwks`), checked: an object `{keys: [...]}` of public
 * signing keys that node:crypto can load. A private member (or a shared secret) is refused, not
 * stripped: whoever sent it has leaked that key and must know.
 */
export function checkPublicJwks(value: unknown, source: string): {keys: JWK[]} {
  const keys = (value as null | {keys?: unknown})?.keys
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Array.isArray(keys)) {
    throw new UsageError(`${source} must be a JWK Set: {"keys": [...]}`, 'BAD_KEY')
  }

  if (keys.length === 0 || keys.length > MAX_CLIENT_JWKS_KEYS) {
    throw new UsageError(`${source} must hold 1 to ${MAX_CLIENT_JWKS_KEYS} keys`, 'BAD_KEY')
  }

  return {keys: keys.map((key, i) => checkPublicJwk(key, `${source} key ${i + 1}`))}
}

function checkPublicJwk(key: unknown, what: string): JWK {
  if (typeof key !== 'object' || key === null || Array.isArray(key))
    throw new UsageError(`${what} is not a JWK`, 'BAD_KEY')
  const jwk = key as JWK
  const secret = Object.keys(jwk).filter((name) => PRIVATE_MEMBERS.has(name))
  if (secret.length > 0 || jwk.kty === 'oct') {
    throw new UsageError(
      `${what} has private members (${secret.join(', ') || 'kty oct'}): register public keys only, and replace that key: it has been disclosed`,
      'BAD_KEY',
    )
  }

  if (jwk.use !== undefined && jwk.use !== 'sig')
    throw new UsageError(`${what} has use "${jwk.use}", not "sig"`, 'BAD_KEY')
  if (jwk.kty !== 'EC' && jwk.kty !== 'OKP' && jwk.kty !== 'RSA') {
    throw new UsageError(`${what} has kty ${JSON.stringify(jwk.kty)}: use EC, OKP or RSA`, 'BAD_KEY')
  }

  if (jwk.alg !== undefined && !algorithmsForKey(jwk.kty, jwk.crv).includes(jwk.alg)) {
    throw new UsageError(`${what} names alg ${JSON.stringify(jwk.alg)}, which its key cannot serve`, 'BAD_KEY')
  }

  try {
    keyFor({...jwk, kid: undefined}, 'public')
  } catch (error) {
    throw new UsageError(`${what} is not a usable public key: ${(error as Error).message}`, 'BAD_KEY')
  }

  return jwk
}
