import type {KeyRecord, VaultDocument} from '../model/document.js'

import {Keyring} from '../jose/keyring.js'
import {isSecretKey, type JWK, publicJwk, spkiPem} from '../jose/keys.js'
import {clientSettings, getClient} from './clients.js'
import {dueAt, isGone} from './keys.js'
import {effectiveSettings} from './settings.js'

/**
 * The key rules every view of the keys shares (`keys list`, `vault status`, `keys export`,
 * `GET /keys/{kid}`, the JWKS): when an active key is due for rotation, when a retired key is
 * gone, and what may be published.
 */

export interface KeyRow {
  alg: string
  /** null for the issuer's own keys (the key-wrapping keys that seal refresh tokens). */
  client: null | string
  created: string
  kid: string
  retire_after: null | string
  /** When the key rotates on use (active) or is dropped (retired). */
  rotate_after: null | string
  state: 'active' | 'expired' | 'retired'
  use: string
}

/** A key's row: its state and dates. */
function keyRow(k: KeyRecord, client: null | string, keyTtlMs: number, now: number): KeyRow {
  return {
    alg: k.jwk.alg,
    client,
    created: k.created,
    kid: k.jwk.kid,
    retire_after: k.retireAfter,
    rotate_after: k.state === 'active' ? new Date(dueAt(k, keyTtlMs)).toISOString() : null,
    state: isGone(k, now) ? 'expired' : k.state,
    use: k.use,
  }
}

/**
 * Every key of the vault (or of one client) with its state and dates, clients in name order,
 * then the issuer's own keys (which rotate on the vault defaults' key-ttl).
 */
export function keyRows(doc: Readonly<VaultDocument>, now: number, client?: string): KeyRow[] {
  const names = client === undefined ? Object.keys(doc.clients).sort() : [client]
  const rows = names.flatMap((name) => {
    const {keyTtlMs} = clientSettings(doc, name)
    return getClient(doc, name).keys.map((k) => keyRow(k, name, keyTtlMs, now))
  })
  if (client !== undefined) return rows
  const {keyTtlMs} = effectiveSettings(doc.issuer.defaults, {})
  return [...rows, ...(doc.issuer.sealKeys ?? []).map((k) => keyRow(k, null, keyTtlMs, now))]
}

/** Active keys past their client's key-ttl: they rotate on next use, or with `keys rotate`. */
export function keysDue(
  doc: Readonly<VaultDocument>,
  now: number,
): Array<{client: null | string; due: string; kid: string; use: string}> {
  return keyRows(doc, now)
    .filter((r) => r.state === 'active' && Date.parse(r.rotate_after!) <= now)
    .map((r) => ({client: r.client, due: r.rotate_after!, kid: r.kid, use: r.use}))
}

export interface PublishOptions {
  client?: string
  /** Include HMAC secrets (`keys export --include-secret`): never for the JWKS or HTTP. */
  includeSecrets?: boolean
  use?: 'enc' | 'sig'
}

/**
 * The keys verifiers may have: active ones, and retired ones within their grace, so tokens made
 * before a rotation keep verifying. Public halves only; a client's HMAC secret is left out
 * (publishing it would let anyone sign), unless `includeSecrets`.
 */
export function publishedKeys(doc: Readonly<VaultDocument>, now: number, options: PublishOptions = {}): JWK[] {
  const names = options.client === undefined ? Object.keys(doc.clients) : [options.client]
  return names.flatMap((name) =>
    getClient(doc, name)
      .keys.filter((k) => !isGone(k, now) && (!options.use || k.use === options.use))
      .filter((k) => options.includeSecrets || !isSecretKey(k.jwk))
      .map((k) => (isSecretKey(k.jwk) ? {...k.jwk} : publicJwk(k.jwk))),
  )
}

/**
 * One public key as a PEM block (SPKI), preceded by a `# kid …` comment line and ending with a
 * newline after its END line, so that a file of several stays readable by `openssl pkey`.
 */
export async function publicPem(jwk: JWK): Promise<string> {
  const spki = (await spkiPem(jwk)).trimEnd()
  return `# kid ${jwk.kid} ${jwk.use} ${jwk.alg}\n${spki}\n`
}

/**
 * Every key of the vault that may still be used, the clients' and the issuer's own: active keys,
 * and retired ones until their `retireAfter` (past it a key is treated as gone even before it is
 * pruned from the file).
 */
export function vaultKeyring(doc: Readonly<VaultDocument>, now: number): Keyring {
  const live = (keys: KeyRecord[]) => keys.filter((k) => !isGone(k, now))
  return new Keyring([
    ...Object.entries(doc.clients).flatMap(([client, record]) =>
      live(record.keys).map((k) => ({...keyEntry(k), client})),
    ),
    ...live(doc.issuer.sealKeys ?? []).map((k) => ({...keyEntry(k), issuer: true as const})),
  ])
}

const keyEntry = (k: KeyRecord) => ({
  alg: k.jwk.alg,
  jwk: publicJwk(k.jwk),
  kid: k.jwk.kid,
  privateJwk: k.jwk,
  state: k.state,
  use: k.use,
})
