import {ConflictError, VaultError} from '../core/errors.js'
import {ageDecrypt, ageEncrypt, type AgeKind, ageKind, type VaultKey} from './age.js'
import {parseDocument, type VaultDocument} from './format.js'
import {openStorage, type StorageOptions, type VaultStorage} from './storage.js'

export {resolveVaultPath} from './storage.js'

/** Finds the key for a vault once its kind is known (so a passphrase is only asked for when needed). */
export type KeyResolver = (kind: AgeKind, path: string) => Promise<VaultKey>

export type VaultOptions = StorageOptions

/**
 * The encrypted vault, in a file or in Redis (./storage.ts). Reads give a snapshot; every change
 * goes through `update`, which applies it to the newest document and stores the result atomically
 * (under the file lock, or compare-and-set in Redis), so no caller can forget the lock or lose
 * another process's update.
 */
export class Vault {
  private constructor(
    private readonly storage: VaultStorage,
    private key: VaultKey,
    private doc: VaultDocument,
    private version: string,
  ) {}

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
  static async create(given: string, doc: VaultDocument, key: VaultKey, options: VaultOptions = {}): Promise<Vault> {
    const storage = await openStorage(given, options)
    try {
      const version = await storage.create(await sealDocument(doc, key))
      if (version === undefined)
        throw new ConflictError('VAULT_EXISTS', `a vault already exists at ${storage.location}; it was left as it is`)
      return new Vault(storage, key, doc, version)
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
      const doc = parseDocument(await ageDecrypt(bytes, key, storage.location), storage.location)
      return new Vault(storage, key, doc, version)
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
    return this.storage.changedSince(this.version)
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

  /** Re-reads the vault if another process changed it. Returns whether the snapshot changed. */
  async reload(): Promise<boolean> {
    if ((await this.storage.version()) === this.version) return false
    const {bytes, version} = await this.storage.read()
    this.doc = parseDocument(await ageDecrypt(bytes, this.key, this.path), this.path)
    this.version = version
    return true
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
  async rekey(change: (doc: VaultDocument) => void, key: VaultKey = this.key): Promise<void> {
    await this.update(change, key)
    this.key = key
  }

  /**
   * Applies `change` to the newest document and stores the result atomically. If `change`
   * throws, nothing is written. With Redis, `change` runs again if another writer came first.
   */
  async update<T>(change: (doc: VaultDocument) => Promise<T> | T, sealWith: VaultKey = this.key): Promise<T> {
    let result: T
    let written: VaultDocument
    this.version = await this.storage.commit(async (version, bytes) => {
      if (version !== this.version) {
        this.doc = parseDocument(await ageDecrypt(await bytes(), this.key, this.path), this.path)
        this.version = version
      }

      const doc = structuredClone(this.doc)
      result = await change(doc)
      written = doc
      return sealDocument(doc, sealWith)
    })
    this.doc = written!
    return result!
  }
}

/** Encrypts the document the way it says it is encrypted: to its recipients, or with the passphrase. */
async function sealDocument(doc: VaultDocument, key: VaultKey): Promise<Uint8Array> {
  const text = `${JSON.stringify(doc, null, 2)}\n`
  if (key.passphrase !== undefined) return ageEncrypt(text, {passphrase: key.passphrase})
  if (doc.age.recipients.length === 0)
    throw new VaultError('VAULT_CORRUPT', 'the vault names no age recipient to encrypt to')
  return ageEncrypt(text, {recipients: doc.age.recipients})
}
