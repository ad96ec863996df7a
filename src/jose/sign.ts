import type {JWK, JWTPayload} from 'jose'
import type {JsonWebKey, KeyObject} from 'node:crypto'

import {UsageError} from '../common/errors.js'
import {jsonDepth, MAX_CLAIM_DEPTH} from '../common/limits.js'
import {algorithmsForKey, hmacKeyBytes, isHmac, SIG_ALGS} from './algorithms.js'
import {encodedHeader, keyFor, signCompact} from './compact.js'
import {publicJwk} from './keys.js'

/** A signing key given by hand (`token sign`): a private key, or an HMAC secret. */
export type SigningKey = {jwk?: JWK; key: KeyObject} | {secret: Uint8Array}

/** A JWK given by hand as a signing key: an `oct` key's secret, or a private key; `source` names it in errors. */
export async function signingKeyOf(jwk: JWK, source: string): Promise<SigningKey> {
  if (jwk.kty === 'oct') return {secret: Buffer.from(jwk.k ?? '', 'base64url')}
  if (!jwk.d) throw new UsageError('the key is a public key: signing needs the private key', 'BAD_KEY')
  const {createPrivateKey} = await import('node:crypto')
  try {
    return {jwk, key: createPrivateKey({format: 'jwk', key: jwk as JsonWebKey})}
  } catch (error) {
    throw new UsageError(`${source} is not a usable private key: ${(error as Error).message}`, 'BAD_KEY')
  }
}

export interface SignRequest {
  /** Default: the key's own `alg`, else the one its type implies (HS256 for a secret). */
  alg?: string
  claims: JWTPayload
  /** Default: the RFC 7638 thumbprint of the public key; none for a secret (it would be a hash of it). */
  kid?: string
  /** Default `JWT`. */
  typ?: string
}

/**
 * Signs a JWT with a key from outside any vault (what `step crypto jwt sign` and `jwt-cli encode`
 * do), through jose. The algorithm must fit the key: an RSA key does not sign ES256, a secret
 * shorter than its hash is refused (RFC 7518 §3.2).
 */
export async function signJwt(
  key: SigningKey,
  request: SignRequest,
): Promise<{header: Record<string, unknown>; token: string}> {
  const {calculateJwkThumbprint, exportJWK, SignJWT} = await import('jose')
  let alg: string
  let material: KeyObject | Uint8Array
  let {kid} = request
  if ('secret' in key) {
    alg = request.alg ?? 'HS256'
    if (!isHmac(alg)) throw new UsageError(`a secret signs with HS256, HS384 or HS512, not ${alg}`)
    if (key.secret.length < hmacKeyBytes(alg))
      throw new UsageError(
        `an ${alg} secret needs at least ${hmacKeyBytes(alg)} bytes; this one has ${key.secret.length}`,
      )
    material = key.secret
  } else {
    if (key.key.type !== 'private')
      throw new UsageError('the key is a public key: signing needs the private key', 'BAD_KEY')
    const jwk = key.jwk ?? (await exportJWK(key.key))
    const fits = algorithmsForKey(jwk.kty, jwk.crv).filter((a) => (SIG_ALGS as readonly string[]).includes(a))
    alg = request.alg ?? jwk.alg ?? fits[0]
    if (!alg) throw new UsageError('cannot tell which algorithm this key signs with: pass --alg', 'BAD_KEY')
    if (!fits.includes(alg))
      throw new UsageError(`${alg} does not fit this key (it signs ${fits.join(', ') || 'nothing'})`, 'BAD_KEY')
    kid ??= await calculateJwkThumbprint(publicJwk(jwk))
    material = key.key
  }

  if (jsonDepth(request.claims, MAX_CLAIM_DEPTH) > MAX_CLAIM_DEPTH)
    throw new UsageError(`the claims nest deeper than ${MAX_CLAIM_DEPTH} levels`)
  const header = {alg, ...(kid === undefined ? {} : {kid}), typ: request.typ ?? 'JWT'}
  const token = await new SignJWT(request.claims).setProtectedHeader(header).sign(material)
  return {header, token}
}

/** A vault key to sign with: its private JWK, the `alg` it is bound to, and the header's `kid` and `typ`. */
export interface SignWith {
  alg: string
  jwk: JWK
  kid?: string
  typ: string
}

/**
 * The issuer's signature: every JWS algorithm of the table on node:crypto (compact.ts), the key
 * imported once by its kid and the header encoded once, so issuing is synchronous.
 */
export function signJws(payload: unknown, key: SignWith): string {
  const header64 = encodedHeader({alg: key.alg, ...(key.kid === undefined ? {} : {kid: key.kid}), typ: key.typ})
  return signCompact(header64, payload, key.alg, keyFor(key.jwk, 'private'))
}
