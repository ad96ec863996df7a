import {RedisLink} from '../redis/link.js'
import {cutoffKey, type Family, type FamilyStatus, type Subject, type TokenStore} from './store.js'

/**
 * The rule of `judge()` in store.ts, run inside Redis so that check-and-rotate is one atomic
 * step for every `serve` instance sharing the server. KEYS: the family hash. ARGV: presented
 * hash, next hash ('' to only check), now (ms), fingerprint hash ('' if none), the subject's
 * cut-off (ms), client, sub.
 *
 * The cut-off is read before the script, not inside it: in a cluster it lives in another slot
 * than the family. That is enough because a cut-off only ever grows: a logout that lands between
 * the read and the script is ordered after this operation, as if it had come a moment later.
 * A family of another client or subject than the token says is unknown.
 *
 * A repeat of a rotation that landed (the reply was lost to a failover and the call retried)
 * finds `next` already current and answers ok: it is not a reuse.
 */
const APPLY = `
local f = redis.call('HMGET', KEYS[1], 'current', 'revoked', 'sexp', 'created', 'client', 'sub', 'fingerprint')
if not f[1] then return 'unknown' end
if tonumber(f[3]) <= tonumber(ARGV[3]) then return 'unknown' end
if f[5] ~= ARGV[6] or f[6] ~= ARGV[7] then return 'unknown' end
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
 * The issuer name is percent-encoded in keys, so no brace in it can become a hash tag.
 */
export class RedisStore implements TokenStore {
  private readonly cutoffs: string

  private constructor(
    private readonly link: RedisLink,
    private readonly prefix: string,
  ) {
    this.cutoffs = `${prefix}cutoffs`
  }

  /** Connects (see RedisLink.connect: STORE_UNAVAILABLE within 5 s whatever goes wrong). */
  static async connect(url: string, issuer: string): Promise<RedisStore> {
    const link = await RedisLink.connect(url, 'STORE_UNAVAILABLE', 'the Redis store')
    return new RedisStore(link, `jwtis:${encodeURIComponent(issuer)}:`)
  }

  async check(
    fam: string,
    presented: string,
    now: number,
    fingerprint?: string,
    subject?: Subject,
  ): Promise<FamilyStatus> {
    return this.apply(fam, presented, '', now, fingerprint, subject)
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
      sub: family.sub,
    }
    await this.link.script(CREATE, [this.famKey(family.fam)], [String(family.sexp), ...Object.entries(fields).flat()])
  }

  async cutoff(client: string, sub: string): Promise<number> {
    const [c1, c2] = await this.link.send<Array<null | string>>(this.cutoffs, [
      'HMGET',
      this.cutoffs,
      cutoffKey(client),
      cutoffKey(client, sub),
    ])
    return Math.max(Number(c1 ?? 0), Number(c2 ?? 0))
  }

  async get(fam: string): Promise<Family | undefined> {
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
      sub: h.sub,
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
      [cutoffKey(client, sub), String(at)],
    )
  }

  async rotate(
    fam: string,
    presented: string,
    next: string,
    now: number,
    fingerprint?: string,
    subject?: Subject,
  ): Promise<FamilyStatus> {
    return this.apply(fam, presented, next, now, fingerprint, subject)
  }

  private async apply(
    fam: string,
    presented: string,
    next: string,
    now: number,
    fingerprint = '',
    subject?: Subject,
  ): Promise<FamilyStatus> {
    const key = this.famKey(fam)
    let holder = subject
    if (!holder) {
      const [client, sub] = await this.link.send<Array<null | string>>(key, ['HMGET', key, 'client', 'sub'])
      if (client === null || sub === null) return 'unknown'
      holder = {client, sub}
    }

    const cut = await this.cutoff(holder.client, holder.sub)
    const status = await this.link.script(
      APPLY,
      [key],
      [presented, next, String(now), fingerprint, String(cut), holder.client, holder.sub],
    )
    return status as FamilyStatus
  }

  private famKey(fam: string): string {
    return `${this.prefix}fam:{${fam}}`
  }
}
