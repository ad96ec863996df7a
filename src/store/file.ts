import {constants} from 'node:fs'
import {access, mkdir, readdir, readFile, unlink} from 'node:fs/promises'
import {join} from 'node:path'

import {VaultError} from '../core/errors.js'
import {checkPrivateDir, writeFileAtomic} from '../vault/fsutil.js'
import {FileLock} from '../vault/lock.js'
import {cutoffKey, type Family, type FamilyStatus, judge, type TokenStore} from './store.js'

const LOCK_TIMEOUT_MS = 10_000
/** Each `create` tidies one random bucket with this probability, so expired families go away without a sweep. */
const COMPACT_CHANCE = 1 / 32

/**
 * Token state on disk beside the vault: one small JSON file per family, fanned out over 4096
 * buckets, plus one file of subject cut-offs. Every operation touches one family file under
 * that file's own lock, so its cost does not grow with the number of families (an append-only
 * journal would have to be replayed by every short-lived CLI process), and operations on
 * different families never wait for each other. Writes are atomic and fsynced before an
 * operation returns, so a crash never loses a rotation that was reported.
 */
export class FileStore implements TokenStore {
  /** Serializes operations on one family within this process, so they queue instead of polling the lock. */
  private readonly queues = new Map<string, Promise<unknown>>()
  private safe?: Promise<void>

  constructor(readonly dir: string) {}

  /** Once per store: its directory must be this user's alone (see checkPrivateDir). */
  private async checkSafe(): Promise<void> {
    this.safe ??= checkPrivateDir(this.dir, 'the token store').catch((error) => {
      this.safe = undefined
      throw error
    })
    return this.safe
  }

  async check(fam: string, presented: string, now: number, fingerprint?: string): Promise<FamilyStatus> {
    return this.apply(fam, presented, now, undefined, fingerprint)
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.values())
  }

  async compact(now: number): Promise<number> {
    const buckets = await readdir(join(this.dir, 'families')).catch(() => [] as string[])
    let dropped = 0
    for (const bucket of buckets) dropped += await this.compactBucket(bucket, now)
    return dropped
  }

  async create(family: Family): Promise<void> {
    await this.exclusive(family.fam, () => this.write(family))
    if (Math.random() < COMPACT_CHANCE) await this.compactBucket(bucketOf(family.fam), Date.now())
  }

  async cutoff(client: string, sub: string): Promise<number> {
    await this.checkSafe()
    const cutoffs = await this.cutoffs()
    return Math.max(cutoffs[cutoffKey(client)] ?? 0, cutoffs[cutoffKey(client, sub)] ?? 0)
  }

  async get(fam: string): Promise<Family | undefined> {
    await this.checkSafe()
    return this.read(fam)
  }

  async ping(): Promise<void> {
    await this.checkSafe()
    try {
      await mkdir(this.dir, {mode: 0o700, recursive: true})
      await access(this.dir, constants.W_OK)
    } catch (error) {
      throw new VaultError(
        'STORE_UNAVAILABLE',
        `the token store ${this.dir} is not writable: ${(error as Error).message}`,
      )
    }
  }

  async revoke(fam: string): Promise<boolean> {
    return this.exclusive(fam, async () => {
      const family = await this.read(fam)
      if (!family) return false
      if (!family.revoked) await this.write({...family, revoked: true})
      return true
    })
  }

  async revokeSubject(client: string, sub: string | undefined, at: number): Promise<void> {
    await this.exclusive('cutoffs', async () => {
      const cutoffs = await this.cutoffs()
      const key = cutoffKey(client, sub)
      cutoffs[key] = Math.max(at, cutoffs[key] ?? 0)
      await mkdir(this.dir, {mode: 0o700, recursive: true})
      await writeFileAtomic(join(this.dir, 'cutoffs.json'), JSON.stringify(cutoffs))
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
    return this.exclusive(fam, async () => {
      const family = await this.read(fam)
      const cutoffs = family ? await this.cutoffs() : {}
      const cutoff = family
        ? Math.max(cutoffs[cutoffKey(family.client)] ?? 0, cutoffs[cutoffKey(family.client, family.sub)] ?? 0)
        : 0
      const {revoke, status} = judge(family, presented, cutoff, now, fingerprint)
      if (revoke) await this.write({...family!, revoked: true})
      else if (status === 'ok' && next !== undefined) await this.write({...family!, current: next})
      else if (status === 'unknown' && family) await unlink(this.path(fam)).catch(() => {})
      return status
    })
  }

  private async compactBucket(bucket: string, now: number): Promise<number> {
    const dir = join(this.dir, 'families', bucket)
    const names = await readdir(dir).catch(() => [] as string[])
    let dropped = 0
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const fam = name.slice(0, -5)
      const gone = await this.exclusive(fam, async () => {
        const family = await this.read(fam)
        if (!family || family.sexp > now) return false
        await unlink(this.path(fam)).catch(() => {})
        return true
      })
      if (gone) dropped++
    }

    return dropped
  }

  private async cutoffs(): Promise<Record<string, number>> {
    try {
      return JSON.parse(await readFile(join(this.dir, 'cutoffs.json'), 'utf8')) as Record<string, number>
    } catch {
      return {}
    }
  }

  /** Runs `fn` holding both this process's queue and the cross-process lock for `name`. */
  private async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    await this.checkSafe()
    const previous = this.queues.get(name) ?? Promise.resolve()
    const run = previous
      .catch(() => {})
      .then(async () => {
        const lockPath = name === 'cutoffs' ? join(this.dir, 'cutoffs.json.lock') : `${this.path(name)}.lock`
        await mkdir(join(lockPath, '..'), {mode: 0o700, recursive: true})
        const lock = await FileLock.acquire(lockPath, LOCK_TIMEOUT_MS)
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

  private path(fam: string): string {
    return join(this.dir, 'families', bucketOf(fam), `${fam}.json`)
  }

  private async read(fam: string): Promise<Family | undefined> {
    try {
      return JSON.parse(await readFile(this.path(fam), 'utf8')) as Family
    } catch {
      return undefined
    }
  }

  private async write(family: Family): Promise<void> {
    await mkdir(join(this.path(family.fam), '..'), {mode: 0o700, recursive: true})
    await writeFileAtomic(this.path(family.fam), JSON.stringify(family))
  }
}

/** Family ids reach the store already hashed (base64url): their first two characters spread them over 4096 buckets. */
const bucketOf = (fam: string): string => fam.slice(0, 2)
