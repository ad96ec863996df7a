/**
 * `jwtis serve` under hostile load, on loopback and bounded in time: 2,000 connections at once,
 * 300 clients trickling their headers, 50,000 failed authentications from 50,000 addresses,
 * oversized, deeply nested and prototype-polluting bodies. Through all of it a good client keeps
 * asking for tokens and a monitor keeps asking /health: both must keep getting answers.
 */
import {readFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {jwtisOk, scratch} from '../helpers/cli.js'
import {serve, type Served, workersOf} from '../helpers/serve.js'

const CONNECTIONS = 2000
const SLOW = 300
const FAILED_AUTHS = Number(process.env.JWTIS_LOAD_FAILED_AUTHS ?? 50_000)

let server: Served
let clientToken: string
let port: number

/** The good client and the monitor, running from the first phase to the last. */
const good = {failures: [] as string[], health: [] as number[], latencies: [] as number[], stop: false}
let background: Promise<void>

const rssMb = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

async function goodClient(): Promise<void> {
  while (!good.stop) {
    const started = performance.now()
    try {
      const res = await fetch(`${server.url}/issue_token`, {
        body: JSON.stringify({claims: {sub: 'good'}, kid: 'app'}),
        headers: {authorization: `Bearer ${clientToken}`, 'content-type': 'application/json'},
        method: 'POST',
        signal: AbortSignal.timeout(10_000),
      })
      await res.arrayBuffer()
      if (res.status === 201) good.latencies.push(performance.now() - started)
      else good.failures.push(`issue_token ${res.status}`)
    } catch (error) {
      good.failures.push(`issue_token ${(error as Error).message}`)
    }

    await sleep(20)
  }
}

async function monitor(): Promise<void> {
  while (!good.stop) {
    try {
      const res = await fetch(`${server.url}/health`, {signal: AbortSignal.timeout(10_000)})
      await res.arrayBuffer()
      good.health.push(res.status)
    } catch {
      good.health.push(0)
    }

    await sleep(200)
  }
}

/** Address i of the attack: every other one IPv4, the rest each in a /64 of its own. */
const address = (i: number) =>
  i % 2
    ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
    : `2001:db8:${(i >> 16).toString(16)}:${(i & 0xff_ff).toString(16)}::1`

async function postIssue(body: string) {
  const res = await fetch(`${server.url}/issue_token`, {
    body,
    headers: {authorization: `Bearer ${clientToken}`, 'content-type': 'application/json'},
    method: 'POST',
  })
  return {body: (await res.json()) as {access_token?: string; error?: {code: string}}, status: res.status}
}

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })
}

