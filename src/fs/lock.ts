import {randomBytes} from 'node:crypto'
import {linkSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {link, readFile, rename, stat, unlink} from 'node:fs/promises'
import {hostname} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'

import {VaultError} from '../common/errors.js'
import {checkOwnFile, processAlive, unwritable} from './files.js'

interface Holder {
  host: string
  nonce: string
  pid: number
  since: string
}

/** A holder on another host cannot be probed: after this long its lock is presumed dead. */
const FOREIGN_STALE_MS = 60_000
/** A lock file that is still empty or unreadable this long after its creation was left by a crash. */
const UNREADABLE_STALE_MS = 5000

/**
 * An exclusive lock between processes: a `PATH.lock` file created with O_EXCL that names its
 * holder. A holder that died (SIGKILL, power loss) is detected by its pid and its lock broken,
 * so a crash never blocks the vault for good. Breaking is itself race-free: the stale file is
 * renamed aside and checked to be the one judged stale before it is dropped.
 */
export class FileLock {
  private readonly me: Holder

  private constructor(readonly path: string) {
    this.me = {
      host: hostname(),
      nonce: randomBytes(12).toString('hex'),
      pid: process.pid,
      since: new Date().toISOString(),
    }
  }

  static async acquire(path: string, timeoutMs: number): Promise<FileLock> {
    const lock = new FileLock(path)
    const deadline = Date.now() + timeoutMs
    let wait = 5
    for (;;) {
      if (lock.tryCreate()) return lock
      await checkOwnFile(path, 'lock file')
      const holder = await lock.readHolder()
      if (await lock.isStale(holder)) {
        await lock.breakStale(holder)
        continue
      }

      if (Date.now() >= deadline) {
        const who = holder ? `process ${holder.pid} on ${holder.host} since ${holder.since}` : 'another process'
        throw new VaultError(
          'VAULT_LOCKED',
          `vault is locked by ${who}; retry, or if no jwtis process is running, remove ${path}`,
        )
      }

      await sleep(wait + Math.random() * wait)
      wait = Math.min(wait * 2, 100)
    }
  }

  /** Fails when the lock was broken under us (we were presumed dead): the caller must not commit. */
  async assertHeld(): Promise<void> {
    const holder = await this.readHolder()
    if (holder?.nonce !== this.me.nonce) {
      throw new VaultError(
        'VAULT_LOCKED',
        `lost the vault lock ${this.path} to another process; nothing was written, retry`,
      )
    }
  }

  /** (Synchronous inside, as taking it is: see tryCreate.) */
  async release(): Promise<void> {
    let holder: Holder | undefined
    try {
      holder = parseHolder(readFileSync(this.path, 'utf8'))
    } catch {}

    if (holder?.nonce === this.me.nonce) {
      try {
        unlinkSync(this.path)
      } catch {}
    }
  }

  private async breakStale(stale: Holder | undefined): Promise<void> {
    const aside = `${this.path}.${this.me.nonce}.stale`
    try {
      await rename(this.path, aside)
    } catch {
      return // someone else broke or released it first
    }

    const moved = await readHolderAt(aside)
    if (moved?.nonce !== stale?.nonce) {
      // We took a lock that was made after we judged the old one stale: put it back.
      await link(aside, this.path).catch(() => {})
    }

    await unlink(aside).catch(() => {})
  }

  private async isStale(holder: Holder | undefined): Promise<boolean> {
    if (!holder) {
      const info = await stat(this.path).catch(() => {})
      return info !== undefined && Date.now() - info.mtimeMs > UNREADABLE_STALE_MS
    }

    if (holder.host === this.me.host) return !processAlive(holder.pid)
    return Date.now() - Date.parse(holder.since) > FOREIGN_STALE_MS
  }

  private async readHolder(): Promise<Holder | undefined> {
    return readHolderAt(this.path)
  }

  /**
   * The holder is written to a temp file first and hard-linked into place (which fails when the
   * lock exists): a lock file is never seen empty, so a process killed while taking the lock
   * leaves either no lock or one naming it (stale at once, being dead), never one that holds
   * every writer off until it ages. Synchronous: three page-cache operations cost less than
   * the thread-pool round trips of their async forms, and `serve` takes a lock per rotation.
   */
  private tryCreate(): boolean {
    // (not .tmp: the vault sweeps its own temp files, and this one must live until linked)
    const temp = `${this.path}.${process.pid}.${this.me.nonce}.taking`
    try {
      writeFileSync(temp, JSON.stringify(this.me), {flag: 'wx', mode: 0o600})
      linkSync(temp, this.path)
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw unwritable(`cannot create lock ${this.path}`, error)
    } finally {
      try {
        unlinkSync(temp)
      } catch {}
    }
  }
}

async function readHolderAt(path: string): Promise<Holder | undefined> {
  try {
    return parseHolder(await readFile(path, 'utf8'))
  } catch {
    return undefined
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    const holder = JSON.parse(text) as Holder
    return typeof holder.nonce === 'string' && typeof holder.pid === 'number' ? holder : undefined
  } catch {
    return undefined
  }
}
