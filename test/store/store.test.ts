import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {Family, TokenStore} from '../../src/store/store.js'

import {FileStore} from '../../src/store/file.js'
import {MemoryStore} from '../../src/store/memory.js'
import {RedisStore} from '../../src/store/redis.js'
import {hasTool} from '../helpers/cli.js'
import {startRedis, startRedisCluster} from '../helpers/redis.js'

const HAS_REDIS = hasTool('redis-server', ['--version'], 'the Redis store tests (apt-get install redis-server)')
const T0 = 1_800_000_000_000
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
  ['file', async () => new FileStore(join(mkdtempSync(join(tmpdir(), 'jwtis-store-')), 'tokens'))],
  // as `serve` opens it: new families are journaled and logged per bucket, not one file each
  [
    'file (group commit)',
    async () => new FileStore(join(mkdtempSync(join(tmpdir(), 'jwtis-store-')), 'tokens'), {groupCommit: true}),
  ],
]
if (HAS_REDIS) {
  stores.push(
    ['redis', async () => RedisStore.connect(redis!.url, `test-${n++}`)],
    ['redis cluster', async () => RedisStore.connect(cluster!.url, `test-${n++}`)],
  )
}

describe.each(stores)('%s store', (_name, open) => {
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
    const store = await RedisStore.connect(cluster!.url, 'spread')
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
    const store = await RedisStore.connect(own.url, 'gone')
    await store.ping()
    await own.stop()
    const started = Date.now()
    await expect(store.ping()).rejects.toMatchObject({code: 'STORE_UNAVAILABLE', exitCode: 3, status: 503})
    await expect(store.rotate('f', 'a', 'b', T0)).rejects.toMatchObject({code: 'STORE_UNAVAILABLE'})
    expect(Date.now() - started).toBeLessThan(5000) // no offline queue: nothing waits for a reconnect
    await store.close()
  })
})
