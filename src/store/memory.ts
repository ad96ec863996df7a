import {
  checkNamespace,
  cutoffKey,
  type Family,
  type FamilyStatus,
  judge,
  subjectCutoff,
  type TokenStore,
} from './store.js'

/**
 * Token state in process memory: for tests, and `serve --store memory` (lost on exit). Nothing
 * leaves the process, so subjects are kept as given.
 */
export class MemoryStore implements TokenStore {
  private readonly cutoffs = new Map<string, number>()
  private readonly families = new Map<string, Family>()
  /** claimOnce: `namespace NUL id` → expiry (ms). */
  private readonly once = new Map<string, number>()

  async check(fam: string, presented: string, now: number, fingerprint?: string): Promise<FamilyStatus> {
    return this.apply(fam, presented, now, undefined, fingerprint)
  }

  async claimOnce(namespace: string, id: string, expiresAt: number, now: number): Promise<boolean> {
    checkNamespace(namespace)
    const key = `${namespace}\u0000${id}`
    if ((this.once.get(key) ?? 0) > now) return false
    this.once.set(key, expiresAt)
    return true
  }

  async claimed(namespace: string, id: string, now: number): Promise<boolean> {
    checkNamespace(namespace)
    return (this.once.get(`${namespace}\u0000${id}`) ?? 0) > now
  }

  async close(): Promise<void> {}

  async compact(now: number): Promise<number> {
    let dropped = 0
    for (const [key, until] of this.once) if (until <= now) this.once.delete(key)
    for (const [fam, family] of this.families) {
      if (family.sexp <= now) {
        this.families.delete(fam)
        dropped++
      }
    }

    return dropped
  }

  async create(family: Family): Promise<void> {
    this.families.set(family.fam, {...family})
  }

  async cutoff(client: string, sub: string): Promise<number> {
    return this.cutoffOf(client, sub)
  }

  async get(fam: string): Promise<Family | undefined> {
    const family = this.families.get(fam)
    return family && {...family}
  }

  async ping(): Promise<void> {}

  async revoke(fam: string): Promise<boolean> {
    const family = this.families.get(fam)
    if (family) family.revoked = true
    return family !== undefined
  }

  async revokeSubject(client: string, sub: string | undefined, at: number): Promise<void> {
    const key = cutoffKey(client, sub)
    this.cutoffs.set(key, Math.max(at, this.cutoffs.get(key) ?? 0))
  }

  async rotate(fam: string, presented: string, next: string, now: number, fingerprint?: string): Promise<FamilyStatus> {
    return this.apply(fam, presented, now, next, fingerprint)
  }

  private apply(fam: string, presented: string, now: number, next?: string, fingerprint?: string): FamilyStatus {
    const family = this.families.get(fam)
    const cutoff = family ? this.cutoffOf(family.client, family.sub) : 0
    const {revoke, status} = judge(family, presented, cutoff, now, fingerprint)
    if (revoke) family!.revoked = true
    if (status === 'ok' && next !== undefined) family!.current = next
    return status
  }

  private cutoffOf(client: string, sub: string): number {
    return subjectCutoff((key) => this.cutoffs.get(key), client, cutoffKey(client, sub))
  }
}
