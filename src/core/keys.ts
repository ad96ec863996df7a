import type {JWK} from 'jose'

import {type EncAlg, hmacKeyBytes, isHmac, keyGenOptions, type SigAlg} from './algorithms.js'
import {UsageError} from './errors.js'

export type KeyUse = 'enc' | 'sig'
export type KeyState = 'active' | 'retired'

/** One key of a client, as stored in the vault: a private JWK plus its lifecycle. */
export interface KeyRecord {
  /** ISO time the key was made. */
  created: string
  /** Private JWK with `kid` (RFC 7638 thumbprint), `alg` and `use`. */
  jwk: JWK & {alg: string; kid: string; use: KeyUse}
  /** ISO time after which a retired key is dropped; null while active. */
  retireAfter: null | string
  state: KeyState
  use: KeyUse
}

const PRIVATE_MEMBERS = new Set(['d', 'dp', 'dq', 'k', 'oth', 'p', 'q', 'qi'])

/** The public half of a JWK: every private member (RFC 7518 §6) removed. */
export function publicJwk(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name))) as JWK
}

/**
 * Makes a key for `alg` and returns its private JWK, with the RFC 7638 thumbprint as `kid`: a
 * key pair, or for HMAC a random secret of the hash's full size (RFC 7518 §3.2).
 */
export async function generateKey(
  use: KeyUse,
  alg: EncAlg | SigAlg,
  bits: number | undefined,
  now: Date,
): Promise<KeyRecord> {
  if (isHmac(alg)) {
    const {randomBytes} = await import('node:crypto')
    return keyRecord(use, alg, {k: randomBytes(hmacKeyBytes(alg)).toString('base64url'), kty: 'oct'}, now)
  }

  const {exportJWK, generateKeyPair} = await import('jose')
  const {privateKey} = await generateKeyPair(alg, {...keyGenOptions(alg, bits), extractable: true})
  return keyRecord(use, alg, await exportJWK(privateKey), now)
}

/** A vault key record for a private JWK: `alg`, `use` and the RFC 7638 thumbprint as `kid` set. */
export async function keyRecord(use: KeyUse, alg: string, jwk: JWK, now: Date): Promise<KeyRecord> {
  const {calculateJwkThumbprint} = await import('jose')
  const material = Object.fromEntries(
    Object.entries(jwk).filter(([name]) => !['alg', 'key_ops', 'kid', 'use'].includes(name)),
  ) as JWK
  const kid = await calculateJwkThumbprint(material, 'sha256')
  return {created: now.toISOString(), jwk: {...material, alg, kid, use}, retireAfter: null, state: 'active', use}
}

/**
 * An HMAC secret given by the user (`--secret-file`, JWTIS_CLIENT_SECRET): refused when it is
 * shorter than the hash output, as RFC 7518 §3.2 requires.
 */
export async function secretKey(alg: SigAlg, secret: Uint8Array, now: Date): Promise<KeyRecord> {
  if (!isHmac(alg)) throw new UsageError(`a shared secret is only for HS256, HS384 or HS512 clients, not ${alg}`)
  const need = hmacKeyBytes(alg)
  if (secret.length < need) {
    throw new UsageError(`the ${alg} secret has ${secret.length} bytes: it needs at least ${need} (the hash size)`)
  }

  return keyRecord('sig', alg, {k: Buffer.from(secret).toString('base64url'), kty: 'oct'}, now)
}

/** Whether a key is a shared secret (never published, exported only on request). */
export const isSecretKey = (jwk: {kty?: string}): boolean => jwk.kty === 'oct'

export function activeKey(keys: KeyRecord[], use: KeyUse): KeyRecord | undefined {
  return keys.find((k) => k.use === use && k.state === 'active')
}
