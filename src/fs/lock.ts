import {randomBytes} from 'node:crypto'
import {linkSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs'
import {link, readdir, readFile, rename, stat, unlink, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {basename, dirname, join} from 'node:path'
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
/** A waiter first in line that leaves the lock free this long is presumed stopped, and passed over. */
const HEAD_STUCK_MS = 2000

/**
 * An exclusive lock between processes: a `PATH.lock` file created with O_EXCL that names its
 * holder. A holder that died (SIGKILL, power loss) is detected by its pid and its lock broken,
 * so a crash never blocks the vault for good. Breaking is itself race-free: the stale file is
 * renamed aside and checked to be the one judged stale before it is dropped.
 */
export class FileLock {
  private readonly me: Holder
  /** Our waiter file while we wait in line for the lock. */
  private waiting: string | undefined

  private constructor(readonly path: string) {
    this.me = {
      host: hostname(),
      nonce: randomBytes(12).toString('hex'),
      pid: process.pid,
      since: new Date().toISOString(),
    }
  }

  /**
   * Takes the lock, waiting for other holders. With `queue`, waiters take it in the order they
   * came (see waitInLine): a writer among many then waits for those ahead of it, not for luck.
   * Without, whoever tries first after a release gets it: fine where contention is rare (one
   * token family), and it costs no directory listing.
   */
  static async acquire(path: string, timeoutMs: number, options: {queue?: boolean} = {}): Promise<FileLock> {
    const lock = new FileLock(path)
    return options.queue ? lock.waitInLine(timeoutMs) : lock.waitAnyOrder(timeoutMs)
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

  /** Waiters are files beside the lock, named so that sorting them is their order of arrival. */
  private get waitPrefix(): string {
    return `${basename(this.path)}.wait.`
  }

  /**
   * How many waiters are ahead of us (all of them, before we join the line), and the first
   * live one. Dead waiters at the front are dropped (one that cannot be removed, in a directory
   * gone read-only, is skipped all the same); a dead waiter further back holds no one up, and is
   * dropped when it comes first.
   */
  private async lineAhead(): Promise<{ahead: number; head?: string}> {
    const dir = dirname(this.path)
    const names = (await readdir(dir).catch(() => [] as string[]))
      .filter((name) => name.startsWith(this.waitPrefix))
      .sort()
    const waiting = this.waiting && basename(this.waiting)
    let mine = waiting ? names.indexOf(waiting) : names.length
    if (waiting && mine === -1) {
      // dropped, taken for dead or stopped: back in our place, alive as of now
      this.me.since = new Date().toISOString()
      await writeFile(this.waiting!, JSON.stringify(this.me), {mode: 0o600}).catch(() => {})
      mine = names.findIndex((name) => name > waiting)
      if (mine === -1) mine = names.length
    }

    const ahead = names.slice(0, mine)
    for (const [i, name] of ahead.entries()) {
      const path = join(dir, name)
      if (!(await this.isStale(await readHolderAt(path), path))) return {ahead: ahead.length - i, head: path}
      await unlink(path).catch(() => {})
    }

    return {ahead: 0}
  }

  /**
   * The old loop: try, back off, try again. The deadline is fixed: used for locks that are held
   * for a moment (a family rotation), where waiting long means something is wrong.
   */
  private async waitAnyOrder(timeoutMs: number): Promise<this> {
    const deadline = Date.now() + timeoutMs
    let wait = 5
    for (;;) {
      if (this.tryCreate()) return this
      const {broken, holder} = await this.lookAtLock()
      if (broken) continue
      if (Date.now() >= deadline) throw this.lockedBy(holder)
      await sleep(wait + Math.random() * wait)
      wait = Math.min(wait * 2, 100)
    }
  }

  /**
   * A fair lock for the vault, where eight CLI writers at once are a normal day in CI. A writer
   * that finds the lock taken (or others waiting) writes a waiter file beside it, named by its
   * arrival time, and takes the lock only when no live waiter is ahead of it. Without this,
   * every newcomer's first try raced the waiters' backed-off retries, and one writer could lose
   * for 15 s while others wrote hundreds of times.
   *
   * It gives up with VAULT_LOCKED only when the lock did not change hands for `timeoutMs`. A
   * waiter ahead that is dead is dropped (its pid, as for the lock); one that is alive but does
   * not take a free lock (stopped with Ctrl-Z) is passed over after HEAD_STUCK_MS and dropped.
   */
  private async waitInLine(timeoutMs: number): Promise<this> {
    if ((await this.lineAhead()).ahead === 0 && this.tryCreate()) return this
    await this.joinLine()
    try {
      const timedOut = progressDeadline(timeoutMs)
      let freeSince: number | undefined
      for (;;) {
        const {ahead, head} = await this.lineAhead()
        const now = Date.now()
        const passOver = freeSince !== undefined && now - freeSince > HEAD_STUCK_MS
        if ((ahead === 0 || passOver) && this.tryCreate()) {
          // out of the line, or it costs every later writer 2 s; it takes its place back when it runs again
          if (ahead > 0 && head) await unlink(head).catch(() => {})
          return this
        }

        const {broken, free, holder} = await this.lookAtLock()
        if (broken) continue
        freeSince = free ? (freeSince ?? now) : undefined
        if (timedOut(free ? 'free' : (holder?.nonce ?? 'unreadable'), ahead, now)) throw this.lockedBy(holder)
        // the head watches closely (the lock is idle until it looks); the rest only for their turn
        await sleep(ahead === 0 ? 2 + Math.random() * 3 : 10 + Math.random() * 20)
      }
    } finally {
      if (this.waiting) await unlink(this.waiting).catch(() => {})
      this.waiting = undefined
    }
  }

  /** Writes our waiter file, named by our arrival time. */
  private async joinLine(): Promise<void> {
    this.waiting = join(
      dirname(this.path),
      `${this.waitPrefix}${String(Date.now()).padStart(15, '0')}.${this.me.nonce}`,
    )
    try {
      await writeFile(this.waiting, JSON.stringify(this.me), {flag: 'wx', mode: 0o600})
    } catch (error) {
      // (a full disk can leave it made but empty: it is ours, by its nonce)
      await unlink(this.waiting).catch(() => {})
      this.waiting = undefined
      throw unwritable(`cannot wait for lock ${this.path}`, error)
    }
  }

  /** Whether the lock is free, and its holder when it names one; a stale lock is broken (look again). */
  private async lookAtLock(): Promise<{broken?: boolean; free: boolean; holder?: Holder}> {
    await checkOwnFile(this.path, 'lock file')
    let holder: Holder | undefined
    try {
      holder = parseHolder(await readFile(this.path, 'utf8'))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {free: true}
    }

    if (!(await this.isStale(holder))) return {free: false, holder}
    await this.breakStale(holder)
    return {broken: true, free: false}
  }

  private lockedBy(holder: Holder | undefined): VaultError {
    const who = holder ? `process ${holder.pid} on ${holder.host} since ${holder.since}` : 'another process'
    return new VaultError(
      'VAULT_LOCKED',
      `vault is locked by ${who}; retry, or if no jwtis process is running, remove ${this.path}`,
    )
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

  private async isStale(holder: Holder | undefined, path = this.path): Promise<boolean> {
    if (!holder) {
      const info = await stat(path).catch(() => {})
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
    // since it was taken, not since we began to wait: another host judges a holder by it
    this.me.since = new Date().toISOString()
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

/**
 * Whether a waiter has waited `timeoutMs` without progress, asked with what it sees at each
 * look. Progress is the lock changing hands: seen, or between two looks (a waiter ahead took and
 * left a free lock). A waiter ahead giving up behind a stuck holder is not progress.
 */
function progressDeadline(timeoutMs: number): (state: string, ahead: number, now: number) => boolean {
  let deadline = Date.now() + timeoutMs
  let seen: string | undefined
  let fewestAhead = Number.POSITIVE_INFINITY
  return (state, ahead, now) => {
    if (state !== seen || (state === 'free' && ahead < fewestAhead)) deadline = now + timeoutMs
    seen = state
    fewestAhead = Math.min(fewestAhead, ahead)
    return now >= deadline
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
