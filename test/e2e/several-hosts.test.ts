/**
 * Several hosts (issue 11): the vault in Redis beside the token state, real `redis-server`
 * processes (and a three-master Redis Cluster) on loopback, real `serve` processes.
 */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {cleanEnv, hasTool, json, jwtis, jwtisOk, NODE, ROOT, scratch} from '../helpers/cli.js'
import {type RedisServer, startRedis, startRedisCluster} from '../helpers/redis.js'
import {serve, type Served} from '../helpers/serve.js'

const HAS_REDIS = hasTool('redis-server', ['--version'], 'the several-hosts tests (apt-get install redis-server)')
const HAS_AGE = hasTool('age', ['--version'], 'opening a Redis vault with age (apt-get install age)')

/** Polls `attempt` until it returns a value, for at most `ms`; answers the value and how long it took. */
async function within<T>(ms: number, attempt: () => Promise<T | undefined>): Promise<{took: number; value: T}> {
  const started = Date.now()
  for (;;) {
    const value = await attempt()
    if (value !== undefined) return {took: Date.now() - started, value}
    if (Date.now() - started > ms) throw new Error(`nothing within ${ms} ms`)
    await sleep(25)
  }
}

const kidOf = (jws: string): string => JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString()).kid

async function threeInstances(url: string, s: ReturnType<typeof scratch>) {
  const env = {...s.env, JWTIS_VAULT: url}
  await jwtisOk(['init'], {env})
  const instances = await Promise.all([0, 1, 2].map(() => serve(url, env, ['--workers', '1'])))
  return {env, instances}
}

