import {randomBytes} from 'node:crypto'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RedisStore} from '../../src/store/redis.js'
import {hasTool} from '../helpers/cli.js'
import {startRedis} from '../helpers/redis.js'

const HAS_REDIS = hasTool('redis-server', ['--version'], 'the Redis script-cache test')

describe.skipIf(!HAS_REDIS)('Redis store scripts', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>
  let store: RedisStore
  beforeAll(async () => {
    redis = await startRedis()
    store = await RedisStore.connect(redis.url, 'scripts', randomBytes(32).toString('base64url'))
  })
  afterAll(async () => {
    await store?.close()
    await redis?.stop()
  })

  it('run by EVALSHA, and reloaded when the server forgot them (SCRIPT FLUSH, a restart)', async () => {
    const now = Date.now()
    await store.create({
      client: 'c',
      created: now,
      current: 'a',
      fam: 'f1',
      revoked: false,
      sexp: now + 60_000,
      sub: 's',
    })
    expect(await store.rotate('f1', 'a', 'b', now)).toBe('ok')
    const {createClient} = await import('redis')
    const admin = createClient({url: redis.url})
    await admin.connect()
    // one round trip with the script's hash, not the script: EVALSHA, never EVAL
    const stats = String(await admin.sendCommand(['INFO', 'commandstats']))
    expect(stats).toMatch(/cmdstat_evalsha:calls=[1-9]/)
    expect(stats).not.toMatch(/cmdstat_eval:/)
    await admin.sendCommand(['SCRIPT', 'FLUSH'])
    await admin.close()
    expect(await store.rotate('f1', 'b', 'c', now)).toBe('ok')
    expect(await store.check('f1', 'b', now)).toBe('reused')
  })
})
