/**
 * `serve` on several processes (issue 10): the workers share the file store's state, a worker
 * killed with SIGKILL under load is replaced, and no rotation a client was told succeeded is lost.
 */
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, expect, it} from 'vitest'

import {jwtisOk, scratch} from '../helpers/cli.js'
import {renewWithDeadline, serve, serveRotatingClient, workersOf} from '../helpers/serve.js'

describe('serve --workers 2', () => {
  it('a worker killed under load is replaced; only the requests it held go unanswered; every acknowledged rotation still renews', async () => {
    const {chains, server, token} = await serveRotatingClient(['--workers', '2'], 8)
    try {
      const primary = server.child.pid!
      const before = workersOf(primary)
      expect(before).toHaveLength(2)
      const state = {stop: false}
      let acks = 0
      let unanswered = 0
      const wrong: unknown[] = []
      const loops = chains.map(async (chain) => {
        while (!state.stop) {
          chain.inFlight = true
          const res = await server
            .request('POST', '/renew_token', {kid: 'app', refresh_token: chain.last}, token)
            .catch(() => {})
          if (res?.status === 201) {
            chain.last = res.body.refresh_token
            chain.inFlight = false
            acks++
          } else {
            // The request died with the worker (and its rotation may have been committed
            // unanswered, so that a retry would be a reuse): this chain stops here. Any answer
            // but 201 is wrong: each chain renews only its own token, which nobody else spends.
            if (res) wrong.push(res)
            else unanswered++
            return
          }
        }
      })
      await sleep(800)
      process.kill(before[0], 'SIGKILL')
      await sleep(800)
      state.stop = true
      await Promise.all(loops)
      expect(acks).toBeGreaterThan(20)
      expect(wrong).toEqual([])
      // the kill landed on requests in flight, not on an idle worker
      expect(unanswered).toBeGreaterThanOrEqual(1)

      // the primary started another worker, and the server still answers
      for (let i = 0; i < 50 && workersOf(primary).length < 2; i++) await sleep(100)
      const after = workersOf(primary)
      expect(after).toHaveLength(2)
      expect(after).not.toContain(before[0])
      expect(server.stderr()).toMatch(/worker \d+ exited \(SIGKILL\); starting another/)

      for (const chain of chains) {
        const res = (await renewWithDeadline(server.url, token, chain.last))!
        if (chain.inFlight && res.status === 403) {
          expect(res.body.error.code).toBe('REFRESH_REUSED')
          continue
        }

        expect(res.status, JSON.stringify(res.body)).toBe(201)
      }
    } finally {
      await server.stop()
    }
  })

  it('of concurrent renewals of one refresh token spread over both workers, exactly one wins: the other worker sees the reuse', async () => {
    const {server, token} = await serveRotatingClient(['--workers', '2', '--log-level', 'info'], 0)
    // the access log: which worker (pid) answered each renewal, and how
    const logged = () =>
      server
        .stderr()
        .split('\n')
        .filter((line) => line.includes('"route":"/renew_token"'))
        .map((line) => JSON.parse(line) as {pid: number; status: number})
    const renew = async (refresh: string) => {
      // a new connection each, so that the primary hands them to both workers in turn
      const res = await fetch(`${server.url}/renew_token`, {
        body: JSON.stringify({kid: 'app', refresh_token: refresh}),
        headers: {authorization: `Bearer ${token}`, connection: 'close', 'content-type': 'application/json'},
        method: 'POST',
      })
      const body = (await res.json()) as {error?: {code: string}}
      return res.status === 201 ? 'won' : `${res.status} ${body.error?.code}`
    }

    try {
      for (let round = 0; round < 10; round++) {
        const refresh = (await server.request('POST', '/issue_token', {kid: 'app'}, token)).body.refresh_token
        const seen = logged().length
        const results = await Promise.all(Array.from({length: 8}, async () => renew(refresh)))
        expect(
          results.filter((r) => r === 'won'),
          `round ${round}: ${results}`,
        ).toHaveLength(1)
        for (const r of results.filter((r) => r !== 'won'))
          expect(['403 REFRESH_REUSED', '403 TOKEN_REVOKED']).toContain(r)
        // (each answer is logged just after it is sent)
        for (let i = 0; i < 50 && logged().length < seen + 8; i++) await sleep(100)
        const answers = logged().slice(seen)
        const winner = answers.find((a) => a.status === 201)!.pid
        expect(
          answers.filter((a) => a.status === 403 && a.pid !== winner),
          `round ${round}`,
        ).not.toEqual([])
      }
    } finally {
      await server.stop()
    }
  })

  it('/metrics counts the requests of every worker, whichever worker answers the scrape', async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    const server = await serve(vault, s.env, ['--workers', '2'])
    try {
      // new connections each time, so that both workers get some
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${server.url}/ping`, {headers: {connection: 'close'}})
        expect(await res.text()).toBe('pong')
      }

      for (let scrape = 0; scrape < 4; scrape++) {
        const text = await (await fetch(`${server.url}/metrics`, {headers: {connection: 'close'}})).text()
        expect(text).toMatch(/jwtis_http_requests_total\{method="GET",route="\/ping",status="200"\} 20\n/)
      }
    } finally {
      await server.stop()
    }
  })

  it('listening on :0, workers started after every worker died answer on the port first printed', async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    const server = await serve(vault, s.env, ['--workers', '2']) // the helper listens on :0
    try {
      const primary = server.child.pid!
      const before = workersOf(primary)
      expect(before).toHaveLength(2)
      for (const pid of before) process.kill(pid, 'SIGKILL')
      // A connection the primary hands to a worker at the moment it is killed is never answered
      // (Node's cluster drops it): each attempt has its own timeout, and the next one is new.
      let status = 0
      for (const deadline = Date.now() + 60_000; Date.now() < deadline && status !== 200;) {
        await sleep(100)
        const attempt = {headers: {connection: 'close'}, signal: AbortSignal.timeout(2000)}
        status = (await fetch(`${server.url}/ping`, attempt).catch(() => {}))?.status ?? 0
      }

      expect(status).toBe(200)
      const after = workersOf(primary)
      expect(after.some((pid) => before.includes(pid))).toBe(false)
    } finally {
      await server.stop()
    }
  })

  it('--store memory runs one process and says so', async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    const server = await serve(vault, s.env, ['--workers', '2', '--store', 'memory'])
    try {
      expect(workersOf(server.child.pid!)).toHaveLength(0)
      expect(server.stderr()).toContain('--store memory cannot be shared: running 1 worker')
    } finally {
      await server.stop()
    }
  })
})
