import {constants, statSync} from 'node:fs'
import {mkdir, open, realpath, stat} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {VaultError} from '../common/errors.js'
import {MAX_VAULT_BYTES} from '../common/limits.js'
import {checkPrivateDir, removeStaleTemps, writeFileAtomic} from '../fs/files.js'
import {FileLock} from '../fs/lock.js'
import {DEFAULT_LOCK_TIMEOUT_MS, type StorageOptions, type VaultStorage} from './storage.js'

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
    const lock = await FileLock.acquire(`${this.path}.lock`, this.options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, {
      queue: true,
    })
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
      // Opened without blocking, then checked: a FIFO (or a device) named as the vault would
      // otherwise wait forever for a writer, or be read without end.
      const fh = await open(this.path, constants.O_RDONLY | constants.O_NONBLOCK)
      try {
        const info = await fh.stat()
        if (!info.isFile())
          throw new VaultError(
            'VAULT_NOT_FOUND',
            `${this.path} is not a vault file (it is ${info.isDirectory() ? 'a directory' : 'a FIFO, socket or device'}): name the vault file with --vault PATH`,
          )
        if (info.size > MAX_VAULT_BYTES)
          throw new VaultError('VAULT_CORRUPT', `${this.path} is ${info.size} bytes: no vault is that large`)
        return await fh.readFile()
      } finally {
        await fh.close()
      }
    } catch (error) {
      if (error instanceof VaultError) throw error
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
