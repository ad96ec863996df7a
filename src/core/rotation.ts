import type {KeyUse} from '../jose/keys.js'
import type {ClientRecord, KeyRecord, VaultDocument} from '../model/document.js'
import type {Vault} from '../vault/vault.js'
import type {EffectiveSettings} from './settings.js'

import {ISSUER_SEAL_ALG} from '../jose/algorithms.js'
import {DEFAULT_LEEWAY_MS} from '../jose/claims.js'
import {clientSettings, getClient} from './clients.js'
import {activeKey, dueAt, generateKey, installSealKey, pruneKeys} from './keys.js'
import {effectiveSettings} from './settings.js'

/** Verification leeway granted on top of a token's lifetime before its key may go. */
export const ROTATION_LEEWAY_MS = DEFAULT_LEEWAY_MS

export interface RotatedKey {
  /** null for the issuer's own key-wrapping key. */
  client: null | string
  /** The new active key. */
  kid: string
  retire_after: null | string
  /** The key it replaces, now retired: it still verifies/decrypts until `retire_after`. */
  retired: null | string
  use: KeyUse
}

/**
 * How long a retired key must stay: the longest a token it made can still be valid. A signing
 * key signs access tokens and the inside of refresh tokens, and an encryption key seals refresh
 * tokens, which can live as long as their family (session-ttl); plus the verification leeway.
 */
export function defaultGraceMs(s: EffectiveSettings): number {
  return Math.max(s.accessTtlMs, s.sessionTtlMs) + ROTATION_LEEWAY_MS
}

/** The uses whose active key is older than the client's key-ttl: they rotate on their next use. */
export function usesDue(record: ClientRecord, s: EffectiveSettings, now: number): KeyUse[] {
  return record.keys.filter((k) => k.state === 'active' && dueAt(k, s.keyTtlMs) <= now).map((k) => k.use)
}

/**
 * Gives each named client a new active key per `use`; the old one is retired for the grace.
 * New keys are made before the vault lock is taken (RSA generation is slow), then swapped in
 * under it.
 */
export async function rotateKeys(
  vault: Vault,
  clients: string[],
  uses: KeyUse[],
  options: {graceMs?: number; now: number},
): Promise<RotatedKey[]> {
  const made: Array<{client: string; key: KeyRecord}> = []
  for (const client of clients) {
    const s = clientSettings(vault.document, client)
    for (const use of uses) {
      const alg = use === 'sig' ? s.sigAlg : s.encAlg
      made.push({
        client,
        key: await generateKey(use, alg, use === 'sig' ? s.sigBits : s.encBits, new Date(options.now)),
      })
    }
  }

  return installKeys(vault, made, options)
}

/**
 * Makes each given key its client's active key for its use, under the vault lock; the key it
 * replaces is retired for the grace. `keys rotate` (new keys) and `keys import` (given ones)
 * both end here.
 */
export async function installKeys(
  vault: Vault,
  made: Array<{client: string; key: KeyRecord}>,
  options: {graceMs?: number; now: number},
): Promise<RotatedKey[]> {
  return vault.update((doc) => {
    const rotated: RotatedKey[] = []
    for (const {client, key} of made) {
      const record = getClient(doc, client)
      const grace = options.graceMs ?? defaultGraceMs(clientSettings(doc, client))
      const retireAfter = new Date(options.now + grace).toISOString()
      const old = record.keys.find((k) => k.use === key.use && k.state === 'active')
      if (old) {
        old.state = 'retired'
        old.retireAfter = retireAfter
      }

      pruneKeys(record, options.now)
      record.keys.push(key)
      rotated.push({
        client,
        kid: key.jwk.kid,
        retire_after: old ? retireAfter : null,
        retired: old?.jwk.kid ?? null,
        use: key.use,
      })
    }

    return rotated
  })
}

/**
 * How long a retired key-wrapping key keeps opening refresh tokens: the longest a refresh token
 * of any client can live (its session-ttl, or the defaults' for clients that follow them), plus
 * the leeway.
 */
export function sealGraceMs(doc: Readonly<VaultDocument>): number {
  const sessions = [
    effectiveSettings(doc.issuer.defaults, {}).sessionTtlMs,
    ...Object.keys(doc.clients).map((name) => clientSettings(doc, name).sessionTtlMs),
  ]
  return Math.max(...sessions) + ROTATION_LEEWAY_MS
}

/** When the issuer needs a new key-wrapping key (ms): its key's creation + the defaults' key-ttl; at once without one. */
export function sealDueAt(doc: Readonly<VaultDocument>): number {
  const active = activeKey(doc.issuer.sealKeys ?? [], 'enc')
  return active ? dueAt(active, effectiveSettings(doc.issuer.defaults, {}).keyTtlMs) : -Infinity
}

/**
 * Gives the issuer a new key-wrapping key for refresh tokens (`refresh_seal: issuer`); the old
 * one is retired for the grace (default: sealGraceMs), opening the tokens it sealed until then.
 * With `ifDue`, under the lock, only when it is still due (sealDueAt): processes that found the key
 * due at once make one key between them.
 */
export async function rotateSealKey(
  vault: Vault,
  options: {graceMs?: number; ifDue?: boolean; now: number},
): Promise<RotatedKey | undefined> {
  const key = await generateKey('enc', ISSUER_SEAL_ALG, undefined, new Date(options.now))
  return vault.update((doc) => {
    if (options.ifDue && sealDueAt(doc) > options.now) return
    const {retireAfter, retired} = installSealKey(doc, key, options.graceMs ?? sealGraceMs(doc), options.now)
    return {client: null, kid: key.jwk.kid, retire_after: retireAfter, retired, use: 'enc' as const}
  })
}
