import {randomBytes} from 'node:crypto'
import {link, open, readdir, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

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
  const fh = await open(temp, 'wx', 0o600)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }

  try {
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
  } finally {
    await unlink(temp).catch(() => {})
  }

  await fsyncDir(dir)
  return true
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
