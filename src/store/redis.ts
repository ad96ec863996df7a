import type {createClient} from 'redis'

import {VaultError} from '../core/errors.js'
import {redact, redactUrl} from '../core/redact.js'
import {cutoffKey, type Family, type FamilyStatus, type TokenStore} from './store.js'

/**
 * The rule of `judge()` in store.ts, run inside Redis so that check-and-rotate is one atomic
 * step for every `serve` instance sharing the server. KEYS: family hash, cut-off hash.
 * ARGV: presented hash, next hash ('' to only check), now (ms), fingerprint hash ('' if none).
 */
const APPLY = `
local f = redis.call('HMGET', KEYS[1], 'current', 'revoked', 'sexp', 'created', 'client', 'sub', 'fingerprint')
if not f[1] then return 'unknown' end
if tonumber(f[3]) <= tonumber(ARGV[3]) then return 'unknown' end
if f[2] == '1' then return 'revoked' end
local c1 = tonumber(redis.call('HGET', KEYS[2], f[5]) or '0')
local c2 = tonumber(redis.call('HGET', KEYS[2], f[5] .. '\\0' .. f[6]) or '0')
if tonumber(f[4]) <= math.max(c1, c2) then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return 'revoked'
end
if f[7] and f[7] ~= ARGV[4] then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return 'fingerprint_mismatch'
end
if f[1] ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return 'reused'
end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'current', ARGV[2]) end
return 'ok'
`

type Client = ReturnType<typeof createClient>

/**
 * Token state in Redis: one hash per family (`jwtis:{issuer}:fam:{fam}`) that expires with the
 * family's absolute expiry, so Redis compacts it; subject cut-offs in `jwtis:{issuer}:cutoffs`.
 */
export class RedisStore implements TokenStore {
  private constructor(
    private readonly client: Client,
    private readonly prefix: string,
  ) {}

