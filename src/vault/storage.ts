import {statSync} from 'node:fs'
import {mkdir, readFile, realpath, stat} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {VaultError} from '../core/errors.js'
import {isRedisUrl, redisUrl} from '../redis/url.js'
import {checkPrivateDir, removeStaleTemps, writeFileAtomic} from './fsutil.js'
import {FileLock} from './lock.js'

/**
 * Where the sealed vault lives: a file, or a key in Redis. Storage only ever sees age-sealed
 * bytes and an opaque version; it never decrypts. Every write is `commit`: the newest bytes go
 * in, the bytes to store come out, and the storage makes that atomic against every other writer
 * (a file lock and an atomic rename; a compare-and-set on the version in Redis).
 */
export interface VaultStorage {
  /** Whether the stored version may differ from `version`, without I/O (asked on every request). */
  changedSince(version: string): boolean
  close(): Promise<void>
  /**
   * Runs `produce` on the newest stored version and stores what it returns; `produce` may run
   * more than once (Redis: after losing a race), always on the newest version. Returns the new
   * version.
   */
  commit(produce: (version: string, bytes: () => Promise<Uint8Array>) => Promise<Uint8Array>): Promise<string>
  /** Stores the first version; undefined when a vault is already there (it is left as it is). */
  create(bytes: Uint8Array): Promise<string | undefined>
  readonly kind: 'file' | 'redis'
  /** For people: a path, or a Redis URL without its password. */
  readonly location: string
  read(): Promise<{bytes: Uint8Array; version: string}>
  /** What opens this storage again (a path, or the whole URL): keep it in memory only. */
  readonly source: string
  /** The stored version, '' when there is none; cheap. */
  version(): Promise<string>
  /** Calls `onChange` soon after another writer commits (Redis pub/sub); absent for files. */
  watch?(onChange: () => void): Promise<void>
}

export interface StorageOptions {
  /** How long a write waits for other writers (the file lock, or Redis races) before VAULT_LOCKED. */
  lockTimeoutMs?: number
}

export const DEFAULT_LOCK_TIMEOUT_MS = 15_000

/** The storage a vault location names: a redis:// or rediss:// URL, or a file path. */
export async function openStorage(given: string, options: StorageOptions = {}): Promise<VaultStorage> {
  if (isRedisUrl(given)) {
    const {RedisStorage} = await import('./redis.js')
    return RedisStorage.connect(redisUrl(given), options)
  }

  return FileStorage.at(given, options)
}

/**
 * A vault file. Its version is the inode, mtime and size: every write renames a new inode into
 * place, so any change shows.
 */
export class FileStorage implements VaultStorage {
  readonly kind = 'file'

  private constructor(
    readonly path: string,
    private readonly options: StorageOptions,
  ) {}

  get location(): string {
    return this.path
  }

  get source(): string {
    return this.path
  }

  /** Symbolic links resolved once: the lock and every write then go to the real file. */
  static async at(given: string, options: StorageOptions = {}): Promise<FileStorage> {
    return new FileStorage(await resolveVaultPath(given), options)
  }

  changedSince(version: string): boolean {
    try {
      return stampOf(statSync(this.path, {bigint: true})) !== version
    } catch {
      return false
    }
  }

  async close(): Promise<void> {}

  async commit(produce: (version: string, bytes: () => Promise<Uint8Array>) => Promise<Uint8Array>): Promise<string> {
    const lock = await FileLock.acquire(`${this.path}.lock`, this.options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS)
    try {
      await removeStaleTemps(this.path)
      const bytes = await produce(await this.version(), () => this.readBytes())
      await lock.assertHeld()
      await writeFileAtomic(this.path, bytes)
      return await this.version()
    } finally {
      await lock.release()
    }
  }

  async create(bytes: Uint8Array): Promise<string | undefined> {
    await mkdir(dirname(this.path), {mode: 0o700, recursive: true})
    await checkPrivateDir(dirname(this.path), 'a vault')
    if (!(await writeFileAtomic(this.path, bytes, true))) return undefined
    return this.version()
  }

  async read(): Promise<{bytes: Uint8Array; version: string}> {
    await checkPrivateDir(dirname(this.path), 'the vault')
    // The version before the bytes: a write in between makes the next check read again.
    const version = await this.version()
    return {bytes: await this.readBytes(), version}
  }

  async version(): Promise<string> {
    return stat(this.path, {bigint: true}).then(stampOf, () => '')
  }

  private async readBytes(): Promise<Uint8Array> {
    try {
      return await readFile(this.path)
    } catch (error) {
      const {code, message} = error as NodeJS.ErrnoException
      if (code === 'ENOENT') {
        throw new VaultError(
          'VAULT_NOT_FOUND',
          `no vault at ${this.path}: create one with \`jwtis init\`, or name yours with --vault PATH, JWTIS_VAULT or \`jwtis config set vault PATH\``,
        )
      }

      throw new VaultError('VAULT_NOT_FOUND', `cannot read vault ${this.path}: ${message}`)
    }
  }
}

const stampOf = (info: {ino: bigint; mtimeNs: bigint; size: bigint}) => `${info.ino}:${info.mtimeNs}:${info.size}`

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
