import {RedisLink} from '../redis/link.js'
import {
  checkNamespace,
  cutoffKey,
  type Family,
  type FamilyStatus,
  hashedCutoffKey,
  type StoredFamily,
  type Subject,
  subjectIds,
  type TokenStore,
} from './store.js'

/**
 * The rule of `judge()` in store.ts, run inside Redis so that check-and-rotate is one atomic
 * step for every `serve` instance sharing the server. KEYS: the family hash. ARGV: presented
 * hash, next hash ('' to only check), now (ms), fingerprint hash ('' if none), the subject's
 * cut-off (ms), client, subject id.
 *
 * The cut-off is read before the script, not inside it: in a cluster it lives in another slot
 * than the family. That is enough because a cut-off only ever grows: a logout that lands between
 * the read and the script is ordered after this operation, as if it had come a moment later.
 * A family of another client or subject than the token says is unknown. A family written before
 * subjects were hashed holds its subject in clear (`sub`), which is not sent here to compare:
 * it is taken as the token's (the token is the issuer's own, sealed, and names the family) and
 * replaced by the id.
 *
 * A repeat of a rotation that landed (the reply was lost to a failover and the call retried)
 * finds `next` already current and answers ok: it is not a reuse.
 */
const APPLY = `
local f = redis.call('HMGET', KEYS[1], 'current', 'revoked', 'sexp', 'created', 'client', 'sid', 'fingerprint')
if not f[1] then return 'unknown' end
if tonumber(f[3]) <= tonumber(ARGV[3]) then return 'unknown' end
if f[5] ~= ARGV[6] or (f[6] and f[6] ~= ARGV[7]) then return 'unknown' end
if not f[6] then
  redis.call('HSET', KEYS[1], 'sid', ARGV[7])
  redis.call('HDEL', KEYS[1], 'sub')
end
if f[2] == '1' then return 'revoked' end
if tonumber(f[4]) <= tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return 'revoked'
end
if f[7] and f[7] ~= ARGV[4] then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return 'fingerprint_mismatch'
end
if ARGV[2] ~= '' and f[1] == ARGV[2] then return 'ok' end
if f[1] ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return 'reused'
end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'current', ARGV[2]) end
return 'ok'
`

/** KEYS: the cut-offs. ARGV: a field keyed by a subject in clear, the same subject's hashed field. */
const REHASH = `
local at = redis.call('HGET', KEYS[1], ARGV[1])
if at and tonumber(at) > tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0') then
  redis.call('HSET', KEYS[1], ARGV[2], at)
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`
/** A field of the cut-offs once none is keyed by a subject in clear (no client or subject id looks like it). */
const HASHED_MARK = '#hashed'

/** A family, written with its expiry in one step (so none is ever left without a TTL). */
const CREATE = `
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`

/**
 * Token state in Redis or a Redis Cluster: one hash per family, `jwtis:ISSUER:fam:{FAM}`, whose
 * hash tag is the family id (so families spread over the cluster's slots) and which expires with
 * the family's absolute expiry, so Redis compacts it; subject cut-offs in `jwtis:ISSUER:cutoffs`.
 * The issuer name is percent-encoded in keys, so no brace in it can become a hash tag. Subjects
 * are kept, and sent, only as their ids (see subjectIds).
 */
export class RedisStore implements TokenStore {
  private readonly cutoffs: string
  private readonly subjectId: (client: string, sub: string) => string

  private constructor(
    private readonly link: RedisLink,
    private readonly prefix: string,
    storeKey: string,
  ) {
    this.cutoffs = `${prefix}cutoffs`
    this.subjectId = subjectIds(storeKey)
  }

  /**
   * Connects (see RedisLink.connect: STORE_UNAVAILABLE within 5 s whatever goes wrong).
   * `storeKey`: the vault's (see storeKeyOf).
   */
  static async connect(url: string, issuer: string, storeKey: string): Promise<RedisStore> {
    const link = await RedisLink.connect(url, 'STORE_UNAVAILABLE', 'the Redis store')
    const store = new RedisStore(link, `jwtis:${encodeURIComponent(issuer)}:`, storeKey)
    try {
      await store.hashLegacyCutoffs()
    } catch (error) {
      await link.close()
      throw error
    }

    return store
  }

  async check(
    fam: string,
    presented: string,
    now: number,
    fingerprint?: string,
    subject?: Subject,
  ): Promise<FamilyStatus> {
    return this.rotate(fam, presented, '', now, fingerprint, subject)
  }

  /**
   * SET NX with the claim's lifetime: Redis drops it at expiry, after which a claim may be made
   * again. A retry after a lost reply (a failover) can see its own landed claim and answer false:
   * one legitimate use refused, never one replay let through.
   */
  async claimOnce(namespace: string, id: string, expiresAt: number, now: number): Promise<boolean> {
    const key = this.onceKey(namespace, id)
    const ttl = String(Math.max(1, Math.ceil(expiresAt - now)))
    return (await this.link.send(key, ['SET', key, '1', 'PX', ttl, 'NX'])) !== null
  }

