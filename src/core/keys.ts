import type {JWK} from 'jose'

import {type EncAlg, keyGenOptions, type SigAlg} from './algorithms.js'

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

/** Makes a key pair for `alg` and returns its private JWK, with the RFC 7638 thumbprint as `kid`. */
export async function generateKey(
  use: KeyUse,
  alg: EncAlg | SigAlg,
  bits: number | undefined,
  now: Date,
): Promise<KeyRecord> {
  const {calculateJwkThumbprint, exportJWK, generateKeyPair} = await import('jose')
  const {privateKey} = await generateKeyPair(alg, {...keyGenOptions(alg, bits), extractable: true})
  const exported = await exportJWK(privateKey)
  const kid = await calculateJwkThumbprint(exported, 'sha256')
  return {
    created: now.toISOString(),
    jwk: {...exported, alg, kid, use},
    retireAfter: null,
    state: 'active',
    use,
  }
}

export function activeKey(keys: KeyRecord[], use: KeyUse): KeyRecord | undefined {
  return keys.find((k) => k.use === use && k.state === 'active')
}
