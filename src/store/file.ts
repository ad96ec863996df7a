import {createHash} from 'node:crypto'
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import {access, readdir, readFile, unlink} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import type {Journal} from './journal.js'

import {StoreError} from '../common/errors.js'
import {checkPrivateDir, describeFsError, makePrivateDir, replaceFileSync, writeFileAtomic} from '../fs/files.js'
import {FileLock} from '../fs/lock.js'
import {BOOT_ID, shortWrite, toLines, unwritable} from './lines.js'
import {
  checkNamespace,
  cutoffKey,
  type Family,
  type FamilyStatus,
  hashedCutoffKey,
  judge,
  type StoredFamily,
  subjectCutoff,
  subjectIds,
  type TokenStore,
} from './store.js'

const LOCK_TIMEOUT_MS = 10_000

/**
 * A family as this store writes it. `n` counts its changes since it was made: a journal replayed
 * after an OS crash writes back a version of a family only over an older one, whatever another
 * process wrote since.
 */
type FileFamily = StoredFamily & {n?: number}

/** Each `create` tidies one random bucket with this probability, so expired families go away without a sweep. */
const COMPACT_CHANCE = 1 / 32
/**
 * ...but a bucket this store tidied less than this long ago is left alone: families expire
 * after minutes at the least, and under load a bucket's log would otherwise be rewritten every
 * few seconds for nothing (a rename, a copy and an unlink per 32 issues).
 */
const COMPACT_EVERY_MS = 60_000

/**
 * Token state on disk beside the vault: families fanned out over 4096 buckets, plus one file of
 * subject cut-offs. A family changed since it was made (rotated, revoked) is a small JSON file
 * of its own, written under that file's lock (replaced whole, or in `serve` a version appended:
 * see appendVersion), so operations on different families never
 * wait for each other. Writes are atomic and fsynced before an operation returns, so a crash
 * never loses a rotation that was reported.
 *
 * A family made by `serve` is first a line of its bucket's `created.log` (see CREATED_LOG):
 * creating a file per family costs the kernel an inode and two directory updates, which at
 * thousands of issues a second cost more than the signing. Its own file, once it has one,
 * supersedes that line. Lookups cost one bucket, never the whole store, so a short-lived CLI
 * process pays nothing for the number of families.
 *
 * Subjects are kept only as their ids (see subjectIds), in families and in cut-offs alike.
 */
export class FileStore implements TokenStore {
  /** Serializes operations on one family within this process, so they queue instead of polling the lock. */
  /** Bucket directories known to exist, so that a create does not ask again. */
  private readonly buckets = new Set<string>()
  /** The cut-offs file as last read, with the stat that identifies that version of it. */
  private cutoffCache?: {stamp: string; value: Record<string, number>}
  private journal?: Journal
  private readonly queues = new Map<string, Promise<unknown>>()
  private safe?: Promise<void>
  /** When (the caller's clock) this store last tidied each bucket on `create`. */
  private readonly tidied = new Map<string, number>()
  private readonly subjectId: (client: string, sub: string) => string
  private readonly groupCommit: boolean

  /**
   * `storeKey`: the vault's (see storeKeyOf). `groupCommit` (what `serve` uses): every write of
   * a family is made durable by a journal with one fsync per tick for all of them (see
   * ./journal.ts), not two fsyncs each; new families go into their bucket's log.
   */
  constructor(
    readonly dir: string,
    options: {groupCommit?: boolean; storeKey: string},
  ) {
    this.subjectId = subjectIds(options.storeKey)
    // A journal is replayed after an OS crash by its boot id (Linux's): without one, writes
    // are fsynced one by one.
    this.groupCommit = Boolean(options.groupCommit) && existsSync(BOOT_ID)
  }

