import {existsSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {dirname} from 'node:path'

import {formatDuration, parseDuration} from '../common/duration.js'
import {ConflictError, UsageError, VaultError} from '../common/errors.js'
import {writeFileAtomic} from '../fs/files.js'
import {newDocument} from '../model/document.js'
import {isRedisUrl, vaultLocation} from '../redis/url.js'
import {ageKind, identityFileText, isRecipient, newIdentity, recipientOf, type VaultKey} from '../vault/age.js'
import {openStorage} from '../vault/open-storage.js'
import {readIdentityFile} from '../vault/unlock.js'
import {Vault} from '../vault/vault.js'
import {checkSettings, issuerLimits, normalizeSettings, type SettingsInput} from './settings.js'
import {checkIssuer} from './vault-settings.js'

/**
 * Vault administration as a library: create a vault (`init`), change who can open it (`vault
 * rekey`), copy it between a file and Redis (`vault copy`), sign one from before vaults were
 * signed (`vault upgrade`). The commands only turn flags into these inputs and print the results;
 * what belongs to a terminal stays with them: prompts (a secret is asked for through a callback,
 * only once it is needed) and the user's settings (the default vault, the pinned vault ids).
 */

/** How a new vault is sealed. */
export type NewVaultSeal =
  /** An identity given as text (JWTIS_AGE_KEY). */
  | {identity: string}
  /** The identity in this file; a new one is saved there when there is none (never overwritten). */
  | {identityFile: string}
  /** A passphrase, asked for once the vault is known to be new. */
  | {passphrase: () => Promise<string>}

export interface InitVaultInput {
  /** The issuer's default client settings, as given (validated here). */
  defaults: SettingsInput
  /** The issuer's ceilings (Go durations): longest access token, longest refresh family. */
  limits: {maxAccessTtl: string; maxSessionTtl: string}
  /** A file path or a redis:// URL. */
  location: string
  /** The issuer name: the `iss` claim of every token. */
  name: string
  now: Date
  /** Other holders' age public keys (identity seals only). */
  recipients?: string[]
  seal: NewVaultSeal
}

export interface InitVaultResult {
  /** The identity that opens the vault (none with a passphrase). */
  identity?: string
  /** Where the identity is (none when given as text, or with a passphrase). */
  identityFile?: string
  /** Where the vault is, for people (a Redis URL without its password). */
  location: string
  /** Whether the identity was made now (and saved to `identityFile`), rather than one that existed. */
  newIdentity: boolean
  /** The identity's public key (none with a passphrase). */
  recipient?: string
  /** The public key that signs the vault: other holders pin it. */
  vaultId: string
}

/** Creates a vault; never over an existing one (VAULT_EXISTS), and nothing is written when an input is refused. */
export async function initVault(input: InitVaultInput): Promise<InitVaultResult> {
  const {location, now} = input
  if (!isRedisUrl(location) && existsSync(location))
    throw new ConflictError('VAULT_EXISTS', `a vault already exists at ${location}; it was left as it is`)
  const extra = input.recipients ?? []
  for (const r of extra)
    if (!isRecipient(r)) throw new UsageError(`--recipient ${r} is not an age X25519 public key (age1…)`)
  const passphrase = 'passphrase' in input.seal
  if (passphrase && extra.length > 0)
    throw new UsageError('--recipient cannot be combined with --passphrase (age seals a file with one or the other)')
  const defaults = normalizeSettings(input.defaults)
  const limits = {
    maxAccessTtl: formatDuration(parseDuration(input.limits.maxAccessTtl, '--max-access-ttl')),
    maxSessionTtl: formatDuration(parseDuration(input.limits.maxSessionTtl, '--max-session-ttl')),
  }
  checkIssuer(input.name)
  const draft = newDocument({defaults, limits, name: input.name, now})
  checkSettings(draft.issuer.defaults, issuerLimits(draft))

  const holder = await sealFor(input.seal, now)
  const key: VaultKey = 'passphrase' in holder ? {passphrase: holder.passphrase} : {identities: [holder.identity]}
  const recipients = 'recipient' in holder ? [holder.recipient, ...extra] : []
  const vault = await Vault.create(
    location,
    newDocument({defaults, limits, name: input.name, now, passphrase, recipients}),
    key,
  )
  await vault.close()
  const held = 'identity' in holder ? holder : undefined
  return {
    identity: held?.identity,
    identityFile: held?.identityFile,
    location: vault.path,
    newIdentity: held?.made ?? false,
    recipient: held?.recipient,
    vaultId: vault.signer!.vaultId,
  }
}

interface IdentityHolder {
  identity: string
  identityFile?: string
  /** Made now, not found. */
  made: boolean
  recipient: string
}

/** The secret that seals a new vault: the passphrase, or an identity (made and saved when its file is missing). */
async function sealFor(seal: NewVaultSeal, now: Date): Promise<IdentityHolder | {passphrase: string}> {
  if ('passphrase' in seal) return {passphrase: await seal.passphrase()}
  if ('identity' in seal) return withRecipient(seal.identity)
  const file = seal.identityFile
  if (existsSync(file)) return withRecipient(await firstIdentity(file), file)
  const made = await saveNewIdentity(file, now)
  // Another process saved one first: use that one.
  return made ? {...made, identityFile: file, made: true} : withRecipient(await firstIdentity(file), file)
}

async function withRecipient(identity: string, identityFile?: string): Promise<IdentityHolder> {
  const recipient = await recipientOf(identity).catch(() => {
    throw new UsageError('the identity is not a valid age X25519 identity (AGE-SECRET-KEY-1…)')
  })
  return {identity, identityFile, made: false, recipient}
}

async function firstIdentity(file: string): Promise<string> {
  return (await readIdentityFile(file))[0]
}

/** A new X25519 identity saved to `file` (mode 0600); undefined when the file exists (it is never overwritten). */
async function saveNewIdentity(file: string, now: Date): Promise<undefined | {identity: string; recipient: string}> {
  const made = await newIdentity()
  await mkdir(dirname(file), {mode: 0o700, recursive: true})
  const created = await writeFileAtomic(file, identityFileText(made.identity, made.recipient, now), true)
  return created ? made : undefined
}

export interface RekeyInput {
  /** Age public keys that may open the vault from now on. */
  add?: string[]
  /** Seal to a new identity saved in this file (never over an existing one), in place of the one that opened it. */
  newIdentityFile?: string
  /** Seal with a passphrase instead of identities: asked for once the vault is open. */
  passphrase?: () => Promise<string>
  /** Age public keys that may no longer open the vault. */
  remove?: string[]
}

export interface RekeyVaultResult {
  encryption: 'passphrase' | 'x25519'
  /** Where the new identity was saved (with `newIdentityFile`). */
  identityFile?: string
  location: string
  /** Whether the vault is signed with a new vault key: someone lost access, so the old one is no longer trusted. */
  newSigningKey: boolean
  previousVaultId: string
  recipients: string[]
  vaultId: string
}

/**
 * Re-seals a vault to other holders. `open` opens it, after the input was checked. Whoever
 * leaves may have kept the signing key (it is inside the document they could read): a re-key
 * that removes anyone signs with a new key, derived from the secret sealing it now.
 */
export async function rekeyVault(open: () => Promise<Vault>, input: RekeyInput): Promise<RekeyVaultResult> {
  const add = input.add ?? []
  const remove = input.remove ?? []
  for (const r of [...add, ...remove])
    if (!isRecipient(r)) throw new UsageError(`${r} is not an age X25519 public key (age1…)`)
  if (!input.passphrase && !input.newIdentityFile && add.length === 0 && remove.length === 0)
    throw new UsageError('nothing to change: give --add-recipient, --remove-recipient, --new-identity or --passphrase')

  const vault = await open()
  const previousVaultId = vault.signer!.vaultId
  const sealing = await newSealing(vault, input)
  const toPassphrase = Boolean(input.passphrase)
  // Worked out from the newest document, inside the write: a recipient another process added
  // a moment ago stays.
  const next = (current: string[]): string[] => {
    if (toPassphrase) return []
    const kept = sealing.made ? [sealing.made, ...current.filter((r) => !sealing.replaced.includes(r))] : current
    const recipients = [...new Set([...add, ...kept])].filter((r) => !remove.includes(r))
    if (recipients.length === 0) throw new UsageError('that would leave no recipient able to open the vault')
    return recipients
  }

  let recipients: string[] = []
  let newSigningKey = false
  await vault.rekey(
    (doc) => {
      const before = doc.age.passphrase ? [] : doc.age.recipients
      recipients = next(before)
      newSigningKey = toPassphrase || doc.age.passphrase || before.some((r) => !recipients.includes(r))
      doc.age = {passphrase: toPassphrase, recipients}
    },
    sealing.key ?? vault.unlockKey(),
    {newSigningKey: () => newSigningKey},
  )
  return {
    encryption: toPassphrase ? 'passphrase' : 'x25519',
    location: vault.path,
    newSigningKey,
    previousVaultId,
    recipients,
    vaultId: vault.signer!.vaultId,
    ...(input.newIdentityFile ? {identityFile: input.newIdentityFile} : {}),
  }
}

/**
 * The key a re-key seals with when it changes (a passphrase, or a new identity saved first), with
 * the new identity's public key and the ones it replaces; no key: the one that opened the vault.
 */
async function newSealing(
  vault: Vault,
  input: RekeyInput,
): Promise<{key?: VaultKey; made?: string; replaced: string[]}> {
  if (input.passphrase) return {key: {passphrase: await input.passphrase()}, replaced: []}
  if (input.newIdentityFile) {
    const made = await saveNewIdentity(input.newIdentityFile, new Date())
    if (!made)
      throw new ConflictError(
        'IDENTITY_EXISTS',
        `${input.newIdentityFile} exists; it is never overwritten: pass another --identity-file`,
      )
    return {key: {identities: [made.identity]}, made: made.recipient, replaced: await vault.openedBy()}
  }

  if (vault.kind === 'scrypt')
    throw new UsageError('this vault is sealed with a passphrase: use --new-identity to move it to identities')
  return {replaced: []}
}

export interface CopyVaultResult {
  bytes: number
  from: string
  to: string
  /** The version the copy has in its new place (a file's is its inode, mtime and size). */
  version: string
}

/**
 * Copies a vault between a file and Redis, either way, without decrypting it: the same age-sealed
 * bytes. A target that holds a vault already is left alone unless `force`.
 */
export async function copyVault(from: string, to: string, options: {force?: boolean} = {}): Promise<CopyVaultResult> {
  const source = await openStorage(vaultLocation(from))
  try {
    const {bytes} = await source.read()
    if (!ageKind(bytes))
      throw new VaultError(
        'VAULT_CORRUPT',
        `${source.location} is not an age-encrypted jwtis vault: nothing was copied`,
      )
    const target = await openStorage(vaultLocation(to))
    try {
      if (target.location === source.location)
        throw new ConflictError('VAULT_EXISTS', `${target.location} is the vault being copied: nothing to do`)
      let version = await target.create(bytes)
      if (version === undefined) {
        if (!options.force)
          throw new ConflictError(
            'VAULT_EXISTS',
            `a vault already exists at ${target.location}; it was left as it is (--force replaces it)`,
          )
        version = await target.commit(async () => bytes)
      }

      return {bytes: bytes.length, from: source.location, to: target.location, version}
    } finally {
      await target.close()
    }
  } finally {
    await source.close()
  }
}

/** What `upgradeVault` is about to vouch for by signing. */
export interface UpgradeSubject {
  clients: string[]
  issuer: string
  location: string
  passphrase: boolean
  /** The recipients it is sealed to; none with a passphrase. */
  recipients: string[]
}

export interface UpgradeVaultResult {
  formatVersion: number
  location: string
  /** Whether this call signed it (false: it was signed already). */
  upgraded: boolean
  vaultId: string
}

/**
 * Signs a vault written before vaults were signed (opened with `legacy`), with a key derived from
 * the secret that opened it; a vault signed already is left as it is. `vouching` hears what is
 * about to be vouched for, before it is.
 */
export async function upgradeVault(
  vault: Vault,
  vouching: (subject: UpgradeSubject) => void,
): Promise<UpgradeVaultResult> {
  const upgraded = vault.signer === undefined
  if (upgraded) {
    const {age, clients, issuer} = vault.document
    vouching({
      clients: Object.keys(clients),
      issuer: issuer.name,
      location: vault.path,
      passphrase: age.passphrase,
      recipients: age.recipients,
    })
  }

  const signer = upgraded ? await vault.upgrade() : vault.signer!
  return {formatVersion: vault.document.version, location: vault.path, upgraded, vaultId: signer.vaultId}
}
