/**
 * `serve` against slow and greedy clients, and the token store against a Redis that will not
 * let it in: real processes, real sockets, loopback only (issue 8: items 2, 10 and 17).
 */
import {connect, createServer, type Server, type Socket} from 'node:net'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {hasTool, json, jwtis, jwtisOk, scratch} from '../helpers/cli.js'
import {freePort, startRedis} from '../helpers/redis.js'
import {serve, type Served} from '../helpers/serve.js'

let env: Record<string, string>
let vault: string
let server: Served
let clientToken: string
let port: number

/** A raw connection; resolves with everything the server sent once it closes the socket. */
function rawConnection(): {done: Promise<{closedAfterMs: number; data: string}>; socket: Socket} {
  const started = Date.now()
  const socket = connect(port, '127.0.0.1')
  let data = ''
  socket.setEncoding('utf8').on('data', (d: string) => {
    data += d
  })
  socket.on('error', () => {})
  const done = new Promise<{closedAfterMs: number; data: string}>((resolve) => {
    socket.on('close', () => resolve({closedAfterMs: Date.now() - started, data}))
  })
  return {done, socket}
}

const jsonBody = (response: string) => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))

beforeAll(async () => {
  const s = scratch()
  env = s.env
  vault = join(s.dir, 'vault.age')
  await jwtisOk(['init', '--vault', vault], {env})
  clientToken = (await jwtisOk(['client', 'add', 'app', '--vault', vault], {env})).stdout.trim()
  // One process, so that the connection cap is exact (with workers, each holds its share).
  server = await serve(vault, env, [
    '--request-timeout',
    '1s',
    '--keep-alive-timeout',
    '1s',
    '--max-connections',
    '16',
    '--workers',
    '1',
  ])
  port = Number(new URL(server.url).port)
}, 60_000)
afterAll(async () => server?.stop())

describe('2. slow clients are cut off', () => {
  it('headers trickled in and never finished: 408 in the contract shape, then closed', async () => {
    const {done, socket} = rawConnection()
    socket.write('POST /issue_token HTTP/1.1\r\nHost: x\r\n')
    const timer = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 300)
    const {closedAfterMs, data} = await done
    clearInterval(timer)
    expect(closedAfterMs).toBeLessThan(4000)
    expect(data).toMatch(/^HTTP\/1\.1 408/)
    expect(jsonBody(data).error.code).toBe('REQUEST_TIMEOUT')
  })

  it('a body trickled one byte at a time is cut off by the request timeout', async () => {
    const {done, socket} = rawConnection()
    socket.write(
      `POST /issue_token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${clientToken}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
    )
    const timer = setInterval(() => socket.writable && socket.write(' '), 200)
    const {closedAfterMs} = await done
    clearInterval(timer)
    expect(closedAfterMs).toBeLessThan(4000)
  })

  it('a request with a bad token is answered 401 before its body is sent', async () => {
    const {done, socket} = rawConnection()
    socket.write(
      'POST /issue_token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n',
    )
    const first = await new Promise<string>((resolve) => {
      socket.once('data', (d) => resolve(String(d)))
    })
    expect(first).toMatch(/^HTTP\/1\.1 401/)
    socket.destroy()
    await done
  })

  it('with every connection slot held by idle sockets, the server frees them and answers again', async () => {
    const held = Array.from({length: 16}, () => rawConnection())
    await sleep(200)
    const extra = rawConnection()
    const refused = await extra.done
    expect(refused.data).toBe('') // closed at once: the cap holds
    await Promise.all(held.map((h) => h.done)) // each cut off by the timeouts, not held forever
    const ping = await server.request('GET', '/ping')
    expect(ping).toEqual({body: 'pong', status: 200})
  })

  it('malformed HTTP is answered in the contract shape', async () => {
    const {done, socket} = rawConnection()
    socket.write('THIS IS NOT HTTP\r\n\r\n')
    const {data} = await done
    expect(data).toMatch(/^HTTP\/1\.1 400/)
    expect(jsonBody(data)).toEqual({error: {code: 'BAD_REQUEST', message: 'malformed HTTP request'}})
  })
})

describe('10. a Redis store that cannot be used fails fast, naming the host and never the password', () => {
  const hasRedis = hasTool('redis-server', ['--version'], 'the Redis connection tests')
  let redis: Awaited<ReturnType<typeof startRedis>>
  let silent: Server
  let silentPort: number
  beforeAll(async () => {
    if (!hasRedis) return
    redis = await startRedis({password: 'pw-for-redis-tests'})
    // accepts connections and never answers: a blackholed or stuck server
    silent = createServer(() => {})
    silentPort = await freePort()
    await new Promise<void>((resolve) => {
      silent.listen(silentPort, '127.0.0.1', resolve)
    })
  })
  afterAll(async () => {
    await redis?.stop()
    silent?.close()
  })

  it.runIf(hasRedis)(
    'wrong password, no password, bad database, closed port, silent server: exit 3 within 6 s',
    async () => {
      const cases = [
        [`redis://:not-the-password@127.0.0.1:${redis.port}`, /wrong user name or password/],
        [`redis://127.0.0.1:${redis.port}`, /needs a password/],
        [`redis://:pw-for-redis-tests@127.0.0.1:${redis.port}/99`, /no such database/],
        [`redis://:pw-for-redis-tests@127.0.0.1:${await freePort()}`, /ECONNREFUSED/],
        [`redis://:pw-for-redis-tests@127.0.0.1:${silentPort}`, /within 5s|timeout/i],
      ] as const
      for (const [url, reason] of cases) {
        const started = Date.now()
        const out = await jwtis(['token', 'issue', '--client', 'app', '--refresh', '--vault', vault, '--json'], {
          env: {...env, JWTIS_STORE: url},
        })
        expect(Date.now() - started, url).toBeLessThan(8000)
        expect(out.code, `${url}: ${out.stdout}${out.stderr}`).toBe(3)
        const {error} = json<any>(out)
        expect(error.code).toBe('STORE_UNAVAILABLE')
        expect(error.message).toMatch(reason)
        expect(error.message).toContain('127.0.0.1:')
        expect(out.stdout + out.stderr).not.toMatch(/not-the-password|pw-for-redis-tests/)
      }

      // and the right password works
      const ok = await jwtis(['token', 'issue', '--client', 'app', '--refresh', '--vault', vault, '--json'], {
        env: {...env, JWTIS_STORE: redis.url},
      })
      expect(ok.code, ok.stderr).toBe(0)
    },
  )

  it.runIf(hasRedis)('serve with a Redis it cannot use exits 3 at start instead of hanging', async () => {
    const started = Date.now()
    const out = await jwtis(['serve', '--vault', vault, '--listen', `127.0.0.1:${await freePort()}`], {
      env: {...env, JWTIS_STORE: `redis://:wrong@127.0.0.1:${redis.port}`},
    })
    expect(out.code).toBe(3)
    expect(out.stderr).toContain('cannot use the Redis store at 127.0.0.1:')
    expect(out.stderr).not.toContain(':wrong@')
    // a refused password is a prompt answer: what is bounded is a hang, not the start-up time of a loaded machine
    expect(Date.now() - started).toBeLessThan(30_000)
  })
})
