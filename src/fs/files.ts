import {randomBytes} from 'node:crypto'
import {renameSync, unlinkSync, writeFileSync} from 'node:fs'
import {access, constants, link, lstat, mkdir, open, readdir, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {UsageError, VaultError} from '../common/errors.js'

/** Whether a process with this pid is running on this host (EPERM: it is, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

const tempPrefix = (path: string) => `.${basename(path)}.`

/**
 * Writes `data` to `path` so that a crash at any instant leaves either the old file or the new
 * one: write a temp file beside it, fsync it, rename it over `path` (or, with `exclusive`,
 * hard-link it, which fails if `path` exists: no check-then-write race), fsync the directory.
 * Returns false when `exclusive` and the file already existed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, exclusive = false): Promise<boolean> {
  const dir = dirname(path)
  const temp = join(dir, `${tempPrefix(path)}${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    const fh = await open(temp, 'wx', 0o600)
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }

    if (exclusive) {
      try {
        await link(temp, path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
        throw error
      }
    } else {
      await rename(temp, path)
    }

    await fsyncDir(dir)
    return true
  } catch (error) {
    // A full disk, a read-only or vanished directory: the old file is untouched (only the temp
    // file was being written), and the user learns which path and why, in one line.
    throw unwritable(`cannot write ${path}`, error)
  } finally {
    await unlink(temp).catch(() => {})
  }
}

/**
 * writeFileAtomic's atomicity without its durability, and synchronously: for a file whose
 * content a journal has already made durable (see store/journal.ts), where the page cache is all
 * that is asked and a thread-pool hop would cost more than the write itself.
 */
export function replaceFileSync(path: string, data: string): void {
  const temp = join(dirname(path), `${tempPrefix(path)}${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    writeFileSync(temp, data, {flag: 'wx', mode: 0o600})
    renameSync(temp, path)
  } catch (error) {
    try {
      unlinkSync(temp)
    } catch {}

    throw unwritable(`cannot write ${path}`, error)
  }
}

/**
 * A write the file system refused (full, read-only, no permission): VAULT_UNWRITABLE, exit 3,
 * saying what could not be done and why in words; `cause` keeps the errno for callers.
 */
export function unwritable(what: string, reason: unknown, cause: unknown = reason): VaultError {
  return new VaultError('VAULT_UNWRITABLE', `${what}: ${describeFsError(reason)}`, {cause})
}

/** Makes `dir` (and its parents) 0700; a refusal is VAULT_UNWRITABLE naming the directory and why. */
export async function makePrivateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, {mode: 0o700, recursive: true})
  } catch (error) {
    // A recursive mkdir says ENOENT where the file system refused (read-only): ask the parent.
    const reason = await access(dirname(dir), constants.W_OK).then(
      () => error,
      (parentError: unknown) => parentError,
    )
    throw unwritable(`cannot create ${dir}`, reason, error)
  }
}

/** Removes temp files left beside `path` by writers that died before their rename. */
export async function removeStaleTemps(path: string): Promise<void> {
  const prefix = tempPrefix(path)
  const names = await readdir(dirname(path)).catch(() => [] as string[])
  await Promise.all(
    names
      .filter((name) => name.startsWith(prefix) && name.endsWith('.tmp'))
      .filter((name) => !processAlive(Number(name.slice(prefix.length).split('.')[0])))
      .map((name) => unlink(join(dirname(path), name)).catch(() => {})),
  )
}

/**
 * A path as an error may show it. What reads as key material or a document (a JWK, a PEM block,
 * several lines) was given where a path belongs: it may be secret, so it is not repeated.
 */
export function shownPath(path: string): string {
  return path.length > 1024 || /[\n{}]|-----BEGIN /.test(path)
    ? 'the value given (not shown: it is not a file path but looks like a key or a document)'
    : path
}

/**
 * Reads a file, stopping at `limit` bytes: `/dev/zero` or a huge file is refused after reading
 * one byte past the limit, not loaded whole. The error names the path (see shownPath) and says
 * what went wrong.
 */
export async function readBounded(path: string, limit: number, what: string): Promise<Buffer> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (error) {
    throw new UsageError(`cannot read ${what} from ${shownPath(path)}: ${describeFsError(error)}`)
  }

  try {
    const buffer = Buffer.alloc(limit + 1)
    let size = 0
    while (size <= limit) {
      const {bytesRead} = await fh.read(buffer, size, limit + 1 - size, null)
      if (bytesRead === 0) break
      size += bytesRead
    }

    if (size > limit) throw tooLarge(what, shownPath(path), limit)
    return buffer.subarray(0, size)
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError(`cannot read ${what} from ${shownPath(path)}: ${describeFsError(error)}`)
  } finally {
    await fh.close()
  }
}

/** "no such file", "permission denied", "is a directory": what a person can act on. */
export function describeFsError(error: unknown): string {
  const {code} = error as NodeJS.ErrnoException
  switch (code) {
    case 'EACCES':
    case 'EPERM': {
      return 'permission denied'
    }

    case 'EDQUOT': {
      return 'disk quota exceeded'
    }

    case 'EISDIR': {
      return 'it is a directory'
    }

    case 'ENOENT': {
      return 'no such file'
    }

    case 'ENOSPC': {
      return 'no space left on device'
    }

    case 'EROFS': {
      return 'read-only file system'
    }

    default: {
      return code ?? (error as Error).message
    }
  }
}

/** An input over its cap: refused, and read no further. */
export const tooLarge = (what: string, where: string, limit: number): UsageError =>
  new UsageError(`${what} from ${where} is over ${Math.round(limit / 1024)} KiB: refused`)

const myUid = (): number | undefined => process.getuid?.()

/** Why `path` is not safe to trust, or undefined when it is. */
function unsafeReason(info: {mode: number; uid: number}, isDir: boolean): string | undefined {
  const uid = myUid()
  if (uid === undefined) return undefined // no POSIX owners (Windows)
  if (info.uid !== uid && info.uid !== 0) return `it is owned by another user (uid ${info.uid})`
  if (isDir && info.mode & 0o022) return 'other users can write to it'
  return undefined
}

/**
 * As ssh treats ~/.ssh: a directory holding a vault, its lock or its token state must belong to
 * this user (or root) and be writable by no one else, or another user could plant a lock that
 * blocks every write, or swap the files. Refused with one line that says what to do.
 */
export async function checkPrivateDir(dir: string, what: string): Promise<void> {
  let info
  try {
    info = await lstat(dir)
  } catch {
    return // made by us, with mode 0700, when first needed
  }

  const reason = unsafeReason(info, true)
  if (reason) {
    throw new VaultError(
      'VAULT_UNSAFE',
      `refusing to use ${what} in ${dir}: ${reason}; keep it in a directory only you can write (mkdir -m 700 DIR)`,
    )
  }
}

/** A lock or state file another user made is refused at once rather than waited on forever. */
export async function checkOwnFile(path: string, what: string): Promise<void> {
  let info
  try {
    info = await lstat(path)
  } catch {
    return
  }

  const reason = info.isSymbolicLink() ? 'it is a symbolic link' : unsafeReason(info, false)
  if (reason) {
    throw new VaultError(
      'VAULT_UNSAFE',
      `refusing to use ${what} ${path}: ${reason}; remove it if no jwtis process of yours is running`,
    )
  }
}
