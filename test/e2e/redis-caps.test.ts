/**
 * Anything on the Redis port can announce a reply of any size. jwtis reads a reply of at most
 * MAX_VAULT_BYTES (plus framing) and refuses a larger one at its header: the command fails at
 * once (exit 3, HTTP 503) and the process never buffers it. Before, `client list` grew to
 * gigabytes while the server trickled, and waited for as long as it did.
 */
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {MAX_VAULT_BYTES} from '../../src/common/limits.js'
import {BIN, cleanEnv, hasTool, json, jwtis, jwtisOk, NODE, type RunResult, scratch} from '../helpers/cli.js'
import {fakeRedis} from '../helpers/fake-redis.js'
import {startRedis} from '../helpers/redis.js'
import {serve} from '../helpers/serve.js'

const HAS_TIME = hasTool('/usr/bin/time', ['--version'], 'the peak-memory check of the CLI (GNU time)')
const HAS_REDIS = hasTool('redis-server', ['--version'], 'the oversized-vault test on a real Redis')
const MiB = 2 ** 20

/** Runs the CLI under GNU time (when there) for its peak RSS in KiB; killed, with all it started, after `ms`. */
async function measured(args: string[], env: Record<string, string>, ms = 20_000) {
  const s = scratch()
  const rssFile = join(s.dir, 'rss')
  const command = HAS_TIME ? ['/usr/bin/time', '-f', '%M', '-o', rssFile, NODE, BIN, ...args] : [NODE, BIN, ...args]
  const child = spawn(command[0], command.slice(1), {detached: true, env: cleanEnv(env)})
  const result: RunResult = {code: null, signal: null, stderr: '', stdout: ''}
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    result.stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    result.stderr += d
  })
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), ms)
  await new Promise<void>((resolve) => {
    child.on('close', (code, signal) => {
      Object.assign(result, {code, signal})
      resolve()
    })
  })
  clearTimeout(timer)
  // (time writes "Command exited with non-zero status N" first when it did)
  const rss = HAS_TIME && result.signal === null ? /(\d+)\s*$/.exec(readFileSync(rssFile, 'utf8')) : undefined
  return {...result, rssKiB: rss ? Number(rss[1]) : undefined}
}

async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

describe('replies from Redis are bounded', () => {
  const s = scratch()

  it('client list against a server announcing a 2 GB vault exits 3 at the announcement, without buffering it', async () => {
    const fake = await fakeRedis(([name]) => /^m?get$/i.test(name))
    try {
      const run = await measured(['client', 'list', '--vault', fake.url, '--json'], s.env)
      expect(fake.commands.map(([name]) => name)).toContain('MGET')
      expect(run.code).toBe(3) // (before: still waiting when killed)
      expect(json<any>(run).error.code).toBe('VAULT_UNAVAILABLE')
      expect(json<any>(run).error.message).toMatch(/^the Redis vault at 127\.0\.0\.1:\d+ failed: .*more than 16 MiB/)
      // it hung up as soon as the header came, well before the 5 s a connection may take
      expect((await fake.whenClosed(2000))! - fake.announced!).toBeLessThan(2000)
      expect(fake.sent).toBeLessThan(64 * MiB)
      if (run.rssKiB !== undefined) expect(run.rssKiB).toBeLessThan(200 * 1024)
    } finally {
      await fake.close()
    }
  })

  it('serve answers 503 STORE_UNAVAILABLE when its store announces a 2 GB reply, and keeps saying why', async () => {
    const vault = join(s.dir, 'serve.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    const token = (
      await jwtisOk(['client', 'add', 'app', '--refresh-strategy', 'refreshBoth', '--vault', vault], {env: s.env})
    ).stdout.trim()
    // (what issuing sends: the family scripts and the cut-off read; serve connects to its store at start)
    const fake = await fakeRedis(([name]) => /^(evalsha|eval|hmget)$/i.test(name))
    const server = await serve(vault, s.env, ['--store', fake.url])
    try {
      // (before, the request waited for as long as the server trickled)
      const issued = await within(10_000, server.request('POST', '/issue_token', {kid: 'app'}, token))
      expect([issued.status, issued.body.error?.code]).toEqual([503, 'STORE_UNAVAILABLE'])
      expect(issued.body.error.message).toMatch(/more than 16 MiB/)
      expect((await fake.whenClosed(2000))! - fake.announced!).toBeLessThan(2000)
      const again = await server.request('POST', '/issue_token', {kid: 'app'}, token)
      expect([again.status, again.body.error?.message]).toEqual([503, issued.body.error.message])
      const health = await server.request('GET', '/health')
      expect([health.status, health.body.store, health.body.error?.message]).toEqual([
        503,
        'unavailable',
        issued.body.error.message,
      ])
      // peak resident memory of the serving process, in KiB
      const peak = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))![1])
      expect(peak).toBeLessThan(250 * 1024)
    } finally {
      await server.stop('SIGKILL') // (before, it would not stop while the request waited)
      await fake.close()
    }
  })

  it.runIf(HAS_REDIS)('a real Redis holding a vault over the limit: exit 3; one under it is read', async () => {
    const redis = await startRedis()
    try {
      const {createClient} = await import('redis')
      const direct = createClient({url: redis.url})
      direct.on('error', () => {})
      await direct.connect()
      const url = `${redis.url}?name=big`
      await direct.set('jwtis:vault:{big}', 'x'.repeat(MAX_VAULT_BYTES + 64 * 1024))
      const over = await jwtis(['client', 'list', '--vault', url, '--json'], {env: s.env})
      expect([over.code, json<any>(over).error.code]).toEqual([3, 'VAULT_UNAVAILABLE'])
      expect(json<any>(over).error.message).toMatch(/more than 16 MiB/)
      // just under the limit it is read, and found not to be a vault
      await direct.set('jwtis:vault:{big}', 'x'.repeat(MAX_VAULT_BYTES - MiB))
      const under = await jwtis(['client', 'list', '--vault', url, '--json'], {env: s.env})
      expect([under.code, json<any>(under).error.code]).toEqual([3, 'VAULT_CORRUPT'])
      await direct.close()
    } finally {
      await redis.stop()
    }
  })
})