describe('serve under hostile load', () => {
  beforeAll(async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    clientToken = (await jwtisOk(['client', 'add', 'app', '--vault', vault], {env: s.env})).stdout.trim()
    server = await serve(vault, s.env, [
      '--workers',
      '2',
      '--trust-proxy',
      '--request-timeout',
      '3s',
      '--log-level',
      'warn',
    ])
    port = Number(new URL(server.url).port)
    background = Promise.all([goodClient(), monitor()]).then(() => {})
    await sleep(500)
  }, 60_000)

  afterAll(async () => {
    good.stop = true
    await background
    await server?.stop()
  })

  it(`${CONNECTIONS} connections at once are all answered`, async () => {
    const sockets = await Promise.all(Array.from({length: CONNECTIONS}, () => open()))
    try {
      const answered = await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<string>((resolve) => {
              let text = ''
              socket.setEncoding('utf8')
              socket.on('data', (d: string) => {
                text += d
                if (text.includes('\r\n\r\n') && text.includes('pong')) resolve(text.slice(0, 12))
              })
              socket.on('close', () => resolve(text.slice(0, 12) || 'closed'))
              socket.write('GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n')
            }),
        ),
      )
      expect(answered.filter((a) => a !== 'HTTP/1.1 200')).toEqual([])
    } finally {
      for (const socket of sockets) socket.destroy()
    }
  }, 60_000)

  it(`${SLOW} clients trickling headers a byte a second are cut off by the request timeout, the rest served`, async () => {
    const sockets = await Promise.all(Array.from({length: SLOW}, () => open()))
    const head = 'POST /issue_token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '
    const started = performance.now()
    const closed = sockets.map(
      (socket) =>
        new Promise<{ms: number; text: string}>((resolve) => {
          let text = ''
          socket.setEncoding('utf8')
          socket.on('data', (d: string) => {
            text += d
          })
          socket.on('close', () => resolve({ms: performance.now() - started, text}))
          socket.on('error', () => {})
        }),
    )
    const drip = setInterval(() => {
      for (const socket of sockets) if (!socket.destroyed) socket.write('a')
    }, 1000)
    for (const socket of sockets) socket.write(head)
    try {
      const results = await Promise.all(closed)
      // cut off after the 3 s request timeout (checked every second), not left to hang
      expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(8000)
      expect(results.filter((r) => !r.text.startsWith('HTTP/1.1 408'))).toEqual([])
    } finally {
      clearInterval(drip)
      for (const socket of sockets) socket.destroy()
    }
  }, 60_000)

  it(`${FAILED_AUTHS.toLocaleString('en-US')} failed authentications from as many addresses: limited, memory bounded, an IPv6 /64 counted as one`, async () => {
    let next = 0
    const statuses = new Map<number, number>()
    const attack = (until: number) =>
      Promise.all(
        Array.from({length: 64}, async () => {
          while (next < until) {
            const i = next++
            const res = await fetch(`${server.url}/issue_token`, {
              body: '{"kid":"app"}',
              headers: {
                authorization: `Bearer jwtis_guess${i}`,
                'content-type': 'application/json',
                'x-forwarded-for': address(i),
              },
              method: 'POST',
            })
            await res.arrayBuffer()
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
          }
        }),
      )
    // the first half fills every limiter to its capacity; the second must not make memory grow on
    const rss = () => workersOf(server.child.pid!).map((pid) => rssMb(pid))
    const cold = rss()
    await attack(FAILED_AUTHS / 2)
    const warm = rss()
    await attack(FAILED_AUTHS)
    const after = rss()
    expect([...statuses.keys()].sort()).toEqual([401])
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    const tracked = Number(/^jwtis_auth_limiter_addresses (\d+)$/m.exec(metrics)?.[1])
    // each of the 2 workers keeps at most 10,000 addresses, whatever the number of attackers
    expect(tracked).toBeGreaterThan(1000)
    expect(tracked).toBeLessThanOrEqual(20_000)
    process.stdout.write(
      `worker RSS (MB) before: ${cold.map((mb) => mb.toFixed(0)).join(', ')}; after ${FAILED_AUTHS / 2} failed authentications: ${warm.map((mb) => mb.toFixed(0)).join(', ')}; after ${FAILED_AUTHS}: ${after.map((mb) => mb.toFixed(0)).join(', ')}\n`,
    )
    // The limiter's own memory is its entry count (the gauge above). A leak, or buffering without
    // bound, grows memory with every request: the second half, which finds the limiters full
    // and the code warm, may grow a worker by half what the first half did, or by 24 MB of V8's
    // lazy collection, not more.
    for (const [i, mb] of after.entries()) {
      const growth = `worker ${i}: ${cold[i].toFixed(0)} → ${warm[i].toFixed(0)} → ${mb.toFixed(0)} MB`
      expect(mb - warm[i], growth).toBeLessThanOrEqual(Math.max(24, (warm[i] - cold[i]) / 2))
    }

    expect(Math.max(...after)).toBeLessThan(400)

    // 30 guesses from 30 addresses of one /64: one block, limited like one address
    const limited: number[] = []
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${server.url}/issue_token`, {
        body: '{"kid":"app"}',
        headers: {
          authorization: 'Bearer jwtis_nope',
          'content-type': 'application/json',
          'x-forwarded-for': `2001:db8:ffff:1::${i + 1}`,
        },
        method: 'POST',
      })
      await res.arrayBuffer()
      limited.push(res.status)
    }

    expect(limited.filter((s) => s === 429).length).toBeGreaterThan(15)
  }, 300_000)

  it('a 2 MB body, JSON nested 10,000 deep and __proto__/constructor keys are refused; nothing is polluted', async () => {
    expect(await postIssue(`{"kid":"app","claims":{"x":"${'a'.repeat(2 * 1024 * 1024)}"}}`)).toMatchObject({
      status: 413,
    })
    expect((await postIssue(`{"kid":"app","claims":${'['.repeat(10_000)}${']'.repeat(10_000)}}`)).status).toBe(400)
    for (const poison of [
      '{"kid":"app","claims":{"__proto__":{"polluted":true}}}',
      '{"kid":"app","claims":{"constructor":{"prototype":{"polluted":true}}}}',
      '{"__proto__":{"kid":"app"},"kid":"app"}',
    ]) {
      expect((await postIssue(poison)).status, poison).toBe(400)
    }

    const clean = await postIssue('{"kid":"app","claims":{"sub":"after"}}')
    expect(clean.status).toBe(201)
    const claims = JSON.parse(Buffer.from(clean.body.access_token!.split('.')[1], 'base64url').toString())
    expect(claims.polluted).toBeUndefined()
    expect(claims.sub).toBe('after')
  })

  it('through all of it, /health answered and the good client got its tokens', () => {
    good.stop = true
    expect(good.health.length).toBeGreaterThan(20)
    expect(good.health.filter((s) => s !== 200)).toEqual([])
    expect(good.failures).toEqual([])
    expect(good.latencies.length).toBeGreaterThan(100)
    const p99 = percentile(good.latencies, 99)
    process.stdout.write(
      `good client under hostile load: ${good.latencies.length} tokens, p50 ${percentile(good.latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms\n`,
    )
    expect(p99).toBeLessThan(2000)
  })
})
