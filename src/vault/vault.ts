import type {StorageOptions, VaultStorage} from './storage.js'

import {ConflictError, VaultError} from '../common/errors.js'
import {FORMAT_VERSION, type NewDocument, parseDocument, storeKeyOf, type VaultDocument} from '../model/document.js'
import {ageDecrypt, ageEncrypt, type AgeKind, ageKind, type VaultKey} from './age.js'
import {type Authenticity, checkAuthenticity, newAuth, signDocument} from './authenticity.js'
import {openStorage} from './open-storage.js'

export {resolveVaultPath} from './file-storage.js'

/** Finds the key for a vault once its kind is known (so a passphrase is only asked for when needed). */
export type KeyResolver = (kind: AgeKind, path: string) => Promise<VaultKey>

export interface VaultOptions extends StorageOptions {
  /** Open a document written before vaults were signed: `vault upgrade` only, which signs it. */
  legacy?: boolean
  /** Vault ids the user pinned (JWTIS_VAULT_ID, the `vault-id` setting): see ./authenticity.ts. */
  pinned?: string[]
}

/**
 * The encrypted vault, in a file or in Redis (./storage.ts). Reads give a snapshot; every change
 * goes through `update`, which applies it to the newest document and stores the result atomically
 * (under the file lock, or compare-and-set in Redis), so no caller can forget the lock or lose
 * another process's update.
 */
export class Vault {
  /**
   * Why the last reload failed (not authentic, gone, damaged), until one succeeds: the snapshot
   * kept meanwhile is the last authentic one, and `serve` reports itself degraded.
   */
  failure: undefined | VaultError
  /** The stored version whose reading failed: not read again until it changes. */
  private rejected: string | undefined

  private constructor(
    private readonly storage: VaultStorage,
    private key: VaultKey,
    private doc: VaultDocument,
    private version: string,
    private readonly options: VaultOptions,
    /** Undefined only for a document from before vaults were signed, opened to be upgraded. */
    private authenticity: Authenticity | undefined,
  ) {}

  /** Who signed the snapshot, and how this reader knows them; undefined before `vault upgrade`. */
  get signer(): Authenticity | undefined {
    return this.authenticity
  }

  /** How the vault is sealed now: a passphrase, or the X25519 recipients the document lists. */
  get kind(): AgeKind {
    return this.key.passphrase === undefined ? 'x25519' : 'scrypt'
  }

  /** The current snapshot. Treat it as read-only: change the vault with `update`. */
  get document(): Readonly<VaultDocument> {
    return this.doc
  }

  /** Where the vault is, for people: a path, or a Redis URL without its password. */
  get path(): string {
    return this.storage.location
  }

  /** What opens this vault again (a path or the whole Redis URL): keep it in memory only. */
  get source(): string {
    return this.storage.source
  }

  /** Whether the vault is kept in Redis (its token store then defaults to the same server). */
  get inRedis(): boolean {
    return this.storage.kind === 'redis'
  }

  /** Creates a new vault; never overwrites one (CONFLICT, exit 5). */
  static async create(given: string, draft: NewDocument, key: VaultKey, options: VaultOptions = {}): Promise<Vault> {
    const storage = await openStorage(given, options)
    try {
      const doc: VaultDocument = {...draft, auth: newAuth()}
      signDocument(doc, 0, key)
      const version = await storage.create(await sealDocument(doc, key))
      if (version === undefined)
        throw new ConflictError('VAULT_EXISTS', `a vault already exists at ${storage.location}; it was left as it is`)
      return new Vault(storage, key, doc, version, options, {by: 'derived', serial: 1, vaultId: doc.auth.vault_id})
    } catch (error) {
      await storage.close()
      throw error
    }
  }

  static async open(given: string, resolveKey: KeyResolver, options: VaultOptions = {}): Promise<Vault> {
    const storage = await openStorage(given, options)
    try {
      const {bytes, version} = await storage.read()
      const kind = ageKind(bytes)
      if (!kind) {
        throw new VaultError(
          'VAULT_CORRUPT',
          `${storage.location} is not an age-encrypted jwtis vault; it was left untouched`,
        )
      }

      const key = await resolveKey(kind, storage.location)
      const {authenticity, doc} = await readDocument(bytes, key, storage.location, options)
      return new Vault(storage, key, doc, version, options, authenticity)
    } catch (error) {
      await storage.close()
      throw error
    }
  }

  /**
   * Whether the stored vault may be another version than this snapshot, without I/O: a stat of
   * the file, or a flag a Redis change notice set. Cheap enough for `serve` to ask on every
   * request, so a change made by another worker or process is seen by the very next request.
   */
  changedElsewhere(): boolean {
    return this.storage.changedSince(this.rejected ?? this.version)
  }

  /** Resolves when the stored vault can be read now (Redis up); VAULT_UNAVAILABLE otherwise. */
  async ping(): Promise<void> {
    await this.storage.version()
  }

  /** Closes the storage's connection (Redis); a file vault has none. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.storage.close()
  }

  private closed = false

  /**
   * Re-reads the vault if another process changed it. Returns whether the snapshot changed. What
   * is not authentic, or not the same vault, or an older copy of it, is refused (`failure`), and
   * the last authentic snapshot stays.
   */
  async reload(): Promise<boolean> {
    // Unreachable (Redis down) throws here and is not recorded: `ping` reports that on its own.
    const stored = await this.storage.version()
    if (stored === this.version) {
      this.failure = undefined
      return false
    }

    if (stored === this.rejected && this.failure) throw this.failure
    try {
      const {bytes, version} = await this.storage.read()
      this.adopt(await readDocument(bytes, this.key, this.path, this.options), version)
      this.failure = undefined
      this.rejected = undefined
      return true
    } catch (error) {
      if (error instanceof VaultError && error.code !== 'VAULT_UNAVAILABLE') {
        this.failure = error
        this.rejected = stored
      }

      throw error
    }
  }

