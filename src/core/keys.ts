import type {KeyRecord, VaultDocument} from '../model/document.js'

import {UsageError} from '../common/errors.js'
import {type EncAlg, hmacKeyBytes, isHmac, type ISSUER_SEAL_ALG, type SigAlg} from '../jose/algorithms.js'
import {generateJwk, type JWK, type KeyUse, thumbprint} from '../jose/keys.js'

/** A new key of a client for `alg`, with the RFC 7638 thumbprint as `kid`. */
export async function generateKey(
  use: KeyUse,
  alg: EncAlg | SigAlg | typeof ISSUER_SEAL_ALG,
  bits: number | undefined,
  now: Date,
): Promise<KeyRecord> {
  return keyRecord(use, alg, await generateJwk(alg, bits), now)
}

/** A vault key record for a private JWK: `alg`, `use` and the RFC 7638 thumbprint as `kid` set. */
export async function keyRecord(use: KeyUse, alg: string, jwk: JWK, now: Date): Promise<KeyRecord> {
  const material = Object.fromEntries(
    Object.entries(jwk).filter(([name]) => !['alg', 'key_ops', 'kid', 'use'].includes(name)),
  ) as JWK
  const kid = await thumbprint(material)
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

export function activeKey(keys: KeyRecord[], use: KeyUse): KeyRecord | undefined {
  return keys.find((k) => k.use === use && k.state === 'active')
}

/** When an active key is due for rotation (its creation + the client's key-ttl), in ms. */
export const dueAt = (key: KeyRecord, keyTtlMs: number): number => Date.parse(key.created) + keyTtlMs

/** A retired key past its grace: treated as gone even before a write prunes it from the file. */
export const isGone = (key: KeyRecord, now: number): boolean =>
  key.state === 'retired' && key.retireAfter !== null && Date.parse(key.retireAfter) <= now

/** Drops retired keys whose grace has ended. */
export function pruneKeys(record: {keys: KeyRecord[]}, now: number): void {
  record.keys = record.keys.filter((k) => !isGone(k, now))
}

/**
 * Inside a vault update, makes `key` the issuer's active key-wrapping key (`refresh_seal:
 * issuer`); the one it replaces is retired for `graceMs`, opening the tokens it sealed until then.
 * Returns the retired key's kid and until when it stays.
 */
export function installSealKey(
  doc: VaultDocument,
  key: KeyRecord,
  graceMs: number,
  now: number,
): {retireAfter: null | string; retired: null | string} {
  const record = {keys: doc.issuer.sealKeys ?? []}
  const old = activeKey(record.keys, 'enc')
  const retireAfter = old ? new Date(now + graceMs).toISOString() : null
  if (old) {
    old.state = 'retired'
    old.retireAfter = retireAfter
  }

  pruneKeys(record, now)
  doc.issuer.sealKeys = [...record.keys, key]
  return {retireAfter, retired: old?.jwk.kid ?? null}
}