describe.skipIf(!HAS_REDIS).each([
  ['one Redis server', 'single'],
  ['a three-master Redis Cluster', 'cluster'],
])('three serve instances on %s', (_name, kind) => {
  const s = scratch()
  let stop: () => Promise<void>
  let url: string
  let env: Record<string, string>
  let a: Served
  let b: Served
  let c: Served

  beforeAll(async () => {
    if (kind === 'cluster') {
      const cluster = await startRedisCluster(mkdtempSync(join(s.dir, 'cluster-')))
      ;({stop, url} = cluster)
    } else {
      const redis = await startRedis()
      ;({url} = redis)
      stop = () => redis.stop()
    }

    ;({
      env,
      instances: [a, b, c],
    } = await threeInstances(url, s))
  }, 60_000)
  afterAll(async () => {
    await Promise.all([a, b, c].map((x) => x?.stop()))
    await stop?.()
  })

  it('register on A, issue on B within a second, renew on C; a spent token on another instance revokes the family everywhere', async () => {
    const registered = await a.request('POST', '/register/shop', {refresh_strategy: 'refreshBoth'}, a.admin)
    expect(registered.status).toBe(201)
    const token = registered.body.client_token as string
    const {took, value: issued} = await within(1000, async () => {
      const res = await b.request('POST', '/issue_token', {claims: {sub: 'alice'}, kid: 'shop'}, token)
      return res.status === 201 ? res.body : undefined
    })
    expect(took).toBeLessThan(1000)
    const renewed = await c.request('POST', '/renew_token', {kid: 'shop', refresh_token: issued.refresh_token}, token)
    expect(renewed.status).toBe(201)
    // The first refresh token is spent now: presented on A, the whole family goes.
    const reused = await a.request('POST', '/renew_token', {kid: 'shop', refresh_token: issued.refresh_token}, token)
    expect(reused.body.error.code).toBe('REFRESH_REUSED')
    for (const x of [b, c]) {
      const res = await x.request(
        'POST',
        '/renew_token',
        {kid: 'shop', refresh_token: renewed.body.refresh_token},
        token,
      )
      expect(res.body.error.code).toBe('TOKEN_REVOKED')
    }
  })

  it('keys rotate by the CLI: every instance signs with the new key within a second; older tokens still verify', async () => {
    const token = (await jwtisOk(['client', 'add', 'billing', '--aud', 'api'], {env})).stdout.trim()
    const before = await within(1000, async () => {
      const res = await c.request('POST', '/issue_token', {claims: {aud: 'api', sub: 'bob'}, kid: 'billing'}, token)
      return res.status === 201 ? (res.body.access_token as string) : undefined
    })
    await jwtisOk(['keys', 'rotate', '--client', 'billing'], {env})
    const active = json<Array<{client: string; kid: string; state: string; use: string}>>(
      await jwtisOk(['keys', 'list', '--client', 'billing', '--json'], {env}),
    ).find((k) => k.state === 'active' && k.use === 'sig')!.kid
    expect(active).not.toBe(kidOf(before.value))
    const started = Date.now()
    for (const x of [a, b, c]) {
      const {value} = await within(1000, async () => {
        const res = await x.request('POST', '/issue_token', {claims: {aud: 'api', sub: 'bob'}, kid: 'billing'}, token)
        return res.status === 201 && kidOf(res.body.access_token) === active ? res.body.access_token : undefined
      })
      expect(kidOf(value)).toBe(active)
    }

    expect(Date.now() - started).toBeLessThan(1500)
    for (const x of [a, b, c]) {
      const res = await fetch(`${x.url}/introspect`, {
        body: new URLSearchParams({token: before.value}),
        headers: {authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded'},
        method: 'POST',
      })
      expect(await res.json()).toMatchObject({active: true, sub: 'bob'})
    }

    const verified = await jwtis(['token', 'verify', before.value, '--aud', 'api', '--json'], {env})
    expect(verified.code).toBe(0)
  })
})

describe.skipIf(!HAS_REDIS)('a vault in Redis', () => {
  const s = scratch()
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => redis?.stop())

  it('two processes each registering 20 clients at the same moment: all 40 are there', async () => {
    const url = `${redis.url}?name=race`
    const env = {...s.env, JWTIS_VAULT: url}
    await jwtisOk(['init'], {env})
    const identity = readFileSync(join(s.config, 'identity.txt'), 'utf8')
    // Each process adds its 20 clients concurrently through the library, as 20 callers would.
    const script = `
      import {addClient} from '${ROOT}/dist/core/clients.js'
      import {Vault} from '${ROOT}/dist/vault/vault.js'
      import {parseIdentities} from '${ROOT}/dist/vault/age.js'
      const key = {identities: parseIdentities(process.env.ID)}
      const vault = await Vault.open(process.env.URL, async () => key, {lockTimeoutMs: 60000})
      await new Promise((r) => setTimeout(r, Number(process.env.AT) - Date.now()))
      await Promise.all(Array.from({length: 20}, (_, i) => addClient(vault, process.env.WHO + '-' + i, {})))
      await vault.close()
    `
    const at = String(Date.now() + 1500)
    const runs = ['p', 'q'].map(
      (who) =>
        new Promise<{code: null | number; stderr: string}>((resolve) => {
          const child = spawn(NODE, ['--input-type=module', '-e', script], {
            env: cleanEnv({AT: at, ID: identity, URL: url, WHO: who}),
          })
          let stderr = ''
          child.stderr.on('data', (d) => {
            stderr += d
          })
          child.on('close', (code) => resolve({code, stderr}))
        }),
    )
    for (const run of await Promise.all(runs)) expect(run).toEqual({code: 0, stderr: ''})
    const clients = json<Array<{kid: string}>>(await jwtisOk(['client', 'list', '--json'], {env}))
    expect(clients.map((c) => c.kid).sort()).toEqual(
      ['p', 'q'].flatMap((who) => Array.from({length: 20}, (_, i) => `${who}-${i}`)).sort(),
    )
  }, 120_000)

  it('vault copy file → Redis → file round-trips byte for byte, and age opens the Redis copy', async ({skip}) => {
    const file = join(s.dir, 'copy', 'vault.age')
    await jwtisOk(['init', '--vault', file], {env: s.env})
    await jwtisOk(['client', 'add', 'app', '--vault', file], {env: s.env})
    const url = `${redis.url}?name=copied`
    const copied = json(await jwtisOk(['vault', 'copy', file, url, '--json'], {env: s.env}))
    expect(copied).toMatchObject({from: file, to: `redis://127.0.0.1:${redis.port}?name=copied`})
    // A second copy onto a vault is refused without --force, and leaves it alone.
    const again = await jwtis(['vault', 'copy', file, url, '--json'], {env: s.env})
    expect(again.code).toBe(5)
    expect(JSON.parse(again.stdout).error.code).toBe('VAULT_EXISTS')
    const back = join(s.dir, 'copy', 'back.age')
    await jwtisOk(['vault', 'copy', url, back], {env: s.env})
    expect(readFileSync(back)).toEqual(readFileSync(file))
    // The copy in Redis works as a vault.
    const listed = json<Array<{kid: string}>>(await jwtisOk(['client', 'list', '--vault', url, '--json'], {env: s.env}))
    expect(listed.map((c) => c.kid)).toEqual(['app'])
    skip(!HAS_AGE, 'age is not installed')
    const got = spawnSync(
      'sh',
      ['-c', `redis-cli -p ${redis.port} --raw GET 'jwtis:vault:{copied}' | age -d -i "$ID"`],
      {encoding: 'utf8', env: {...process.env, ID: join(s.config, 'identity.txt')}},
    )
    expect(got.stderr).toBe('')
    expect(JSON.parse(got.stdout).clients.app).toBeDefined()
  })

  it('never prints the password of the URL', async () => {
    const secret = await startRedis({password: 'hunter2-redis-secret'})
    try {
      const url = `redis://:hunter2-redis-secret@127.0.0.1:${secret.port}`
      const env = {...s.env, JWTIS_VAULT: url}
      const outputs = [
        await jwtis(['init'], {env}),
        await jwtis(['vault', 'status'], {env}),
        await jwtis(['vault', 'status', '--json'], {env}),
        await jwtis(['client', 'show', 'nobody'], {env}),
        await jwtis(['vault', 'copy', url, join(s.dir, 'pw.age')], {env}),
        await jwtis(['client', 'list'], {env: {...env, JWTIS_VAULT: url.replace('hunter2', 'wrong')}}),
      ]
      for (const out of outputs) expect(`${out.stdout}${out.stderr}`).not.toContain('hunter2')
      expect(outputs[1].stdout).toContain(`redis://:***@127.0.0.1:${secret.port}`)
      expect(outputs[5].code).toBe(3)
    } finally {
      await secret.stop()
    }
  })
})