  /** Calls `onChange` soon after another writer changes the vault (Redis); false for a file. */
  async watch(onChange: () => void): Promise<boolean> {
    if (!this.storage.watch) return false
    await this.storage.watch(onChange)
    return true
  }

  /**
   * The key that opened this vault, for `serve` to hand to its worker processes over IPC (so a
   * passphrase is asked for once). Keep it in memory only.
   */
  unlockKey(): VaultKey {
    return this.key
  }

  /** The public keys of the identities that opened this vault (none for a passphrase). */
  async openedBy(): Promise<string[]> {
    const {recipientOf} = await import('./age.js')
    return Promise.all((this.key.identities ?? []).map((id) => recipientOf(id)))
  }

  /**
   * Re-seals the vault (`vault rekey`): `change` sets `doc.age`, and `key` replaces the key
   * when the vault moves to a passphrase or to a new identity. Stored atomically like any
   * update; on failure the old vault stays.
   */
  async rekey(
    change: (doc: VaultDocument) => void,
    key: VaultKey,
    options: {newSigningKey: () => boolean},
  ): Promise<void> {
    await this.write(change, key, options.newSigningKey)
    this.key = key
  }

  /** Signs a vault written before vaults were signed (opened with `legacy`); a no-op write otherwise. */
  async upgrade(): Promise<Authenticity> {
    await this.update(() => {})
    return this.authenticity!
  }

  /**
   * Applies `change` to the newest document and stores the result atomically. If `change`
   * throws, nothing is written. With Redis, `change` runs again if another writer came first.
   */
  async update<T>(change: (doc: VaultDocument) => Promise<T> | T): Promise<T> {
    return this.write(change, this.key, () => false)
  }

  /**
   * The one write path. The newest stored document is checked like any read before `change`
   * sees it (a forged document is never signed over); the result is signed as the next serial,
   * by this holder and with a new vault key when `newSigningKey()` says so after `change` (a
   * re-key that removes someone) or when the document had none (an upgrade).
   */
  private async write<T>(
    change: (doc: VaultDocument) => Promise<T> | T,
    sealWith: VaultKey,
    newSigningKey: () => boolean,
  ): Promise<T> {
    let result: T
    let written: VaultDocument
    this.version = await this.storage.commit(async (version, bytes) => {
      if (version !== this.version)
        this.adopt(await readDocument(await bytes(), this.key, this.path, this.options), version)
      const doc = structuredClone(this.doc)
      // (before `change`: a vault without a store key derives it from its clients)
      doc.storeKey ??= storeKeyOf(this.doc)
      result = await change(doc)
      const previous = (this.doc as Partial<VaultDocument>).auth?.serial ?? 0
      if (newSigningKey() || !(this.doc as Partial<VaultDocument>).auth) doc.auth = newAuth()
      doc.version = FORMAT_VERSION
      signDocument(doc, previous, sealWith)
      written = doc
      return sealDocument(doc, sealWith)
    })
    this.doc = written!
    this.authenticity = {by: 'derived', serial: written!.auth.serial, vaultId: written!.auth.vault_id}
    return result!
  }

  /**
   * Takes a newer document of this vault in place of the snapshot: the same vault id, and never
   * an older serial than one already seen (a replayed copy from before a client was removed or a
   * key rotated).
   */
  private adopt(next: {authenticity: Authenticity | undefined; doc: VaultDocument}, version: string): void {
    const seen = this.authenticity
    if (seen && next.authenticity) {
      if (next.authenticity.vaultId !== seen.vaultId) {
        throw new VaultError(
          'VAULT_NOT_AUTHENTIC',
          `vault ${this.path} is now signed by another vault id (${next.authenticity.vaultId}, not ${seen.vaultId}): another vault was put in its place, or it was re-keyed; keeping the one read before (restart to take a re-keyed vault)`,
        )
      }

      if (next.authenticity.serial < seen.serial) {
        throw new VaultError(
          'VAULT_NOT_AUTHENTIC',
          `vault ${this.path} went back to an older copy (write ${next.authenticity.serial}, after write ${seen.serial} was read): refused, keeping the newer one`,
        )
      }
    } else if (seen && !next.authenticity) {
      throw new VaultError('VAULT_NOT_AUTHENTIC', `vault ${this.path} was replaced by an unsigned document: refused`)
    }

    this.doc = next.doc
    this.authenticity = next.authenticity
    this.version = version
  }
}

/** Decrypts and parses a stored vault, and checks that a holder wrote it (./authenticity.ts). */
async function readDocument(
  bytes: Uint8Array,
  key: VaultKey,
  path: string,
  options: VaultOptions,
): Promise<{authenticity: Authenticity | undefined; doc: VaultDocument}> {
  const doc = parseDocument(await ageDecrypt(bytes, key, path), path)
  if (doc.version === 1 && options.legacy && (doc as Partial<VaultDocument>).auth === undefined)
    return {authenticity: undefined, doc}
  return {authenticity: checkAuthenticity(doc, key, {pinned: options.pinned ?? []}, path), doc}
}

/** Encrypts the document the way it says it is encrypted: to its recipients, or with the passphrase. */
async function sealDocument(doc: VaultDocument, key: VaultKey): Promise<Uint8Array> {
  const text = `${JSON.stringify(doc, null, 2)}\n`
  if (key.passphrase !== undefined) return ageEncrypt(text, {passphrase: key.passphrase})
  if (doc.age.recipients.length === 0)
    throw new VaultError('VAULT_CORRUPT', 'the vault names no age recipient to encrypt to')
  return ageEncrypt(text, {recipients: doc.age.recipients})
}