  /**
   * Once per store: its directory must be this user's alone (see checkPrivateDir), families
   * journaled before an OS crash are written back if the crash lost them, and cut-offs recorded
   * before subjects were hashed are rewritten without the subjects (when the disk lets us: they
   * are read right either way, see parseCutoffs).
   */
  private async checkSafe(): Promise<void> {
    this.safe ??= (async () => {
      await checkPrivateDir(this.dir, 'the token store')
      await this.replayJournals()
      const text = await readFile(this.cutoffsPath, 'utf8').catch(() => '')
      if (text.includes(String.raw`\u0000`)) await this.changeCutoffs(() => {}).catch(() => {})
    })().catch((error) => {
      this.safe = undefined
      throw error
    })
    return this.safe
  }

  private async replayJournals(): Promise<void> {
    const {journalRecords} = await import('./journal.js')
    const {files, records} = await journalRecords<FileFamily>(this.dir)
    if (files.length === 0) return
    const latest = new Map<string, FileFamily>()
    for (const family of records) {
      if ((family.n ?? 0) >= (latest.get(family.fam)?.n ?? 0)) latest.set(family.fam, family)
    }

    const now = Date.now()
    for (const family of latest.values()) {
      if (family.sexp <= now) continue
      // (locked, not exclusive: this runs inside the first-use checks exclusive waits for)
      await this.locked(family.fam, async () => {
        let found: FileFamily | undefined
        try {
          found = this.readNow(family.fam)
        } catch {} // a file the crash left torn: the journal's version replaces it

        if (!found || (family.n ?? 0) > (found.n ?? 0)) await this.write(family)
      })
    }

    for (const file of files) await unlink(file).catch(() => {})
  }

  async check(fam: string, presented: string, now: number, fingerprint?: string): Promise<FamilyStatus> {
    return this.apply(fam, presented, now, undefined, fingerprint)
  }

  /**
   * A claim is a file `once/NAMESPACE/BUCKET/ID` holding its expiry, created with a hard link
   * (which fails if it exists): one process wins, whatever the others do. An expired one is
   * replaced under its lock, re-read there so that of two replacers only the first wins.
   */
  async claimOnce(namespace: string, id: string, expiresAt: number, now: number): Promise<boolean> {
    checkNamespace(namespace)
    await this.checkSafe()
    const path = this.oncePath(namespace, id)
    await makePrivateDir(dirname(path))
    if (await writeFileAtomic(path, String(expiresAt), true)) return true
    return this.locked(
      path,
      async () => {
        if (claimedUntil(path) > now) return false
        await writeFileAtomic(path, String(expiresAt))
        return true
      },
      `${path}.lock`,
    )
  }

