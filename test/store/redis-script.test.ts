import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RedisStore} from '../../src/store/redis.js'
import {hasTool} from '../helpers/cli.js'
import {type RedisServer, startRedis} from '../helpers/redis.js'

const HAS_REDIS = hasTool('redis-server', ['--version'], 'the Redis script-cache test')

describe.skipIf(!HAS_REDIS)('Redis store scripts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jwtis-redis-script-'))
  let redis: RedisServer
  let store: RedisStore
  beforeAll(async () => {
    // persistent, so that the family survives the restart and only the script cache is lost
    redis = await startRedis({dir})
    store = await RedisStore.connect(redis.url, 'scripts', randomBytes(32).toString('base64url'))
  })
  afterAll(async () => {
    await store?.close()
    await redis?.stop()
    rmSync(dir, {force: true, recursive: true})
  })

  /** Runs `commands` on the server (a connection of its own), answering the last one's reply. */
  const admin = async (...commands: string[][]): Promise<string> => {
    const {createClient} = await import('redis')
    const client = createClient({url: redis.url})
    await client.connect()
    let reply = ''
    for (const command of commands) reply = String(await client.sendCommand(command))
    await client.close()
    return reply
  }

  /** The calls of `command` (`script|load`: a subcommand) since the last CONFIG RESETSTAT or start. */
  const calls = async (command: string): Promise<number> => {
    const stats = await admin(['INFO', 'commandstats'])
    return Number(
      stats
        .split('\n')
        .find((line) => line.startsWith(`cmdstat_${command}:calls=`))
        ?.split(/[=,]/)[1] ?? 0,
    )
  }

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
    // one round trip with the script's hash, not the script: EVALSHA, never EVAL
    expect(await calls('evalsha')).toBeGreaterThan(0)
    expect(await calls('eval')).toBe(0)

    await admin(['SCRIPT', 'FLUSH'], ['CONFIG', 'RESETSTAT'])
    expect(await store.rotate('f1', 'b', 'c', now)).toBe('ok')
    // loaded again once (SCRIPT LOAD), then run by hash again
    expect(await calls('script|load')).toBe(1)
    expect(await store.rotate('f1', 'c', 'd', now)).toBe('ok')
    expect(await calls('script|load')).toBe(1)
    expect(await calls('eval')).toBe(0)

    await redis.stop()
    await redis.restart()
    // the store reconnects on its own; until it has, its commands fail at once, unsent
    let rotated: unknown
    for (let i = 0; i < 50 && rotated === undefined; i++) {
      rotated = await store.rotate('f1', 'd', 'e', now).catch(async () => sleep(100))
    }

    expect(rotated).toBe('ok')
    expect(await calls('script|load')).toBe(1)
    expect(await calls('eval')).toBe(0)
    // and what they did survived: the spent token is a reuse
    expect(await store.check('f1', 'd', now)).toBe('reused')
  })
})