describe.skipIf(!HAS_REDIS)('serve when Redis goes away', () => {
  it('killed under load and restarted: only 503s meanwhile, no acknowledged rotation lost, back within 5 s', async () => {
    const s = scratch()
    const redis = await startRedis({dir: mkdtempSync(join(tmpdir(), 'jwtis-aof-'))})
    const env = {...s.env, JWTIS_VAULT: redis.url}
    await jwtisOk(['init'], {env})
    const token = (await jwtisOk(['client', 'add', 'app', '--refresh-strategy', 'refreshBoth'], {env})).stdout.trim()
    const server = await serve(redis.url, env, ['--workers', '1'])
    try {
      const chains = await Promise.all(
        Array.from({length: 4}, async () => ({
          acked: (await server.request('POST', '/issue_token', {claims: {sub: 'c'}, kid: 'app'}, token)).body
            .refresh_token as string,
          ended: false,
        })),
      )
      const statuses = new Map<number, number>()
      const others: string[] = []
      const state = {stop: false}
      const loops = chains.map(async (chain) => {
        let unanswered = false
        while (!state.stop && !chain.ended) {
          const res = await server
            .request('POST', '/renew_token', {kid: 'app', refresh_token: chain.acked}, token)
            .catch(() => ({body: undefined, status: 0}))
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
          if (res.status === 201) chain.acked = res.body.refresh_token
          else if (unanswered && res.body?.error?.code === 'REFRESH_REUSED') {
            // Redis died after running the rotation and before answering: the client got a 503
            // for a rotation that landed, so its token is spent, and presenting it again is a
            // reuse. Not a lost acknowledged rotation, and it ends this chain.
            chain.ended = true
          } else if (res.status !== 503) others.push(`${res.status} ${JSON.stringify(res.body)}`)
          unanswered = res.status === 503
          if (res.status !== 201) await sleep(20)
        }
      })
      await sleep(500)
      await redis.stop('SIGKILL')
      await sleep(1000)
      const down = await server.request('GET', '/health')
      expect(down.status).toBe(503)
      expect(down.body).toMatchObject({error: {code: 'STORE_UNAVAILABLE'}, store: 'unavailable', vault: 'unavailable'})
      // The keys are in memory: the JWKS is still served.
      expect((await server.request('GET', '/.well-known/jwks.json')).status).toBe(200)
      await redis.restart()
      const back = Date.now()
      await within(5000, async () => ((await server.request('GET', '/health')).status === 200 ? true : undefined))
      await within(5000, async () => ((statuses.get(201) ?? 0) > 0 ? true : undefined))
      expect(Date.now() - back).toBeLessThan(5000)
      await sleep(300)
      state.stop = true
      await Promise.all(loops)
      expect(others).toEqual([])
      expect(statuses.get(503)).toBeGreaterThan(0)
      // Every chain's last acknowledged refresh token still renews: no rotation was lost.
      expect(chains.filter((chain) => !chain.ended).length).toBeGreaterThan(0)
      for (const chain of chains.filter((c) => !c.ended)) {
        const res = await server.request('POST', '/renew_token', {kid: 'app', refresh_token: chain.acked}, token)
        expect(res.status).toBe(201)
      }
    } finally {
      await server.stop()
      await redis.stop()
    }
  }, 60_000)
})

describe('a vault URL without Redis behind it', () => {
  it('is VAULT_UNAVAILABLE (exit 3) within seconds, naming host:port only', async () => {
    const s = scratch()
    const started = Date.now()
    const out = await jwtis(['client', 'list', '--vault', 'redis://user:pw-not-shown@127.0.0.1:1', '--json'], {
      env: s.env,
    })
    expect(out.code).toBe(3)
    expect(JSON.parse(out.stdout).error).toMatchObject({code: 'VAULT_UNAVAILABLE'})
    expect(out.stdout).toContain('127.0.0.1:1')
    expect(out.stdout).not.toContain('pw-not-shown')
    expect(Date.now() - started).toBeLessThan(8000)
  })
})