  async claimed(namespace: string, id: string, now: number): Promise<boolean> {
    checkNamespace(namespace)
    await this.checkSafe()
    return claimedUntil(this.oncePath(namespace, id)) > now
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.values())
    await this.journal?.close()
  }

  async compact(now: number): Promise<number> {
    const buckets = await readdir(join(this.dir, 'families')).catch(() => [] as string[])
    let dropped = 0
    for (const bucket of buckets) dropped += await this.compactBucket(bucket, now)
    await this.compactOnce(now)
    return dropped
  }

  /** Drops expired claims (each under its lock, so that none is dropped as it is being renewed). */
  private async compactOnce(now: number): Promise<void> {
    const root = join(this.dir, 'once')
    const paths = await readdir(root, {recursive: true}).catch(() => [] as string[])
    // claims only: not their directories, locks or the temp files of a claim being written
    const claims = paths.filter((p) => p.split('/').length === 3 && !p.endsWith('.lock') && !/\/\.[^/]*$/.test(p))
    for (const name of claims) {
      const path = join(root, name)
      await this.locked(
        path,
        async () => {
          if (claimedUntil(path) <= now) await unlink(path).catch(() => {})
        },
        `${path}.lock`,
      )
    }
  }

  /**
   * A new family needs no lock: its id is fresh and random, and the file appears whole (written
   * aside, fsynced, then linked into place) or not at all.
   */
  async create(given: Family): Promise<void> {
    await this.checkSafe()
    const family = this.stored(given)
    if (this.groupCommit) {
      const journal = await this.openJournal()
      await journal.append(family, () => this.appendCreated(family))
    } else {
      await this.write(family)
    }

    // The family's creation time is the caller's clock (the issuer's, injectable), never the
    // wall clock: judged by another clock, a family could be dropped as it is made.
    const bucket = bucketOf(family.fam)
    const last = this.tidied.get(bucket)
    if (Math.random() < COMPACT_CHANCE && (last === undefined || family.created - last >= COMPACT_EVERY_MS)) {
      this.tidied.set(bucket, family.created)
      await this.compactBucket(bucket, family.created)
    }
  }

  async cutoff(client: string, sub: string): Promise<number> {
    await this.checkSafe()
    const cutoffs = this.cutoffsNow()
    return subjectCutoff((key) => cutoffs[key], client, hashedCutoffKey(this.subjectId(client, sub)))
  }

  async get(fam: string): Promise<StoredFamily | undefined> {
    await this.checkSafe()
    return this.readNow(fam)
  }

  async ping(): Promise<void> {
    await this.checkSafe()
    try {
      await makePrivateDir(this.dir)
      await access(this.dir, constants.W_OK)
    } catch (error) {
      throw new StoreError(
        'STORE_UNAVAILABLE',
        `the token store ${this.dir} is not writable: ${(error as Error).message}`,
      )
    }
  }

  async revoke(fam: string): Promise<boolean> {
    return this.exclusive(fam, async () => {
      const family = this.readNow(fam)
      if (!family) return false
      if (!family.revoked) await this.change({...family, revoked: true})
      return true
    })
  }

  async revokeSubject(client: string, sub: string | undefined, at: number): Promise<void> {
    await this.checkSafe()
    const key = sub === undefined ? cutoffKey(client) : hashedCutoffKey(this.subjectId(client, sub))
    await this.changeCutoffs((cutoffs) => {
      cutoffs[key] = Math.max(at, cutoffs[key] ?? 0)
    })
  }

  async rotate(fam: string, presented: string, next: string, now: number, fingerprint?: string): Promise<FamilyStatus> {
    return this.apply(fam, presented, now, next, fingerprint)
  }

  private async apply(
    fam: string,
    presented: string,
    now: number,
    next?: string,
    fingerprint?: string,
  ): Promise<FamilyStatus> {
    // A check that changes nothing reads without the lock: every write replaces a file whole
    // (rename), so what is read is one version or the other, and judging that version is what
    // a locked check would have done a moment earlier or later. Anything that writes (a
    // rotation, a revocation) re-reads and re-judges under the lock below.
    if (next === undefined) {
      await this.checkSafe()
      const family = this.readNow(fam)
      const {revoke, status} = judge(family, presented, this.familyCutoff(family), now, fingerprint)
      if (!revoke && !(status === 'unknown' && family)) return status
    }

    return this.exclusive(fam, async () => {
      const family = this.readNow(fam)
      const {revoke, status} = judge(family, presented, this.familyCutoff(family), now, fingerprint)
      if (revoke) await this.change({...family!, revoked: true})
      else if (status === 'ok' && next !== undefined) await this.change({...family!, current: next})
      else if (status === 'unknown' && family) await unlink(this.path(fam)).catch(() => {})
      return status
    })
  }

  /**
   * Writes a changed family (its lock held). In `serve` (group commit) its record is journaled
   * with the others of its tick and the file replaced without an fsync once the record is
   * durable; elsewhere the file is replaced and fsynced before this returns.
   */
  private async change(family: FileFamily): Promise<void> {
    const changed = {...this.stored(family), n: (family.n ?? 0) + 1}
    if (!this.groupCommit) return this.write(changed)
    const journal = await this.openJournal()
    // a version written with the subject in clear must not stay in the file beneath the new one
    await journal.append(changed, () => this.writeNow(changed, family.sub !== undefined))
  }

  private async openJournal(): Promise<Journal> {
    if (!this.journal) {
      const {Journal} = await import('./journal.js')
      await makePrivateDir(this.dir)
      this.journal ??= new Journal(this.dir)
    }

    return this.journal
  }

  private async compactBucket(bucket: string, now: number): Promise<number> {
    const dir = join(this.dir, 'families', bucket)
    const names = await readdir(dir).catch(() => [] as string[])
    let dropped =
      names.includes(CREATED_LOG) || names.includes(`${CREATED_LOG}.old`) ? await this.compactCreated(dir, now) : 0
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const fam = name.slice(0, -5)
      const gone = await this.exclusive(fam, async () => {
        const family = this.readNow(fam)
        if (!family) return false
        if (family.sexp > now) {
          if (family.sub !== undefined) await this.write(family) // written before subjects were hashed
          return false
        }

        await unlink(this.path(fam)).catch(() => {})
        return true
      })
      if (gone) dropped++
    }

    return dropped
  }

  /** The cut-off that applies to a family (0 for none, or no family). */
  private familyCutoff(family: StoredFamily | undefined): number {
    if (!family) return 0
    const cutoffs = this.cutoffsNow()
    const sid = family.sid ?? this.subjectId(family.client, family.sub ?? '')
    return subjectCutoff((key) => cutoffs[key], family.client, hashedCutoffKey(sid))
  }

  private get cutoffsPath(): string {
    return join(this.dir, 'cutoffs.json')
  }

  /** Reads, changes and rewrites the cut-offs under their lock. */
  private async changeCutoffs(change: (cutoffs: Record<string, number>) => void): Promise<void> {
    await this.locked('cutoffs', async () => {
      const cutoffs = this.parseCutoffs(await readFile(this.cutoffsPath, 'utf8').catch(() => '{}'))
      change(cutoffs)
      await makePrivateDir(this.dir)
      await writeFileAtomic(this.cutoffsPath, JSON.stringify(cutoffs))
    })
  }

  /**
   * The cut-offs file as a table. A logout recorded before subjects were hashed is keyed
   * `client NUL sub`: it is read as the subject's id's, so it still revokes what it did.
   */
  private parseCutoffs(text: string): Record<string, number> {
    let cutoffs: Record<string, number>
    try {
      cutoffs = JSON.parse(text) as Record<string, number>
    } catch {
      return {}
    }

    for (const [key, at] of Object.entries(cutoffs)) {
      const nul = key.indexOf('\u0000')
      if (nul === -1) continue
      const hashed = hashedCutoffKey(this.subjectId(key.slice(0, nul), key.slice(nul + 1)))
      cutoffs[hashed] = Math.max(at, cutoffs[hashed] ?? 0)
      delete cutoffs[key]
    }

    return cutoffs
  }

  /**
   * The cut-offs, re-read only when the file changed (one stat instead of a read per
   * operation). Small synchronous reads: a page-cache hit costs less than a thread-pool hop.
   */
  private cutoffsNow(): Record<string, number> {
    const path = this.cutoffsPath
    let stamp: string
    try {
      // (no file, no cut-offs: the usual case, told without the cost of an exception)
      const info = statSync(path, {bigint: true, throwIfNoEntry: false})
      if (!info) return {}
      stamp = `${info.ino}:${info.mtimeNs}:${info.size}`
    } catch {
      return {}
    }

    if (this.cutoffCache?.stamp !== stamp) {
      let text = '{}'
      try {
        text = readFileSync(path, 'utf8')
      } catch {}

      this.cutoffCache = {stamp, value: this.parseCutoffs(text)}
    }

    return this.cutoffCache.value
  }

  /**
   * Appends a journaled family to its bucket's log, synchronously and without fsync: a
   * page-cache append costs less than the thread-pool round trips of an async one, and the
   * journal already made it durable. If compactCreated renamed the log aside meanwhile, the
   * line may have missed its copy: it goes into the new log too (a repeated line is harmless).
   */
  private appendCreated(family: StoredFamily): void {
    const bucket = bucketOf(family.fam)
    const dir = join(this.dir, 'families', bucket)
    const path = join(dir, CREATED_LOG)
    try {
      if (!this.buckets.has(bucket)) {
        mkdirSync(dir, {mode: 0o700, recursive: true})
        this.buckets.add(bucket)
      }

      appendLines(path, [JSON.stringify(family)])
    } catch (error) {
      throw unwritable(`cannot write ${path}`, error)
    }
  }

  /**
   * Drops the expired lines of a bucket's log without losing a line appended meanwhile: the log
   * is renamed aside (appends go to a new one from then on), its live lines are appended to the
   * new one, and only then is the old one removed. Readers look in both.
   */
  private async compactCreated(dir: string, now: number): Promise<number> {
    const path = join(dir, CREATED_LOG)
    if (this.nothingToCompact(path, now)) return 0
    return this.exclusive(
      path,
      async () => {
        const aside = `${path}.old`
        // An aside left by a compaction that was killed is finished first, never overwritten.
        if (!existsSync(aside)) {
          try {
            renameSync(path, aside)
          } catch {} // no log
        }

        let text: string
        try {
          text = readFileSync(aside, 'utf8')
        } catch {
          return 0
        }

        let dropped = 0
        const kept: string[] = []
        for (const line of text.split('\n')) {
          if (!line) continue
          const family = parseFamily(line)
          if (family && family.sexp > now)
            kept.push(family.sub === undefined ? line : JSON.stringify(this.stored(family)))
          // (one with a file of its own is counted when that file goes)
          else if (family && !existsSync(this.path(family.fam))) dropped++
        }

        try {
          if (kept.length > 0) appendLines(path, kept)
          unlinkSync(aside)
        } catch (error) {
          throw unwritable(`cannot write ${path}`, error)
        }

        return dropped
      },
      `${path}.lock`,
    )
  }

  /**
   * Whether a bucket's log holds only live families as this store writes them (and no aside is
   * left), so that compacting it would rewrite it unchanged: under load, most logs, every time.
   * Read without the lock: a line being appended reads as torn, which sends it the long way.
   */
  private nothingToCompact(path: string, now: number): boolean {
    if (existsSync(`${path}.old`)) return false
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch {
      return true // no log
    }

    return text.split('\n').every((line) => {
      if (!line) return true
      const family = parseFamily(line)
      return family !== undefined && family.sexp > now && family.sub === undefined
    })
  }

  /** A family's own file, else its line in the bucket's log (or in the log a compaction set aside). */
  private readNow(fam: string): FileFamily | undefined {
    const own = this.path(fam)
    let text: string | undefined
    try {
      // (asked first: no file is the usual case, and a read that fails costs ten times a stat)
      if (statSync(own, {throwIfNoEntry: false})) text = readFileSync(own, 'utf8')
    } catch (error) {
      // None (or removed since, expired: then it is in no log either, or a stale line). Any
      // other failure must not fall back to the log, whose line is the family as it was made:
      // judged or rewritten from it, a revoked family would come back.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new StoreError('STORE_UNAVAILABLE', `cannot read ${own}: ${describeFsError(error)}`)
    }

    if (text !== undefined) {
      // (its last whole line: see appendVersion. Only an OS crash before the journal's flush can
      // leave none, and the journal's replay writes the file again)
      const family = lastRecord(text)
      if (!family) throw new StoreError('STORE_UNAVAILABLE', `the token store file ${own} is damaged`)
      return family
    }

    const log = join(this.dir, 'families', bucketOf(fam), CREATED_LOG)
    const needle = `"fam":${JSON.stringify(fam)}`
    const found = findLine(log, needle) ?? findLine(`${log}.old`, needle)
    if (found) return found
    // A miss may be a look between the steps of a compaction (rename the log aside, append its
    // live lines to the new log, remove the aside). Looked at aside first and while the log kept
    // one inode, a line is in one of the two reads.
    for (;;) {
      const before = inodeOf(log)
      const again = findLine(`${log}.old`, needle) ?? findLine(log, needle)
      if (again || inodeOf(log) === before) return again
    }
  }

  /** Runs `fn` holding both this process's queue and the cross-process lock for `name`. */
  private async exclusive<T>(name: string, fn: () => Promise<T>, lockPath?: string): Promise<T> {
    await this.checkSafe()
    return this.locked(name, fn, lockPath)
  }

  /** `exclusive` without the store's first-use checks (which take a lock themselves). */
  private async locked<T>(
    name: string,
    fn: () => Promise<T>,
    lockPath = name === 'cutoffs' ? `${this.cutoffsPath}.lock` : `${this.path(name)}.lock`,
  ): Promise<T> {
    const previous = this.queues.get(name) ?? Promise.resolve()
    const run = previous
      .catch(() => {})
      .then(async () => {
        const lock = await FileLock.acquire(lockPath, LOCK_TIMEOUT_MS).catch(async (error: unknown) => {
          if (!missingDir(error)) throw error
          // its directory is made on first use (or again, if it was removed by hand)
          await makePrivateDir(dirname(lockPath))
          return FileLock.acquire(lockPath, LOCK_TIMEOUT_MS)
        })
        try {
          return await fn()
        } finally {
          await lock.release()
        }
      })
    this.queues.set(name, run)
    try {
      return await run
    } finally {
      if (this.queues.get(name) === run) this.queues.delete(name)
    }
  }

  private oncePath(namespace: string, id: string): string {
    const name = createHash('sha256').update(id).digest('base64url')
    return join(this.dir, 'once', namespace, bucketOf(name), name)
  }

  private path(fam: string): string {
    return join(this.dir, 'families', bucketOf(fam), `${fam}.json`)
  }

  /** A family as this store writes it: with its subject's id, never the subject. */
  private stored({sub, ...family}: StoredFamily): StoredFamily {
    return sub === undefined ? family : {...family, sid: this.subjectId(family.client, sub)}
  }

  private async write(given: FileFamily): Promise<void> {
    const family = this.stored(given)
    const bucket = bucketOf(family.fam)
    if (!this.buckets.has(bucket)) {
      await makePrivateDir(join(this.dir, 'families', bucket))
      this.buckets.add(bucket)
    }

    try {
      await writeFileAtomic(this.path(family.fam), JSON.stringify(family))
    } catch (error) {
      if (!missingDir(error)) throw error
      // the directory went away under us (removed by hand): make it again, once
      this.buckets.delete(bucket)
      await makePrivateDir(join(this.dir, 'families', bucket))
      await writeFileAtomic(this.path(family.fam), JSON.stringify(family))
    }
  }

  /**
   * `write` for a family whose record a journal made durable: synchronous, no fsync. One write
   * either lands or not: a line appended to the family's file (see appendVersion), or, when the
   * family has no file yet, its file is past its bound, or its last version held a subject in
   * clear (`replace`), the whole file replaced.
   */
  private writeNow(family: FileFamily, replace = false): void {
    const path = this.path(family.fam)
    const record = JSON.stringify(family)
    try {
      if (!replace && appendVersion(path, record)) return
    } catch (error) {
      throw unwritable(`cannot write ${path}`, error)
    }

    try {
      replaceFileSync(path, record)
    } catch (error) {
      if (!missingDir(error)) throw error
      const dir = dirname(path)
      try {
        mkdirSync(dir, {mode: 0o700, recursive: true})
      } catch (error_) {
        throw unwritable(`cannot create ${dir}`, error_)
      }

      replaceFileSync(path, record)
    }
  }
}

