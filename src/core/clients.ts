import type {JWK} from '../jose/keys.js'
import type {ClientRecord, ClientSettings, KeyRecord, VaultDocument} from '../model/document.js'
import type {Vault} from '../vault/vault.js'

import {ClaimsError, ConflictError, NotFoundError, UsageError} from '../common/errors.js'
import {closest} from '../common/suggest.js'
import {isHmac, ISSUER_SEAL_ALG, type RefreshSeal} from '../jose/algorithms.js'
import {publicJwk} from '../jose/keys.js'
import {activeKey, generateKey, installSealKey, secretKey} from './keys.js'
import {parseScope} from './oauth-client.js'
import {hashSecret, newClientToken} from './secrets.js'

/** Client token hashes → client names, per vault document (a document is never changed in place). */
const tokenIndexes = new WeakMap<object, Map<string, string>>()

/**
 * The client a bearer token belongs to, or undefined. Tokens are 256-bit random strings kept
 * only as SHA-256 hashes: the presented token is hashed once and looked up, so the time taken
 * reveals nothing usable about any stored hash.
 */
export function clientForToken(doc: Readonly<VaultDocument>, token: string): string | undefined {
  let index = tokenIndexes.get(doc)
  if (!index) {
    index = new Map(Object.entries(doc.clients).map(([name, c]) => [c.tokenHash, name]))
    tokenIndexes.set(doc, index)
  }

  return index.get(hashSecret(token))
}

import {
  checkSettings,
  type EffectiveSettings,
  effectiveSettings,
  issuerLimits,
  normalizeSettings,
  type SettingsInput,
} from './settings.js'