  async claimed(namespace: string, id: string): Promise<boolean> {
    const key = this.onceKey(namespace, id)
    return (await this.link.send(key, ['EXISTS', key])) === 1
  }

  async close(): Promise<void> {
    await this.link.close()
  }

  async compact(): Promise<number> {
    return 0 // every family key carries a TTL at its absolute expiry: Redis drops them itself
  }

  async create(family: Family): Promise<void> {
    const fields: Record<string, string> = {
      client: family.client,
      created: String(family.created),
      current: family.current,
      ...(family.fingerprint === undefined ? {} : {fingerprint: family.fingerprint}),
      revoked: family.revoked ? '1' : '0',
      sexp: String(family.sexp),
      sid: this.subjectId(family.client, family.sub),
    }
    await this.link.script(CREATE, [this.famKey(family.fam)], [String(family.sexp), ...Object.entries(fields).flat()])
  }

  async cutoff(client: string, sub: string): Promise<number> {
    return this.cutoffOf(client, this.subjectId(client, sub))
  }

  async get(fam: string): Promise<StoredFamily | undefined> {
    const key = this.famKey(fam)
    const flat = await this.link.send<string[]>(key, ['HGETALL', key])
    const h: Record<string, string> = Object.create(null)
    for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]] = flat[i + 1]
    if (!h.current) return undefined
    return {
      client: h.client,
      created: Number(h.created),
      current: h.current,
      fam,
      ...(h.fingerprint === undefined ? {} : {fingerprint: h.fingerprint}),
      revoked: h.revoked === '1',
      sexp: Number(h.sexp),
      ...(h.sid === undefined ? {sub: h.sub} : {sid: h.sid}),
    }
  }

  async ping(): Promise<void> {
    await this.link.send(this.cutoffs, ['PING'])
  }

  async revoke(fam: string): Promise<boolean> {
    // HSET on a missing key would create a family without a TTL: only set it when it exists.
    const result = await this.link.script(
      "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'revoked', '1') return 1 end return 0",
      [this.famKey(fam)],
      [],
    )
    return result === 1
  }

  async revokeSubject(client: string, sub: string | undefined, at: number): Promise<void> {
    await this.link.script(
      "local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') if tonumber(ARGV[2]) > c then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 1",
      [this.cutoffs],
      [sub === undefined ? cutoffKey(client) : hashedCutoffKey(this.subjectId(client, sub)), String(at)],
    )
  }

  /** `next` '' only checks (the same script, so a spent token revokes its family either way). */
  async rotate(
    fam: string,
    presented: string,
    next: string,
    now: number,
    fingerprint = '',
    subject?: Subject,
  ): Promise<FamilyStatus> {
    const key = this.famKey(fam)
    let holder = subject && {client: subject.client, sid: this.subjectId(subject.client, subject.sub)}
    if (!holder) {
      const [client, sid, sub] = await this.link.send<Array<null | string>>(key, ['HMGET', key, 'client', 'sid', 'sub'])
      if (client === null || (sid ?? sub) === null) return 'unknown'
      holder = {client, sid: sid ?? this.subjectId(client, sub!)}
    }

    const cut = await this.cutoffOf(holder.client, holder.sid)
    const status = await this.link.script(
      APPLY,
      [key],
      [presented, next, String(now), fingerprint, String(cut), holder.client, holder.sid],
    )
    return status as FamilyStatus
  }

  private async cutoffOf(client: string, sid: string): Promise<number> {
    const [c1, c2] = await this.link.send<Array<null | string>>(this.cutoffs, [
      'HMGET',
      this.cutoffs,
      cutoffKey(client),
      hashedCutoffKey(sid),
    ])
    return Math.max(Number(c1 ?? 0), Number(c2 ?? 0))
  }

  /**
   * Logouts recorded before subjects were hashed are fields `client NUL sub`: rewritten once under
   * the subject's id (the later cut-off wins), then HASHED_MARK says there are none left, so that
   * later connections need not read the whole table.
   */
  private async hashLegacyCutoffs(): Promise<void> {
    if ((await this.link.send(this.cutoffs, ['HEXISTS', this.cutoffs, HASHED_MARK])) === 1) return
    const flat = await this.link.send<string[]>(this.cutoffs, ['HGETALL', this.cutoffs])
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const nul = flat[i].indexOf('\u0000')
      if (nul === -1) continue
      const hashed = hashedCutoffKey(this.subjectId(flat[i].slice(0, nul), flat[i].slice(nul + 1)))
      await this.link.script(REHASH, [this.cutoffs], [flat[i], hashed])
    }

    await this.link.send(this.cutoffs, ['HSET', this.cutoffs, HASHED_MARK, '0'])
  }

  private onceKey(namespace: string, id: string): string {
    checkNamespace(namespace)
    return `${this.prefix}once:${namespace}:{${id}}`
  }

  private famKey(fam: string): string {
    return `${this.prefix}fam:{${fam}}`
  }
}