/** The expiry a claim file holds; 0 (free) when it is gone or unreadable (a claim is written whole). */
function claimedUntil(path: string): number {
  try {
    return Number(readFileSync(path, 'utf8')) || 0
  } catch {
    return 0
  }
}

const missingDir = (error: unknown): boolean =>
  ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'

/** Family ids reach the store already hashed (base64url): their first two characters spread them over 4096 buckets. */
const bucketOf = (fam: string): string => fam.slice(0, 2)

/** One JSON family per line, in the order made; a family's own file, when it has one, wins. */
const CREATED_LOG = 'created.log'

const parseFamily = (line: string): StoredFamily | undefined => {
  try {
    return JSON.parse(line) as StoredFamily
  } catch {
    return undefined // a torn line: its write was never acknowledged
  }
}

/** The last whole line of `path` that contains `needle` (a family's id as JSON), parsed. */
function findLine(path: string, needle: string): StoredFamily | undefined {
  // searched as bytes: only the line found is decoded
  let data: Buffer
  try {
    data = readFileSync(path)
  } catch {
    return undefined
  }

  for (let from = data.length; ;) {
    const at = data.lastIndexOf(needle, from)
    if (at === -1) return undefined
    const start = data.lastIndexOf(NEWLINE, at) + 1
    const end = data.indexOf(NEWLINE, at)
    const family = parseFamily(data.toString('utf8', start, end === -1 ? data.length : end))
    if (family || start === 0) return family
    from = start - 1 // a torn line: an earlier one may be whole
  }
}