  /**
   * Connects, or fails with STORE_UNAVAILABLE within CONNECT_TIMEOUT_MS whatever goes wrong (an
   * unreachable host, a wrong password, no password, a bad database index): the first attempt
   * is never retried. Once connected, a lost connection is re-established in the background.
   */
  static async connect(url: string, issuer: string): Promise<RedisStore> {
    let connected = false
    let where: string
    try {
      const u = new URL(url)
      where = `${u.hostname}:${u.port || 6379}${u.pathname.length > 1 ? u.pathname : ''}`
    } catch {
      throw new VaultError('STORE_UNAVAILABLE', `${redactUrl(url)} is not a valid redis:// URL`)
    }

    // Loaded here, not at the top: only a Redis store pays for the client.
    const {createClient} = await import('redis')
    // Without the offline queue a command fails at once while Redis is away (503) instead of hanging.
    const client = createClient({
      disableOfflineQueue: true,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        reconnectStrategy: (retries, cause) => (connected ? Math.min(retries * 100, 2000) : cause),
      },
      url,
    })
    client.on('error', () => {}) // reconnects on its own; commands fail meanwhile and are reported there
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        client.connect().then(() => client.ping()),
        new Promise((_resolve, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000}s`)),
            CONNECT_TIMEOUT_MS,
          )
        }),
      ])
      connected = true
    } catch (error) {
      if (client.isOpen) client.destroy()
      throw new VaultError(
        'STORE_UNAVAILABLE',
        `cannot use the Redis store at ${where}: ${redact(describeRedisError(error))}`,
      )
    } finally {
      clearTimeout(timer)
    }

    return new RedisStore(client, `jwtis:{${issuer}}:`)
  }

  async check(fam: string, presented: string, now: number, fingerprint?: string): Promise<FamilyStatus> {
    return this.apply(fam, presented, '', now, fingerprint)
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => this.client.destroy())
  }

  async compact(): Promise<number> {
    return 0 // every family key carries a TTL at its absolute expiry: Redis drops them itself
  }

  async create(family: Family): Promise<void> {
    const key = this.famKey(family.fam)
    await this.call(() =>
      this.client
        .multi()
        .hSet(key, {
          client: family.client,
          created: String(family.created),
          current: family.current,
          ...(family.fingerprint === undefined ? {} : {fingerprint: family.fingerprint}),
          revoked: family.revoked ? '1' : '0',
          sexp: String(family.sexp),
          sub: family.sub,
        })
        .pExpireAt(key, family.sexp)
        .exec(),
    )
  }

  async cutoff(client: string, sub: string): Promise<number> {
    const [c1, c2] = await this.call(() =>
      this.client.hmGet(`${this.prefix}cutoffs`, [cutoffKey(client), cutoffKey(client, sub)]),
    )
    return Math.max(Number(c1 ?? 0), Number(c2 ?? 0))
  }

  async get(fam: string): Promise<Family | undefined> {
    const h = await this.call(() => this.client.hGetAll(this.famKey(fam)))
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
    await this.call(() => this.client.ping())
  }

  async revoke(fam: string): Promise<boolean> {
    const key = this.famKey(fam)
    // HSET on a missing key would create a family without a TTL: only set it when it exists.
    const result = await this.call(() =>
      this.script(
        "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'revoked', '1') return 1 end return 0",
        [key],
        [],
      ),
    )
    return result === 1
  }

  async revokeSubject(client: string, sub: string | undefined, at: number): Promise<void> {
    await this.call(() =>
      this.script(
        "local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') if tonumber(ARGV[2]) > c then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 1",
        [`${this.prefix}cutoffs`],
        [cutoffKey(client, sub), String(at)],
      ),
    )
  }

  async rotate(fam: string, presented: string, next: string, now: number, fingerprint?: string): Promise<FamilyStatus> {
    return this.apply(fam, presented, next, now, fingerprint)
  }

  private async apply(
    fam: string,
    presented: string,
    next: string,
    now: number,
    fingerprint = '',
  ): Promise<FamilyStatus> {
    const status = await this.call(() =>
      this.script(APPLY, [this.famKey(fam), `${this.prefix}cutoffs`], [presented, next, String(now), fingerprint]),
    )
    return status as FamilyStatus
  }

  /** SHA-1 of each script, once loaded: later calls send 40 bytes instead of the script. */
  private readonly shas = new Map<string, string>()

  /**
   * Runs a Lua script with EVALSHA, in one round trip. The first call loads it (SCRIPT LOAD);
   * a server that forgot it (restarted, SCRIPT FLUSH) answers NOSCRIPT and it is loaded again.
   */
  private async script(source: string, keys: string[], args: string[]): Promise<unknown> {
    let sha = this.shas.get(source)
    if (sha === undefined) {
      sha = await this.client.scriptLoad(source)
      this.shas.set(source, sha)
    }

    try {
      return await this.client.evalSha(sha, {arguments: args, keys})
    } catch (error) {
      if (!/NOSCRIPT/.test((error as Error).message)) throw error
      this.shas.delete(source)
      return this.script(source, keys, args)
    }
  }

  /** A Redis failure is the store being unavailable (exit 3, HTTP 503), not a bug. */
  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op()
    } catch (error) {
      throw new VaultError('STORE_UNAVAILABLE', `the Redis token store failed: ${redact(describeRedisError(error))}`)
    }
  }

  private famKey(fam: string): string {
    return `${this.prefix}fam:${fam}`
  }
}

/** How long connecting (and authenticating) may take before the store is reported unavailable. */
const CONNECT_TIMEOUT_MS = 5000

function describeRedisError(error: unknown): string {
  const message = (error as Error)?.message ?? String(error)
  if (/WRONGPASS|invalid (username-)?password/i.test(message)) return 'wrong user name or password'
  if (/NOAUTH/i.test(message)) return 'the server needs a password: put it in the store URL'
  if (/DB index is out of range|invalid DB index/i.test(message)) return 'no such database number on that server'
  return message || (error as Error)?.name || 'connection failed'
}