/** As JWTIS: a client's name is its `kid` in requests, so it must be safe in URLs and logs. */
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export function checkClientName(name: string): string {
  if (!CLIENT_NAME.test(name)) {
    throw new UsageError(
      `invalid client name "${name}": use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    )
  }

  return name
}

/** A client's effective settings (issuer defaults + its overrides). */
/** Effective settings per document and client: a document is replaced, never changed, on every write. */
const settingsCache = new WeakMap<object, Map<string, EffectiveSettings>>()

/** A client's effective settings (issuer defaults + its overrides), parsed once per vault document. */
export function clientSettings(doc: Readonly<VaultDocument>, name: string): EffectiveSettings {
  let byClient = settingsCache.get(doc)
  if (!byClient) {
    byClient = new Map()
    settingsCache.set(doc, byClient)
  }

  let settings = byClient.get(name)
  if (!settings) {
    settings = effectiveSettings(doc.issuer.defaults, getClient(doc, name).settings)
    byClient.set(name, settings)
  }

  return settings
}

/**
 * The audiences a client may issue tokens for: those it was registered with (`--aud`, `aud` at
 * /register), else its own name. A token for any other audience is refused, so one client
 * cannot mint tokens that another client's resource server would accept.
 */
export function allowedAudiences(doc: Readonly<VaultDocument>, name: string): string[] {
  const {aud} = getClient(doc, name).settings
  return aud?.length ? aud : [name]
}

/** Refuses (AUDIENCE_NOT_ALLOWED, HTTP 422, exit 2) audiences the client was not registered for. */
export function checkAudiences(doc: Readonly<VaultDocument>, name: string, requested: string[]): void {
  const allowed = allowedAudiences(doc, name)
  const refused = requested.filter((a) => !allowed.includes(a))
  if (refused.length > 0) {
    throw new ClaimsError(
      `client ${name} may not issue tokens for audience ${refused.map((a) => JSON.stringify(a)).join(', ')} (it may for ${allowed.map((a) => JSON.stringify(a)).join(', ')}; change that with \`jwtis client update ${name} --aud ...\`)`,
      'AUDIENCE_NOT_ALLOWED',
    )
  }
}

/**
 * The scopes of `wanted` a client may not be granted: each must be registered for it, and
 * `openid` needs a redirect URI (the OpenID flows) and a signature a relying party can verify
 * (not HMAC).
 */
export function refusedScopes(doc: Readonly<VaultDocument>, name: string, wanted: string[]): string[] {
  const {redirectUris = [], scopes: registered = [], sigAlg} = clientSettings(doc, name)
  const openid = redirectUris.length > 0 && !isHmac(sigAlg)
  return wanted.filter((s) => (s === 'openid' ? !openid : !registered.includes(s)))
}

/**
 * A `scope` claim given in custom claims (`POST /issue_token`, `token issue`) by a client
 * registered with scopes names only those, as the token endpoint grants them: a resource server
 * reading `scope` cannot tell which way a token was issued. A client registered without scopes
 * sets its own, as JWTIS v0.1 clients do.
 */
export function checkScopeClaim(doc: Readonly<VaultDocument>, name: string, custom: Record<string, unknown>): void {
  if (!Object.hasOwn(custom, 'scope')) return
  const registered = clientSettings(doc, name).scopes ?? []
  if (registered.length === 0) return
  const hint = `client ${name} is registered for scope ${registered.join(' ')}: see \`jwtis client update ${name} --scope ...\``
  if (typeof custom.scope !== 'string')
    throw new ClaimsError(`the scope claim must be a space-separated string (${hint})`, 'SCOPE_NOT_ALLOWED')
  let refused: string[]
  try {
    refused = refusedScopes(doc, name, parseScope(custom.scope, 'the scope claim'))
  } catch (error) {
    throw new ClaimsError((error as Error).message, 'SCOPE_NOT_ALLOWED')
  }

  if (refused.length > 0)
    throw new ClaimsError(`may not issue a token with scope ${refused.join(' ')} (${hint})`, 'SCOPE_NOT_ALLOWED')
}

export function getClient(doc: Readonly<VaultDocument>, name: string): ClientRecord {
  const record = Object.hasOwn(doc.clients, name) ? doc.clients[name] : undefined
  if (!record) {
    const near = closest(name, Object.keys(doc.clients)).map((n) => `"${n}"`)
    const hint = near.length > 0 ? `did you mean ${near.join(' or ')}?` : 'see `jwtis client list`'
    throw new NotFoundError('CLIENT_NOT_FOUND', `no client "${name}" in the vault: ${hint}`)
  }

  return record
}

/** JWTIS's `RegisterClientResponse`. `client_token` is present only when the client is created. */
export interface ClientKeysView {
  client_token?: string
  /** When the active keys are due for rotation: a NumericDate (seconds), as JWTIS sends it. */
  expiry: number
  kid: string
  pub_enc_key: JWK
  pub_sig_key: JWK
  valid: boolean
}

export interface ClientView extends ClientKeysView {
  /** The audiences the client may issue tokens for. */
  aud: string[]
  created: string
  keys: Array<{alg: string; created: string; kid: string; retire_after: null | string; state: string; use: string}>
  /** Whom its refresh tokens are sealed to: `issuer` (A256KW under the issuer's key) or `client`. */
  refresh_seal: RefreshSeal
  refresh_strategy: string
  /** The effective settings: the issuer defaults with this client's overrides. */
  settings: ClientSettings & {refreshSeal: RefreshSeal}
}

/** When the active keys are due for rotation (the JWTIS `expiry`): the older one's creation + key-ttl. */
function keysExpiry(keys: KeyRecord[], keyTtlMs: number): Date {
  const created = (['sig', 'enc'] as const)
    .map((use) => activeKey(keys, use))
    .filter((k): k is KeyRecord => k !== undefined)
    .map((k) => Date.parse(k.created))
  return new Date(Math.min(...created) + keyTtlMs)
}

export function clientKeysView(doc: Readonly<VaultDocument>, name: string, now: Date): ClientKeysView {
  const record = getClient(doc, name)
  const settings = clientSettings(doc, name)
  const sig = activeKey(record.keys, 'sig')
  const enc = activeKey(record.keys, 'enc')
  if (!sig || !enc)
    throw new NotFoundError(
      'KEY_NOT_FOUND',
      `client "${name}" has no active key: run \`jwtis keys rotate --client ${name}\``,
    )
  const expiry = keysExpiry(record.keys, settings.keyTtlMs)
  return {
    expiry: Math.floor(expiry.getTime() / 1000),
    kid: name,
    pub_enc_key: publicJwk(enc.jwk),
    pub_sig_key: publicJwk(sig.jwk),
    valid: expiry.getTime() > now.getTime(),
  }
}

export function clientView(doc: Readonly<VaultDocument>, name: string, now: Date): ClientView {
  const record = getClient(doc, name)
  const {refreshSeal} = clientSettings(doc, name)
  const settings = {...doc.issuer.defaults, ...record.settings, refreshSeal}
  return {
    ...clientKeysView(doc, name, now),
    aud: allowedAudiences(doc, name),
    created: record.created,
    keys: record.keys.map((k) => ({
      alg: k.jwk.alg,
      created: k.created,
      kid: k.jwk.kid,
      retire_after: k.retireAfter,
      state: k.state,
      use: k.use,
    })),
    refresh_seal: refreshSeal,
    refresh_strategy: settings.refreshStrategy,
    settings,
  }
}

/**
 * Registers a client: makes its signing and encryption key pairs (outside the vault lock, as
 * RSA generation can take a while), then adds it under the lock. The client token is returned
 * here only; the vault keeps its hash.
 */
export async function addClient(
  vault: Vault,
  name: string,
  input: SettingsInput,
  now = new Date(),
  options: {
    /** The HMAC secret of an HS256/384/512 client, instead of a random one. */
    secret?: Uint8Array
  } = {},
): Promise<ClientKeysView> {
  checkClientName(name)
  if (Object.hasOwn(vault.document.clients, name)) {
    throw new ConflictError('CLIENT_EXISTS', `client "${name}" already exists`)
  }

  const overrides = normalizeSettings(input)
  const settings = {...vault.document.issuer.defaults, ...overrides}
  checkSettings(settings, issuerLimits(vault.document))
  const [sig, enc] = await Promise.all([
    options.secret
      ? secretKey(settings.sigAlg, options.secret, now)
      : generateKey('sig', settings.sigAlg, settings.sigBits, now),
    generateKey('enc', settings.encAlg, settings.encBits, now),
  ])
  const sealKey = await sealKeyFor(vault.document, settings, now)
  const clientToken = newClientToken()
  await vault.update((doc) => {
    if (Object.hasOwn(doc.clients, name)) throw new ConflictError('CLIENT_EXISTS', `client "${name}" already exists`)
    addSealKey(doc, sealKey, now)
    doc.clients[name] = {
      created: now.toISOString(),
      keys: [sig, enc],
      settings: overrides,
      tokenHash: hashSecret(clientToken),
    }
  })
  return {...clientKeysView(vault.document, name, now), client_token: clientToken}
}

/**
 * Changes a registered client's settings (audiences, lifetimes, refresh strategy); keys and
 * algorithms stay (change those with `keys rotate` or `keys import`). Returns the new view.
 */
export async function updateClient(
  vault: Vault,
  name: string,
  input: Omit<SettingsInput, 'enc' | 'encAlg' | 'encBits' | 'sigAlg' | 'sigBits'>,
  now = new Date(),
): Promise<ClientView> {
  const {settings: current} = getClient(vault.document, name)
  const changes = normalizeSettings(input)
  const sealKey = await sealKeyFor(vault.document, {...vault.document.issuer.defaults, ...current, ...changes}, now)
  await vault.update((doc) => {
    const record = getClient(doc, name)
    const settings = {...record.settings, ...changes}
    checkSettings({...doc.issuer.defaults, ...settings}, issuerLimits(doc))
    addSealKey(doc, sealKey, now)
    record.settings = settings
  })
  return clientView(vault.document, name, now)
}

/**
 * The issuer's first key-wrapping key, made (outside the vault lock, like client keys) when a
 * client is to seal its refresh tokens with it and the vault has none yet: so that issuing never
 * has to write the vault for it.
 */
async function sealKeyFor(doc: Readonly<VaultDocument>, settings: ClientSettings, now: Date) {
  const needed = settings.refreshSeal === 'issuer' && !activeKey(doc.issuer.sealKeys ?? [], 'enc')
  return needed ? generateKey('enc', ISSUER_SEAL_ALG, undefined, now) : undefined
}

/** Installs a key from sealKeyFor under the lock, unless another write gave the issuer one meanwhile. */
function addSealKey(doc: VaultDocument, key: KeyRecord | undefined, now: Date): void {
  if (key && !activeKey(doc.issuer.sealKeys ?? [], 'enc')) installSealKey(doc, key, 0, now.getTime())
}

export async function removeClient(vault: Vault, name: string): Promise<void> {
  getClient(vault.document, name)
  await vault.update((doc) => {
    getClient(doc, name)
    delete doc.clients[name]
  })
}

export interface ClientSummary {
  /** The audiences the client may issue tokens for. */
  aud: string[]
  created: string
  enc_alg: string
  keys: number
  /** The client's name, as JWTIS called it (kept for its users); `name` is the same. */
  kid: string
  name: string
  refresh_seal: RefreshSeal
  refresh_strategy: string
  sig_alg: string
}

export function listClients(doc: Readonly<VaultDocument>): ClientSummary[] {
  return Object.keys(doc.clients)
    .sort()
    .map((name) => {
      const s = clientSettings(doc, name)
      return {
        aud: allowedAudiences(doc, name),
        created: doc.clients[name].created,
        enc_alg: `${s.encAlg} ${s.enc}`,
        keys: doc.clients[name].keys.length,
        kid: name,
        name,
        refresh_seal: s.refreshSeal,
        refresh_strategy: s.refreshStrategy,
        sig_alg: s.sigAlg,
      }
    })
}