const NEWLINE = 0x0a

/**
 * How far a family file grows (see appendVersion) before its next change rewrites it to that
 * one version: readers read it whole, a few versions at most.
 */
const FAMILY_FILE_MAX_BYTES = 4096

/**
 * Writes a new version of a family (its lock held) as a line appended to its file: readers take
 * the last whole line (lastRecord). Replacing the file instead (a new file renamed over it)
 * costs far more: ext4 starts writing out a file renamed over another at once, about 0.3 ms of
 * a rotation on this project's machines against 0.01 ms for an append. A lock-free reader that
 * meets a line being appended reads it as torn and takes the version before, as if it had read
 * a moment earlier: so only a file that exists, whose first version was written whole, is
 * appended to (no O_CREAT). False, having written nothing, when there is no such file or the
 * line would take it past FAMILY_FILE_MAX_BYTES: the caller replaces the file instead. A short
 * write (a full disk) is cut off again and fails.
 */
function appendVersion(path: string, record: string): boolean {
  const data = toLines([record])
  let fd: number
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }

  try {
    const before = fstatSync(fd).size
    if (before + data.length > FAMILY_FILE_MAX_BYTES) return false
    if (writeSync(fd, data) < data.length) {
      try {
        ftruncateSync(fd, before)
      } catch {} // a torn line left is skipped by readers

      throw shortWrite()
    }

    return true
  } finally {
    closeSync(fd)
  }
}

/** The last whole JSON line of a family file: its current version (one line, in a file written whole). */
function lastRecord(text: string): FileFamily | undefined {
  for (let end = text.length; end > 0;) {
    const start = text.lastIndexOf('\n', end - 1) + 1
    // (torn, a line being appended or cut short by a full disk: the one before)
    const family = start < end ? parseFamily(text.slice(start, end)) : undefined
    if (family) return family
    end = start - 1
  }

  return undefined
}

const inodeOf = (path: string): bigint | undefined => statSync(path, {bigint: true, throwIfNoEntry: false})?.ino

/**
 * Appends `lines` (see toLines) with one O_APPEND write, which lands at the end of the file
 * whatever other processes append, and whole or not at all: a short write (a full disk) fails.
 * If the file was renamed aside while it was written, the lines are appended again to the
 * file now at `path`.
 */
function appendLines(path: string, lines: string[]): void {
  const data = toLines(lines)
  for (;;) {
    const fd = openSync(path, 'a', 0o600)
    let written: bigint
    try {
      if (writeSync(fd, data) < data.length) throw shortWrite()
      written = fstatSync(fd, {bigint: true}).ino
    } finally {
      closeSync(fd)
    }

    if (inodeOf(path) === written) return
  }
}
