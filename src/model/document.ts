import {hkdfSync, randomBytes} from 'node:crypto'

import type {Enc, EncAlg, RefreshSeal, RefreshStrategy, SigAlg} from '../jose/algorithms.js'
import type {JWK, KeyUse} from '../jose/keys.js'

import {VaultError} from '../common/errors.js'

/**
 * The vault is one JSON document, encrypted with age. This is its plaintext, as
 * `age -d -i IDENTITY vault.age` prints it. `version` is bumped on any change that an older
 * jwtis could misread; a newer version is refused, never rewritten.
 */
export const FORMAT_VERSION = 2

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

export interface ClientSettings {
  /** Access token lifetime (Go duration). */
  accessTtl: string
  /** Default `aud` for tokens of this client. */
  aud?: string[]
  enc: Enc
  encAlg: EncAlg
  encBits?: number
  /** Access tokens of this client are nested JWTs: signed, then encrypted to its encryption key. */
  encryptAccess?: boolean
  /** OAuth (RFC 7591 `jwks`): the client's public keys, for private_key_jwt and jwt-bearer assertions. */
  jwks?: {keys: JWK[]}
  /** OAuth (RFC 7591 `jwks_uri`): where the client publishes them instead. */
  jwksUri?: string
  /** Age after which a key is rotated on its next use. */
  keyTtl: string
  /** OAuth: where the authorization endpoint may send the client's codes (absolute, no fragment). */
  redirectUris?: string[]
  /** Whom refresh tokens are sealed to; absent (vaults made before it existed): `client`. */
  refreshSeal?: RefreshSeal
  refreshStrategy: RefreshStrategy
  /** Idle lifetime of one refresh token. */
  refreshTtl: string
  /** OAuth: the scopes the client may be granted. */
  scopes?: string[]
  /** Absolute lifetime of a refresh family. */
  sessionTtl: string
  sigAlg: SigAlg
  sigBits?: number
}

export interface ClientRecord {
  created: string
  keys: KeyRecord[]
  /** Overrides of the issuer defaults; the effective settings are `{...defaults, ...settings}`. */
  settings: Partial<ClientSettings>
  /** `sha256:` + base64url digest of the client token; the token itself is never stored. */
  tokenHash: string
}

/**
 * Who wrote the document (./authenticity.ts): Ed25519 signatures over the document without them,
 * `sig` by the vault key (seed `key`, public half `vault_id`) and `holder_sig` by the writer's
 * holder key (public half `holder`). Format 2 on.
 */
export interface VaultAuth {
  alg: 'Ed25519'
  /** The writer's holder key (base64url public key), derived from its identity or passphrase. */
  holder: string
  holder_sig?: string
  /** The vault key's 32-byte seed (base64url), so that every holder can sign its writes. */
  key: string
  /** Incremented by every write: a reader that saw serial n refuses an older copy. */
  serial: number
  sig?: string
  /** `jwtis-vault-` + the vault key's base64url Ed25519 public key. */
  vault_id: string
}

export interface VaultDocument {
  /** How the file is encrypted, so that every write re-encrypts it the same way. */
  age: {passphrase: boolean; recipients: string[]}
  auth: VaultAuth
  clients: Record<string, ClientRecord>
  created: string
  issuer: {
    defaults: ClientSettings
    /** Names the issuer had before `vault set issuer`: its refresh tokens issued under them still renew. */
    formerNames?: string[]
    /** Ceilings on lifetimes (Go durations); absent members take DEFAULT_LIMITS. */
    limits?: {maxAccessTtl?: string; maxSessionTtl?: string}
    name: string
    /**
     * The issuer's own key-wrapping keys (`oct`, A256KW), which seal the refresh tokens of
     * `refresh_seal: issuer` clients: one active, retired ones until every token they sealed has
     * expired. Made by the first write that needs one.
     */
    sealKeys?: KeyRecord[]
    /** The name a Redis token store keys its entries under: the first name, kept when the issuer is renamed. */
    storeName?: string
  }
  /** base64url of 32 random bytes: the token store keeps subjects as HMACs under it (see storeKeyOf). */
  storeKey?: string
  /** 1: before vaults were signed (read only by `vault upgrade`); 2: signed. */
  version: 1 | typeof FORMAT_VERSION
}

/** A document about to be created: the vault signs it with a key of its own (Vault.create). */
export type NewDocument = Omit<VaultDocument, 'auth'>

export const DEFAULT_SETTINGS: ClientSettings = {
  accessTtl: '15m',
  enc: 'A256GCM',
  encAlg: 'ECDH-ES+A256KW',
  keyTtl: '4320h',
  refreshSeal: 'issuer',
  refreshStrategy: 'noRefresh',
  refreshTtl: '72h',
  sessionTtl: '720h',
  sigAlg: 'ES256',
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Checks the decrypted JSON is a vault document this version understands. Older versions would
 * be migrated here, in memory; they are written back only by the next update.
 */
export function parseDocument(text: string, path: string): VaultDocument {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw new VaultError('VAULT_CORRUPT', `vault ${path} decrypts but is not JSON: restore it from a backup`)
  }

  if (!isObject(doc) || typeof doc.version !== 'number') {
    throw new VaultError('VAULT_CORRUPT', `vault ${path} has no format version: it is not a jwtis vault`)
  }

  if (doc.version > FORMAT_VERSION) {
    throw new VaultError(
      'VAULT_TOO_NEW',
      `vault ${path} has format version ${doc.version}, newer than this jwtis understands (${FORMAT_VERSION}): upgrade jwtis`,
    )
  }

  if (doc.version < 1 || !isObject(doc.issuer) || !isObject(doc.clients) || !isObject(doc.age)) {
    throw new VaultError('VAULT_CORRUPT', `vault ${path} is not a valid jwtis vault document`)
  }

  return doc as unknown as VaultDocument
}

/** A new, empty vault document (no clients yet), sealed to `recipients` or with a passphrase. */
export function newDocument(options: {
  defaults?: Partial<ClientSettings>
  limits?: {maxAccessTtl?: string; maxSessionTtl?: string}
  name: string
  now?: Date
  passphrase?: boolean
  recipients?: string[]
}): NewDocument {
  return {
    age: {passphrase: Boolean(options.passphrase), recipients: options.recipients ?? []},
    clients: {},
    created: (options.now ?? new Date()).toISOString(),
    issuer: {
      defaults: {...DEFAULT_SETTINGS, ...options.defaults},
      ...(options.limits && Object.keys(options.limits).length > 0 ? {limits: options.limits} : {}),
      name: options.name,
    },
    storeKey: randomBytes(32).toString('base64url'),
    version: FORMAT_VERSION,
  }
}

/**
 * The vault's store key (base64url of 32 bytes). A vault written before it carried one gets a
 * key derived from its clients' secret keys: the same in every process that reads the same
 * document. The write that adds `storeKey` to such a vault (Vault.update) stores this value, so
 * that what was recorded under it keeps matching.
 */
/** What a Redis token store is named by: the issuer's first name, which `vault set issuer` keeps. */
export function storeName(doc: Pick<VaultDocument, 'issuer'>): string {
  return doc.issuer.storeName ?? doc.issuer.name
}

export function storeKeyOf(doc: Pick<VaultDocument, 'clients' | 'created' | 'issuer' | 'storeKey'>): string {
  if (doc.storeKey) return doc.storeKey
  const secrets = JSON.stringify([doc.issuer.name, doc.created, doc.clients])
  return Buffer.from(hkdfSync('sha256', secrets, '', 'jwtis store key', 32)).toString('base64url')
}
