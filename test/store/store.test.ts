import {randomBytes} from 'node:crypto'
import {appendFileSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import type {Family, TokenStore} from '../../src/store/store.js'

import {exitCodeOf} from '../../src/cli/exit-codes.js'
import {RedisError} from '../../src/common/errors.js'
import {newDocument, storeKeyOf} from '../../src/model/document.js'
import {statusOf} from '../../src/server/errors.js'
import {FileStore} from '../../src/store/file.js'
import {MemoryStore} from '../../src/store/memory.js'
import {RedisStore} from '../../src/store/redis.js'
import {subjectIds} from '../../src/store/store.js'
import {hasTool} from '../helpers/cli.js'
import {startRedis, startRedisCluster} from '../helpers/redis.js'

const HAS_REDIS = hasTool('redis-server', ['--version'], 'the Redis store tests (apt-get install redis-server)')
const T0 = 1_800_000_000_000
const KEY = randomBytes(32).toString('base64url')
let n = 0
const family = (over: Partial<Family> = {}): Family => ({
  client: 'app',
  created: T0,
  current: 'j0',
  fam: `f${n++}`,
  revoked: false,
  sexp: T0 + 3_600_000,
  sub: 's',
  ...over,
})

let redis: Awaited<ReturnType<typeof startRedis>> | undefined
let cluster: Awaited<ReturnType<typeof startRedisCluster>> | undefined
beforeAll(async () => {
  if (HAS_REDIS) {
    ;[redis, cluster] = await Promise.all([
      startRedis(),
      startRedisCluster(mkdtempSync(join(tmpdir(), 'jwtis-cluster-'))),
    ])
  }
}, 30_000)
afterAll(async () => Promise.all([redis?.stop(), cluster?.stop()]))

const stores: Array<[string, () => Promise<TokenStore>]> = [
  ['memory', async () => new MemoryStore()],
  ['file', async () => new FileStore(join(mkdtempSync(join(tmpdir(), 'jwtis-store-')), 'tokens'), {storeKey: KEY})],
  // as `serve` opens it: new families are journaled and logged per bucket, not one file each
  [
    'file (group commit)',
    async () =>
      new FileStore(join(mkdtempSync(join(tmpdir(), 'jwtis-store-')), 'tokens'), {groupCommit: true, storeKey: KEY}),
  ],
]
// Pushed whatever the machine has: without redis-server their cases are counted skips, not absent.
stores.push(
  ['redis', async () => RedisStore.connect(redis!.url, `test-${n++}`, KEY)],
  ['redis cluster', async () => RedisStore.connect(cluster!.url, `test-${n++}`, KEY)],
)

describe.each(stores)('%s store', (name, open) => {
  if (name.startsWith('redis') && !HAS_REDIS) beforeEach((context) => context.skip('redis-server is not installed'))
  it('rotates once: the current token moves on, a spent one revokes the family', async () => {
    const store = await open()
    const f = family()
    await store.create(f)
    expect(await store.check(f.fam, 'j0', T0)).toBe('ok')
    expect(await store.rotate(f.fam, 'j0', 'j1', T0)).toBe('ok')
    expect(await store.check(f.fam, 'j1', T0)).toBe('ok')
    expect(await store.rotate(f.fam, 'j0', 'jx', T0)).toBe('reused')
    expect(await store.rotate(f.fam, 'j1', 'j2', T0)).toBe('revoked')
    expect((await store.get(f.fam))?.revoked).toBe(true)
    await store.close()
  })

  it('unknown and expired families are unknown; compaction drops expired ones', async () => {
    const store = await open()
    const f = family({sexp: T0 + 1000})
    await store.create(f)
    expect(await store.check('nope', 'j0', T0)).toBe('unknown')
    expect(await store.check(f.fam, 'j0', T0 + 1000)).toBe('unknown')
    const g = family({sexp: T0 + 1000})
    const h = family({sexp: T0 + 10_000})
    await store.create(g)
    await store.create(h)
    await store.compact(T0 + 5000)
    if (!(store instanceof RedisStore)) expect(await store.get(g.fam)).toBeUndefined() // Redis expires by TTL
    expect(await store.get(h.fam)).toBeDefined()
    await store.close()
  })

  it('revokes one family, or a client / subject up to a cut-off', async () => {
    const store = await open()
    const a = family({sub: 'alice'})
    const b = family({sub: 'bob'})
    const late = family({created: T0 + 2000, sub: 'alice'})
    for (const f of [a, b, late]) await store.create(f)
    expect(await store.revoke('nope')).toBe(false)
    expect(await store.revoke(b.fam)).toBe(true)
    expect(await store.check(b.fam, 'j0', T0)).toBe('revoked')
    await store.revokeSubject('app', 'alice', T0 + 1000)
    expect(await store.check(a.fam, 'j0', T0)).toBe('revoked')
    expect(await store.check(late.fam, 'j0', T0)).toBe('ok')
    await store.revokeSubject('app', undefined, T0 + 3000)
    expect(await store.check(late.fam, 'j0', T0)).toBe('revoked')
    await store.close()
  })

  it('of many concurrent rotations of one token, exactly one wins', async () => {
    const store = await open()
    const f = family()
    await store.create(f)
    const results = await Promise.all(Array.from({length: 50}, (_, i) => store.rotate(f.fam, 'j0', `n${i}`, T0)))
    expect(results.filter((r) => r === 'ok')).toHaveLength(1)
    expect(results.filter((r) => r === 'reused').length + results.filter((r) => r === 'revoked').length).toBe(49)
    await store.close()
  })

  it('claims an id once per namespace: of many concurrent claims exactly one wins', async () => {
    const store = await open()
    const claims = await Promise.all(Array.from({length: 20}, () => store.claimOnce('jti', 'id-1', T0 + 60_000, T0)))
    expect(claims.filter(Boolean)).toHaveLength(1)
    expect(await store.claimOnce('jti', 'id-1', T0 + 60_000, T0 + 1000)).toBe(false)
    expect(await store.claimOnce('jti', 'id-2', T0 + 60_000, T0)).toBe(true)
    expect(await store.claimOnce('code', 'id-1', T0 + 60_000, T0)).toBe(true)
    await expect(store.claimOnce('../x', 'id-3', T0 + 60_000, T0)).rejects.toThrow(/namespace/)
    await store.close()
  })

  it('claimed reads a claim without making one (a revoked access token)', async () => {
    const store = await open()
    expect(await store.claimed('revoked', 'r-1', T0)).toBe(false)
    expect(await store.claimed('revoked', 'r-1', T0)).toBe(false)
    expect(await store.claimOnce('revoked', 'r-1', T0 + 60_000, T0)).toBe(true)
    expect(await store.claimed('revoked', 'r-1', T0 + 1000)).toBe(true)
    expect(await store.claimed('jti', 'r-1', T0 + 1000)).toBe(false)
    await expect(store.claimed('../x', 'r-1', T0)).rejects.toThrow(/namespace/)
    await store.close()
  })

  it('lets a claim be made again once it expired, also after compaction', async () => {
    const store = await open()
    if (name.startsWith('redis')) {
      // Redis expires claims on its own clock (SET PX for what is left of the caller's lifetime)
      const now = Date.now()
      expect(await store.claimOnce('jti', 'e', now + 200, now)).toBe(true)
      expect(await store.claimOnce('jti', 'e', now + 200, now)).toBe(false)
      await sleep(400)
      expect(await store.claimOnce('jti', 'e', Date.now() + 5000, Date.now())).toBe(true)
      expect(await store.claimOnce('jti', 'e', Date.now() + 5000, Date.now())).toBe(false)
      await store.close()
      return
    }

    expect(await store.claimOnce('jti', 'e', T0 + 1000, T0)).toBe(true)
    expect(await store.claimOnce('jti', 'e', T0 + 5000, T0 + 999)).toBe(false)
    expect(await store.claimOnce('jti', 'e', T0 + 5000, T0 + 1000)).toBe(true)
    expect(await store.claimOnce('jti', 'e', T0 + 9000, T0 + 4999)).toBe(false)
    await store.compact(T0 + 5000)
    expect(await store.claimOnce('jti', 'e', T0 + 9000, T0 + 5000)).toBe(true)
    expect(await store.claimOnce('jti', 'e', T0 + 9000, T0 + 5000)).toBe(false)
    await store.close()
  })
})

describe('claims are shared by every store opened on the same place (serve workers, instances)', () => {
  const shared: Array<[string, () => [() => Promise<TokenStore>, () => Promise<TokenStore>]]> = [
    [
      'file',
      () => {
        const dir = join(mkdtempSync(join(tmpdir(), 'jwtis-store-')), 'tokens')
        return [async () => new FileStore(dir, {storeKey: KEY}), async () => new FileStore(dir, {storeKey: KEY})]
      },
    ],
    [
      'redis',
      () => {
        const issuer = `test-${n++}`
        return [
          async () => RedisStore.connect(redis!.url, issuer, KEY),
          async () => RedisStore.connect(redis!.url, issuer, KEY),
        ]
      },
    ],
  ]
  it.for(shared)('%s', async ([name, make], context) => {
    if (name === 'redis' && !HAS_REDIS) context.skip('redis-server is not installed')
    const [openA, openB] = make()
    const [a, b] = await Promise.all([openA(), openB()])
    const claims = await Promise.all(
      Array.from({length: 10}, (_, i) => (i % 2 ? a : b).claimOnce('code', 'shared', T0 + 60_000, T0)),
    )
    expect(claims.filter(Boolean)).toHaveLength(1)
    await Promise.all([a.close(), b.close()])
  })
})

const redisStores = () => stores.filter(([name]) => name.startsWith('redis'))

describe.skipIf(!HAS_REDIS)('Redis stores, single and cluster', () => {
  it("read the cut-off by the token's subject; a family of another subject is unknown", async () => {
    for (const [, open] of redisStores()) {
      const store = await open()
      const f = family({sub: 'alice'})
      await store.create(f)
      const alice = {client: 'app', sub: 'alice'}
      expect(await store.check(f.fam, 'j0', T0, undefined, {client: 'app', sub: 'mallory'})).toBe('unknown')
      expect(await store.rotate(f.fam, 'j0', 'j1', T0, undefined, alice)).toBe('ok')
      await store.revokeSubject('app', 'alice', T0 + 1)
      expect(await store.check(f.fam, 'j1', T0, undefined, alice)).toBe('revoked')
      expect((await store.get(f.fam))?.revoked).toBe(true)
      await store.close()
    }
  })

  it('take a repeated rotation (a retry after a lost reply) as landed, not as a reuse', async () => {
    for (const [, open] of redisStores()) {
      const store = await open()
      const f = family()
      await store.create(f)
      expect(await store.rotate(f.fam, 'j0', 'j1', T0)).toBe('ok')
      expect(await store.rotate(f.fam, 'j0', 'j1', T0)).toBe('ok')
      expect(await store.rotate(f.fam, 'j0', 'j2', T0)).toBe('reused')
      await store.close()
    }
  })

  it("spread families over the cluster's slots and masters (a hash tag per family)", async () => {
    const store = await RedisStore.connect(cluster!.url, 'spread', KEY)
    const made = Array.from({length: 30}, () => family())
    for (const f of made) await store.create(f)
    const {createCluster} = await import('redis')
    const admin = createCluster({rootNodes: [{url: cluster!.url}]})
    await admin.connect()
    const masters = new Set<string>()
    for (const f of made) {
      const key = `jwtis:spread:fam:{${f.fam}}`
      expect(await admin.exists(key)).toBe(1)
      const node = admin.getSlotMaster(Number(await admin.sendCommand(undefined, true, ['CLUSTER', 'KEYSLOT', key])))
      masters.add(`${node.host}:${node.port}`)
    }

    expect(masters.size).toBe(3)
    await admin.close()
    await store.close()
  })
})

describe.skipIf(!HAS_REDIS)('a Redis store whose server went away', () => {
  it('fails fast with STORE_UNAVAILABLE instead of waiting for the server', async () => {
    const own = await startRedis()
    const store = await RedisStore.connect(own.url, 'gone', KEY)
    await store.ping()
    await own.stop()
    const started = Date.now()
    const gone = await store.ping().catch((error: unknown) => error)
    expect(gone).toBeInstanceOf(RedisError)
    expect(gone).toMatchObject({code: 'STORE_UNAVAILABLE'})
    expect([exitCodeOf((gone as RedisError).code), statusOf(gone as RedisError)]).toEqual([3, 503])
    await expect(store.rotate('f', 'a', 'b', T0)).rejects.toMatchObject({code: 'STORE_UNAVAILABLE'})
    expect(Date.now() - started).toBeLessThan(5000) // no offline queue: nothing waits for a reconnect
    await store.close()
  })
})

/** Everything a store keeps on disk or in Redis, as one text: what a reader of it would see. */
async function dumpFiles(dir: string): Promise<string> {
  const {readdir, readFile} = await import('node:fs/promises')
  const names = await readdir(dir, {recursive: true, withFileTypes: true})
  const files = names.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
  return (await Promise.all(files.map((f) => readFile(f, 'latin1')))).join('\n')
}

async function dumpRedis(url: string): Promise<string> {
  const {createClient} = await import('redis')
  const admin = createClient({url})
  await admin.connect()
  let dump = ''
  for await (const keys of admin.scanIterator()) {
    for (const key of keys) dump += `${key} ${JSON.stringify(await admin.hGetAll(key))}\n`
  }

  await admin.close()
  return dump
}

interface Persistent {
  /** Everything the store keeps, as one text: what a reader of its files or of Redis would see. */
  dump: () => Promise<string>
  /** Writes families and cut-offs as jwtis did before subjects were hashed: subjects in clear. */
  seedLegacy: (families: Family[], cutoffs: Record<string, number>) => Promise<void>
  stop: () => Promise<void>
  store: () => Promise<TokenStore>
}

const persistent: Array<[string, () => Promise<Persistent>]> = [
  [
    'file',
    async () => {
      const dir = join(mkdtempSync(join(tmpdir(), 'jwtis-store-')), 'tokens')
      return {
        dump: () => dumpFiles(dir),
        async seedLegacy(families, cutoffs) {
          for (const [i, f] of families.entries()) {
            const bucket = join(dir, 'families', f.fam.slice(0, 2))
            mkdirSync(bucket, {mode: 0o700, recursive: true})
            // one made by serve (a log line), the next by the CLI (a file of its own), and so on
            if (i % 2) writeFileSync(join(bucket, `${f.fam}.json`), JSON.stringify(f), {mode: 0o600})
            else appendFileSync(join(bucket, 'created.log'), `${JSON.stringify(f)}\n`, {mode: 0o600})
          }

          writeFileSync(join(dir, 'cutoffs.json'), JSON.stringify(cutoffs), {mode: 0o600})
        },
        async stop() {},
        store: async () => new FileStore(dir, {groupCommit: true, storeKey: KEY}),
      }
    },
  ],
]
// As above: counted skips without redis-server.
persistent.push([
  'redis',
  async () => {
    const own = await startRedis()
    return {
      dump: () => dumpRedis(own.url),
      async seedLegacy(families, cutoffs) {
        const {createClient} = await import('redis')
        const admin = createClient({url: own.url})
        await admin.connect()
        for (const {fam, ...f} of families) {
          await admin.hSet(`jwtis:subjects:fam:{${fam}}`, {...f, revoked: f.revoked ? '1' : '0'})
        }

        await admin.hSet('jwtis:subjects:cutoffs', cutoffs)
        await admin.close()
      },
      stop: () => own.stop(),
      store: () => RedisStore.connect(own.url, 'subjects', KEY),
    }
  },
])

describe.each(persistent)('the %s store', (name, open) => {
  if (name === 'redis' && !HAS_REDIS) beforeEach((context) => context.skip('redis-server is not installed'))
  const alice = {client: 'app', sub: 'alice@example.com'}
  const bob = {client: 'app', sub: 'bob@example.com'}

  it('keeps subjects and their logouts only as keyed ids, and logout by subject still works', async () => {
    const kept = await open()
    const store = await kept.store()
    const a = family({sub: alice.sub})
    const b = family({sub: bob.sub})
    for (const f of [a, b]) await store.create(f)
    await store.revokeSubject('app', alice.sub, T0 + 1)
    expect(await store.check(a.fam, 'j0', T0, undefined, alice)).toBe('revoked')
    expect(await store.check(b.fam, 'j0', T0, undefined, bob)).toBe('ok')
    expect(await store.cutoff('app', alice.sub)).toBe(T0 + 1)
    expect(await store.cutoff('app', bob.sub)).toBe(0)
    const seen = await kept.dump()
    expect(seen).toContain(a.fam) // (the dump is the store's content)
    expect(seen).not.toMatch(/alice|bob|example/)
    // the id is keyed: under another vault's key the same subject is another id
    const ids = [KEY, randomBytes(32).toString('base64url')].map((key) => subjectIds(key)('app', alice.sub))
    expect(seen).toContain(ids[0])
    expect(ids[1]).not.toBe(ids[0])
    await store.close()
    await kept.stop()
  })

  it('honours families and logouts recorded with subjects in clear, and rewrites them without', async () => {
    const kept = await open()
    const revokedThen = family({created: T0, sub: alice.sub})
    const renewed = family({created: T0 + 2000, sub: alice.sub})
    const loggedOutNow = family({created: T0, sub: bob.sub})
    const aliceLogout = T0 + 1000
    await kept.seedLegacy([revokedThen, renewed, loggedOutNow], {
      [`app\u0000${alice.sub}`]: aliceLogout,
      app: T0 - 5000,
    })
    const store = await kept.store()
    // a logout recorded then still revokes what it did, and still answers online checks
    expect(await store.check(revokedThen.fam, 'j0', T0, undefined, alice)).toBe('revoked')
    expect(await store.cutoff('app', alice.sub)).toBe(aliceLogout)
    // a family recorded then renews, and a logout by subject now reaches one recorded then
    expect(await store.rotate(renewed.fam, 'j0', 'j1', T0, undefined, alice)).toBe('ok')
    await store.revokeSubject('app', bob.sub, T0 + 500)
    expect(await store.check(loggedOutNow.fam, 'j0', T0, undefined, bob)).toBe('revoked')
    // nothing of them is left in clear once each was used (or, in files, compacted)
    await store.compact(T0)
    expect(await kept.dump()).not.toMatch(/alice|bob|example/)
    await store.close()
    // and a store opened afterwards reads them as before
    const again = await kept.store()
    expect(await again.cutoff('app', alice.sub)).toBe(aliceLogout)
    expect(await again.check(renewed.fam, 'j1', T0, undefined, alice)).toBe('ok')
    expect(await again.check(revokedThen.fam, 'j0', T0, undefined, alice)).toBe('revoked')
    await again.close()
    await kept.stop()
  })
})

describe("the vault's store key", () => {
  it('is 32 random bytes in every new vault, and derived from the secrets of a vault made before it', () => {
    const [one, two] = [newDocument({name: 'a'}), newDocument({name: 'a'})]
    expect(Buffer.from(one.storeKey!, 'base64url')).toHaveLength(32)
    expect(one.storeKey).not.toBe(two.storeKey)
    expect(storeKeyOf(one)).toBe(one.storeKey)
    // without one: the same key for the same document in every process, another for other secrets
    const old = {
      ...one,
      clients: {app: {keys: [{jwk: {d: 'secret-one'}}]}},
      storeKey: undefined,
    } as unknown as typeof one
    const derived = storeKeyOf(old)
    expect(Buffer.from(derived, 'base64url')).toHaveLength(32)
    expect(storeKeyOf(structuredClone(old))).toBe(derived)
    expect(storeKeyOf({...old, clients: {app: {keys: [{jwk: {d: 'secret-two'}}]}}} as unknown as typeof one)).not.toBe(
      derived,
    )
  })
})
