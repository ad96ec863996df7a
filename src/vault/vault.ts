import {statSync} from 'node:fs'
import {mkdir, readFile, realpath, stat} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {ConflictError, VaultError} from '../core/errors.js'
import {ageDecrypt, ageEncrypt, type AgeKind, ageKind, type VaultKey} from './age.js'
import {parseDocument, type VaultDocument} from './format.js'
import {checkPrivateDir, removeStaleTemps, writeFileAtomic} from './fsutil.js'
import {FileLock} from './lock.js'

/** Finds the key for a vault once its kind is known (so a passphrase is only asked for when needed). */
export type KeyResolver = (kind: AgeKind, path: string) => Promise<VaultKey>

export interface VaultOptions {
  /** How long `update` waits for another process's lock before failing with VAULT_LOCKED. */
  lockTimeoutMs?: number
}

const DEFAULT_LOCK_TIMEOUT_MS = 15_000

/** Identifies one version of the file: every write renames a new inode into place. */
async function fileStamp(path: string): Promise<string> {
  const info = await stat(path, {bigint: true})
  return `${info.ino}:${info.mtimeNs}:${info.size}`
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (error) {
    const {code, message} = error as NodeJS.ErrnoException
    if (code === 'ENOENT') {
      throw new VaultError(
        'VAULT_NOT_FOUND',
        `no vault at ${path}: create one with \`jwtis init\`, or pass --vault PATH`,
      )
    }

    throw new VaultError('VAULT_NOT_FOUND', `cannot read vault ${path}: ${message}`)
  }
}

/**
 * The file a vault path names, symbolic links resolved once: the lock and every write then go
 * to the real file, so a linked vault stays linked and shares its lock with users of the target.
 */
export async function resolveVaultPath(path: string): Promise<string> {
  try {
    return await realpath(path)
  } catch {
    // Not there yet (init): resolve the directory, if it exists, and keep the name.
    const dir = await realpath(dirname(path)).catch(() => dirname(path))
    return join(dir, basename(path))
  }
}

/**
 * The encrypted vault file. Reads give a snapshot; every change goes through `update`, which
 * takes the inter-process lock, re-reads the file, applies the change and writes it atomically,
 * so no caller can forget the lock or lose another process's update.
 */
export class Vault {
  private constructor(
    readonly path: string,
    private key: VaultKey,
    private doc: VaultDocument,
    private stamp: string,
    private readonly options: VaultOptions,
  ) {}

  /** How the file is sealed now: a passphrase, or the X25519 recipients the document lists. */
  get kind(): AgeKind {
    return this.key.passphrase === undefined ? 'x25519' : 'scrypt'
  }

  /** The current snapshot. Treat it as read-only: change the vault with `update`. */
  get document(): Readonly<VaultDocument> {
    return this.doc
  }

  /** Creates a new vault file; never overwrites one (CONFLICT, exit 5). */
  static async create(given: string, doc: VaultDocument, key: VaultKey, options: VaultOptions = {}): Promise<Vault> {
    await mkdir(dirname(given), {mode: 0o700, recursive: true})
    const path = await resolveVaultPath(given)
    await checkPrivateDir(dirname(path), 'a vault')
    const bytes = await sealDocument(doc, key)
    if (!(await writeFileAtomic(path, bytes, true))) {
      throw new ConflictError('VAULT_EXISTS', `a vault already exists at ${path}; it was left as it is`)
    }

    return new Vault(path, key, doc, await fileStamp(path), options)
  }

  static async open(given: string, resolveKey: KeyResolver, options: VaultOptions = {}): Promise<Vault> {
    const path = await resolveVaultPath(given)
    await checkPrivateDir(dirname(path), 'the vault')
    const stampBefore = await fileStamp(path).catch(() => '')
    const bytes = await readBytes(path)
    const kind = ageKind(bytes)
    if (!kind) {
      throw new VaultError('VAULT_CORRUPT', `${path} is not an age-encrypted jwtis vault; it was left untouched`)
    }

    const key = await resolveKey(kind, path)
    const doc = parseDocument(await ageDecrypt(bytes, key, path), path)
    return new Vault(path, key, doc, stampBefore, options)
  }

  /**
   * Whether the file on disk is another version than this snapshot: one synchronous stat, cheap
   * enough for `serve` to ask on every request, so that a change made by another worker or
   * process is seen by the very next request.
   */
  changedOnDisk(): boolean {
    try {
      const info = statSync(this.path, {bigint: true})
      return `${info.ino}:${info.mtimeNs}:${info.size}` !== this.stamp
    } catch {
      return false
    }
  }

  /** Re-reads the file if another process changed it. Returns whether the snapshot changed. */
  async reload(): Promise<boolean> {
    const stamp = await fileStamp(this.path).catch(() => this.stamp)
    if (stamp === this.stamp) return false
    this.doc = parseDocument(await ageDecrypt(await readBytes(this.path), this.key, this.path), this.path)
    this.stamp = stamp
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
   * when the vault moves to a passphrase or to a new identity. Written atomically under the
   * lock like any update; on failure the old file stays.
   */
  async rekey(change: (doc: VaultDocument) => void, key: VaultKey = this.key): Promise<void> {
    await this.update(change, key)
    this.key = key
  }

  /**
   * Applies `change` to the newest document under the vault lock and writes the result
   * atomically. If `change` throws, nothing is written.
   */
  async update<T>(change: (doc: VaultDocument) => Promise<T> | T, sealWith: VaultKey = this.key): Promise<T> {
    const lock = await FileLock.acquire(`${this.path}.lock`, this.options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS)
    try {
      await removeStaleTemps(this.path)
      await this.reload()
      const doc = structuredClone(this.doc)
      const result = await change(doc)
      const bytes = await sealDocument(doc, sealWith)
      await lock.assertHeld()
      await writeFileAtomic(this.path, bytes)
      this.doc = doc
      this.stamp = await fileStamp(this.path)
      return result
    } finally {
      await lock.release()
    }
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
