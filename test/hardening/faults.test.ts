/**
 * Faults: many writers at once, processes killed at random moments, a full disk, a read-only
 * directory. What must hold: every acknowledged write is there, the lock never deadlocks, the
 * vault always opens with the old or the new content, no token family is half-written, and a
 * write that cannot happen says so in one line and leaves the vault as it was.
 */
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {readdirSync, readFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {newIdentity} from '../../src/vault/age.js'
import {BIN, cleanEnv, hasTool, json, jwtis, jwtisOk, NODE, type RunResult, scratch} from '../helpers/cli.js'
import {type RedisServer, startRedis} from '../helpers/redis.js'
import {CAN_MOUNT, fillDisk, freeDisk, mountTmpfs} from '../helpers/tmpfs.js'

const HAS_REDIS = hasTool(
  'redis-server',
  ['--version'],
  'the fault tests on a Redis vault (apt-get install redis-server)',
)
const PROCESSES = 8
const WRITES = 50

type Op = 'add' | 'rekey' | 'remove' | 'revoke' | 'rotate'
/** Each process's 50 writes cycle through this mix: 20 adds, 10 removes, 10 rotations, 5 revocations, 5 re-keyings. */
const MIX: Op[] = ['add', 'add', 'rotate', 'add', 'remove', 'revoke', 'add', 'rekey', 'remove', 'rotate']

interface Acknowledged {
  added: string[]
  recipients: string[]
  removed: string[]
  revoked: string[]
  rotatedKids: string[]
}

/** One writer process: runs its writes one after another through the CLI, recording each acknowledged one. */
async function writer(
  p: number,
  env: Record<string, string>,
  refreshTokens: string[],
  recipients: string[],
): Promise<{acked: Acknowledged; failures: string[]}> {
  const acked: Acknowledged = {added: [], recipients: [], removed: [], revoked: [], rotatedKids: []}
  const failures: string[] = []
  const live: string[] = []
  const ok = (out: RunResult, what: string) => {
    if (out.code === 0) return true
    // with --json the error is on stdout: keep its code, so that a lock wait that ran out
    // (VAULT_LOCKED, a refusal that writes nothing) can be told from anything else
    let code = `exit ${out.code}`
    try {
      code = (JSON.parse(out.stdout) as {error: {code: string}}).error.code
    } catch {}

    failures.push(`${code}: process ${p}, ${what}: ${out.stderr.trim()}`)
    return false
  }

  for (let i = 0; i < WRITES; i++) {
    const op = MIX[i % MIX.length]
    switch (op) {
      case 'add': {
        const name = `p${p}-c${i}`
        if (ok(await jwtis(['client', 'add', name, '--json'], {env}), `client add ${name}`)) {
          acked.added.push(name)
          live.push(name)
        }

        break
      }

      case 'rekey': {
        const recipient = recipients.shift()!
        if (ok(await jwtis(['vault', 'rekey', '--add-recipient', recipient, '--json'], {env}), 'vault rekey'))
          acked.recipients.push(recipient)
        break
      }

      case 'remove': {
        const name = live.shift()
        if (name && ok(await jwtis(['client', 'remove', name, '--yes', '--json'], {env}), `client remove ${name}`))
          acked.removed.push(name)
        break
      }

      case 'revoke': {
        const token = refreshTokens.shift()!
        if (ok(await jwtis(['token', 'revoke', token, '--json'], {env}), 'token revoke')) acked.revoked.push(token)
        break
      }

      case 'rotate': {
        const out = await jwtis(['keys', 'rotate', '--client', 'shared', '--json'], {env})
        if (ok(out, 'keys rotate')) acked.rotatedKids.push(...json<Array<{kid: string}>>(out).map((k) => k.kid))
        break
      }
    }
  }

  return {acked, failures}
}

async function concurrentWriters(vault: string, env: Record<string, string>) {
  const e = {...env, JWTIS_VAULT: vault}
  await jwtisOk(['init', '--vault', vault], {env})
  // shared has a long key-ttl and a grace longer than the test, so every rotated kid stays listed
  await jwtisOk(['client', 'add', 'shared', '--refresh-strategy', 'refreshBoth'], {env: e})
  const refreshTokens = await Promise.all(
    Array.from({length: PROCESSES}, async () => {
      const tokens: string[] = []
      for (let i = 0; i < WRITES / MIX.length; i++) {
        const out = await jwtisOk(['token', 'issue', '--client', 'shared', '--refresh', '--json'], {env: e})
        tokens.push(json<{refresh_token: string}>(out).refresh_token)
      }

      return tokens
    }),
  )
  const recipients = await Promise.all(
    Array.from({length: PROCESSES}, async () =>
      Promise.all(Array.from({length: WRITES / MIX.length}, async () => (await newIdentity()).recipient)),
    ),
  )
  const started = performance.now()
  const results = await Promise.all(
    Array.from({length: PROCESSES}, (_, p) => writer(p, e, refreshTokens[p], recipients[p])),
  )
  const seconds = (performance.now() - started) / 1000
  const failures = results.flatMap((r) => r.failures)
  const acked = results.map((r) => r.acked)

  const doc = json<any>(await jwtisOk(['vault', 'status', '--json'], {env: e}))
  const clients = new Set(
    json<Array<{name: string}>>(await jwtisOk(['client', 'list', '--json'], {env: e})).map((c) => c.name),
  )
  const kids = new Set(
    json<Array<{kid: string}>>(await jwtisOk(['keys', 'list', '--client', 'shared', '--json'], {env: e})).map(
      (k) => k.kid,
    ),
  )
  const missing: string[] = []
  for (const a of acked) {
    for (const name of a.added) if (!a.removed.includes(name) && !clients.has(name)) missing.push(`client ${name}`)
    for (const name of a.removed) if (clients.has(name)) missing.push(`removal of ${name}`)
    for (const kid of a.rotatedKids) if (!kids.has(kid)) missing.push(`rotated key ${kid}`)
    for (const r of a.recipients) if (!doc.recipients.includes(r)) missing.push(`recipient ${r}`)
    for (const token of a.revoked) {
      const renewed = await jwtis(['token', 'renew', '--client', 'shared', token, '--json'], {env: e})
      const code =
        renewed.code === 1 ? (JSON.parse(renewed.stdout) as {error: {code: string}}).error.code : renewed.code
      if (code !== 'TOKEN_REVOKED') missing.push(`revocation (renew: ${code})`)
    }
  }

  return {acked, failures, missing, seconds}
}

/**
 * The writes to a Redis vault that were not acknowledged: only a writer that lost the
 * compare-and-set for 15 s straight (8 writers on two cores) is allowed, and seldom: anything
 * else, or many of those, fails the test. Unacknowledged writes are not looked for afterwards.
 * (A file vault's writers wait in line, so none of its writes may fail.)
 */
function expectOnlyRareLockTimeouts(failures: string[]): void {
  expect(failures.filter((f) => !f.startsWith('VAULT_LOCKED:'))).toEqual([])
  expect(failures.length, failures.join('\n')).toBeLessThanOrEqual(PROCESSES * WRITES * 0.02)
}

// 400 CLI processes' writes take 5–7 minutes on two cores: a deadlock never ends, so the bound is wide
const WRITERS_TIMEOUT_MS = 900_000

describe('8 processes × 50 mixed writes on one vault', () => {
  it(
    'a file vault: every acknowledged write present, no deadlock',
    async () => {
      const s = scratch()
      const result = await concurrentWriters(join(s.dir, 'vault.age'), s.env)
      expect(result.failures).toEqual([])
      expect(result.missing).toEqual([])
    },
    WRITERS_TIMEOUT_MS,
  )

  describe.skipIf(!HAS_REDIS)('a Redis vault', () => {
    let redis: RedisServer
    beforeAll(async () => {
      redis = await startRedis()
    })
    afterAll(async () => redis?.stop())

    it(
      'every acknowledged write present, no deadlock',
      async () => {
        const s = scratch()
        const result = await concurrentWriters(`${redis.url}?name=faults`, s.env)
        expectOnlyRareLockTimeouts(result.failures)
        expect(result.missing).toEqual([])
      },
      WRITERS_TIMEOUT_MS,
    )
  })
})

/** A seeded PRNG (mulberry32): kill moments are random but the same on every run. */
function prng(seed: number): () => number {
  let a = seed
  // 32-bit integer arithmetic on purpose: `| 0` wraps, Math.trunc would not
  return () => {
    // eslint-disable-next-line unicorn/prefer-math-trunc
    a = (a + 0x6d_2b_79_f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const walk = (dir: string): string[] =>
  readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  )

/**
 * Where process `pid` is in a write, read from the files under `dir`: a lock file naming it
 * means it is inside a locked read-modify-write; a temp file of its own, inside an atomic
 * write, before the rename. Read just after its death (before the next writer starts and
 * cleans up), it says where the kill landed.
 */
function writeState(dir: string, pid: number): {locked: boolean; temp: boolean} {
  const files = walk(dir)
  const holds = (file: string) => {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as {pid: number}).pid === pid
    } catch {
      return false
    }
  }

  return {
    locked: files.some((file) => file.endsWith('.lock') && holds(file)),
    temp: files.some((file) => file.endsWith('.tmp') && basename(file).includes(`.${pid}.`)),
  }
}

/**
 * Starts the CLI and SIGKILLs it `ms` after its start or, given `aim`, `ms` after it is seen
 * holding the lock or writing its temp file under `aim.dir` (a kill timed from the start
 * mostly lands in start-up on a busy machine); says how it ended and, if aimed, where it died.
 */
async function killedAfter(
  args: string[],
  env: Record<string, string>,
  ms: number,
  aim?: {at: 'locked' | 'temp'; dir: string},
) {
  const child: ChildProcess = spawn(NODE, [BIN, ...args], {env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  const ended = new Promise<{code: null | number; signal: NodeJS.Signals | null}>((resolve) => {
    child.on('exit', (code, signal) => resolve({code, signal}))
  })
  const kill = () => child.kill('SIGKILL')
  let timer: NodeJS.Timeout | undefined
  const killOnceInWrite = () => {
    timer = writeState(aim!.dir, child.pid!)[aim!.at] ? setTimeout(kill, ms) : setTimeout(killOnceInWrite, 1)
  }

  if (aim === undefined) timer = setTimeout(kill, ms)
  else killOnceInWrite()
  const {code, signal} = await ended
  clearTimeout(timer)
  const killed = signal === 'SIGKILL'
  const where = killed && aim !== undefined ? writeState(aim.dir, child.pid!) : undefined
  return {acknowledged: code === 0, killed, stdout, where}
}

/**
 * The kills aimed at writes must show that they landed in one: some with the lock held, and
 * some of those with a temp file not yet renamed into place (a kill aimed a moment after the
 * lock was taken may still find the process gone past its write, on a fast machine).
 */
function expectKillsInWrites(where: Array<ReturnType<typeof writeState>>): void {
  const locked = where.filter((w) => w.locked).length
  const temp = where.filter((w) => w.temp).length
  const summary = `of ${where.length} kills aimed at writes, ${locked} held the lock, ${temp} had a temp file`
  console.log(summary)
  expect(locked, summary).toBeGreaterThanOrEqual(10)
  expect(temp, summary).toBeGreaterThanOrEqual(1)
}

describe('200 SIGKILLs at random moments', () => {
  const random = prng(20_261_123)
  /** A kill aimed at a write under `dir`: a moment after it takes the lock, or as it writes its temp file. */
  const killedInWrite = (args: string[], env: Record<string, string>, dir: string, at: 'locked' | 'temp') =>
    killedAfter(args, env, at === 'locked' ? random() * 30 : 0, {at, dir})

  it('100 during vault writes: the vault always opens, with every acknowledged write', async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    const env = {...s.env, JWTIS_VAULT: vault}
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    await jwtisOk(['client', 'add', 'app'], {env})
    const identity = join(s.config, 'identity.txt')
    const added: string[] = []
    const kids: string[] = []
    const inWrite: Array<ReturnType<typeof writeState>> = []
    let killed = 0
    for (let i = 0; i < 100; i++) {
      const args = i % 2 ? ['keys', 'rotate', '--client', 'app', '--json'] : ['client', 'add', `k${i}`]
      // every other pair of kills is aimed at the write itself
      const out =
        i % 4 < 2
          ? await killedAfter(args, env, 60 + random() * 360)
          : await killedInWrite(args, env, s.dir, (i >> 2) % 2 ? 'temp' : 'locked')
      if (out.killed) killed++
      if (out.where) inWrite.push(out.where)
      if (out.acknowledged) {
        if (i % 2) kids.push(...(JSON.parse(out.stdout) as Array<{kid: string}>).map((k) => k.kid))
        else added.push(`k${i}`)
      }

      // old content or new, never anything else: age opens it and it is a whole JSON document
      const opened = spawnSync('age', ['-d', '-i', identity, vault], {encoding: 'utf8'})
      expect(opened.status, `after kill ${i}: ${opened.stderr}`).toBe(0)
      const doc = JSON.parse(opened.stdout)
      for (const name of added) expect(doc.clients[name], `acknowledged client ${name}, kill ${i}`).toBeDefined()
    }

    expect(killed).toBeGreaterThan(30)
    expectKillsInWrites(inWrite)
    const listed = new Set(
      json<Array<{kid: string}>>(await jwtisOk(['keys', 'list', '--json'], {env})).map((k) => k.kid),
    )
    for (const kid of kids) expect(listed.has(kid), `acknowledged rotation ${kid}`).toBe(true)
    // nothing left behind that blocks the next writer
    await jwtisOk(['client', 'add', 'after-the-kills'], {env})
  }, 600_000)

  it('80 during refresh-token rotations in the file store: no family half-written, no acknowledged rotation lost', async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    const env = {...s.env, JWTIS_VAULT: vault}
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    await jwtisOk(['client', 'add', 'app', '--refresh-strategy', 'refreshBoth'], {env})
    const issue = async () =>
      json<{refresh_token: string}>(await jwtisOk(['token', 'issue', '--client', 'app', '--refresh', '--json'], {env}))
        .refresh_token
    let current = await issue()
    const inWrite: Array<ReturnType<typeof writeState>> = []
    let killed = 0
    let reused = 0
    for (let i = 0; i < 80; i++) {
      const args = ['token', 'renew', '--client', 'app', current, '--json']
      // every other kill is aimed at the store write itself
      const out =
        i % 2
          ? await killedAfter(args, env, 60 + random() * 300)
          : await killedInWrite(args, env, `${vault}.tokens`, (i >> 1) % 2 ? 'temp' : 'locked')
      if (out.killed) killed++
      if (out.where) inWrite.push(out.where)
      for (const file of walk(`${vault}.tokens`)) {
        if (file.endsWith('.json')) expect(() => JSON.parse(readFileSync(file, 'utf8')), file).not.toThrow()
      }

      if (out.acknowledged) {
        current = JSON.parse(out.stdout).refresh_token
        continue
      }

      // killed: the rotation landed or it did not; the token it held either still renews, or
      // (landed, reply lost) is a reuse that revokes the family, never anything in between
      const next = await jwtis(['token', 'renew', '--client', 'app', current, '--json'], {env})
      if (next.code === 0) current = JSON.parse(next.stdout).refresh_token
      else {
        expect(JSON.parse(next.stdout).error.code).toBe('REFRESH_REUSED')
        reused++
        current = await issue()
      }
    }

    expect(killed).toBeGreaterThan(20)
    expectKillsInWrites(inWrite)
    expect(reused).toBeLessThanOrEqual(killed)
    // the last acknowledged token renews
    await jwtisOk(['token', 'renew', '--client', 'app', current], {env})
  }, 600_000)

  it('20 serve workers under load: replaced each time, every acknowledged rotation renews', async () => {
    const {renewWithDeadline, serveRotatingClient, workersOf} = await import('../helpers/serve.js')
    const {chains, server, token} = await serveRotatingClient(['--workers', '2', '--log-level', 'warn'], 6)
    try {
      const state = {stop: false}
      let acks = 0
      const renew = (refresh: string) => renewWithDeadline(server.url, token, refresh)
      const loops = chains.map(async (chain) => {
        while (!state.stop) {
          chain.inFlight = true
          const res = await renew(chain.last)
          if (res?.status === 201) {
            chain.last = res.body.refresh_token
            chain.inFlight = false
            acks++
            continue
          }

          // died with its worker: retry the same token once a worker is back; a reuse (or a
          // family revoked by an unanswered reuse) means the rotation landed unanswered: only
          // then does the chain start a new family
          await sleep(100)
          const retry = await renew(chain.last)
          if (retry?.status === 201) {
            chain.last = retry.body.refresh_token
            chain.inFlight = false
          } else if (retry?.status === 403 && ['REFRESH_REUSED', 'TOKEN_REVOKED'].includes(retry.body.error.code)) {
            // (a new family may not be had while every worker is down: then the next round tries again)
            const fresh = await server.request('POST', '/issue_token', {kid: 'app'}, token).catch(() => {})
            if (fresh?.status === 201) {
              chain.last = fresh.body.refresh_token
              chain.inFlight = false
            }
          }
        }
      })
      // Two workers, and an answer: a worker still starting does not listen yet, and with every
      // worker down at once the port refuses connections until one is back.
      const bothWorkersServing = async () => {
        for (let i = 0; i < 200; i++) {
          const ping = await fetch(`${server.url}/ping`, {signal: AbortSignal.timeout(1000)}).catch(() => {})
          if (workersOf(server.child.pid!).length === 2 && ping?.status === 200) return
          await sleep(50)
        }
      }

      for (let k = 0; k < 20; k++) {
        await bothWorkersServing()
        await sleep(100 + random() * 200)
        const pids = workersOf(server.child.pid!)
        process.kill(pids[Math.floor(random() * pids.length)], 'SIGKILL')
      }

      await sleep(500)
      state.stop = true
      await Promise.all(loops)
      expect(acks).toBeGreaterThan(40)
      expect(server.stderr().match(/exited \(SIGKILL\); starting another/g)).toHaveLength(20)
      await bothWorkersServing()
      for (const chain of chains) {
        let unanswered = chain.inFlight
        let res = await renew(chain.last)
        // The client's pool may still hold a keep-alive connection to a killed worker, which
        // fails at once: a real client retries, as this does.
        for (let i = 0; !res && i < 10; i++) {
          unanswered = true
          await sleep(100)
          res = await renew(chain.last)
        }

        expect(res, 'no answer in 10 tries').toBeDefined()
        // a chain whose last request went unanswered may have spent its token, or even been
        // caught reusing it (a retry whose answer was lost too): never an acknowledged one
        if (unanswered && res!.status === 403)
          expect(['REFRESH_REUSED', 'TOKEN_REVOKED']).toContain(res!.body.error.code)
        else expect(res!.status, JSON.stringify(res!.body)).toBe(201)
      }
    } finally {
      await server.stop()
    }
  }, 300_000)
})

function oneLine(out: RunResult): void {
  expect(out.stderr.trimEnd().split('\n'), out.stderr).toHaveLength(1)
  expect(out.stderr).toMatch(/^Error: /)
}

describe.skipIf(!CAN_MOUNT)('a full disk and a read-only directory', () => {
  const s = scratch()
  const mnt = join(s.dir, 'disk')
  const vault = join(mnt, 'vault.age')
  const env = {...s.env, JWTIS_VAULT: vault}
  const hash = () => createHash('sha256').update(readFileSync(vault)).digest('hex')
  beforeAll(async () => {
    expect(mountTmpfs(mnt, '2m')).toBe(true)
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    await jwtisOk(['client', 'add', 'app', '--refresh-strategy', 'refreshBoth'], {env})
  })
  afterAll(() => {
    spawnSync('umount', ['-l', mnt])
  })

  it('a full disk: writes fail with one line and exit 3, the vault and the store are intact, and work resumes once there is room', async () => {
    const issued = json<{refresh_token: string}>(
      await jwtisOk(['token', 'issue', '--client', 'app', '--refresh', '--json'], {env}),
    )
    const before = hash()
    fillDisk(mnt)

    for (const args of [
      ['client', 'add', 'more'],
      ['keys', 'rotate', '--client', 'app'],
      ['token', 'issue', '--client', 'app', '--refresh'],
      ['token', 'renew', '--client', 'app', issued.refresh_token],
    ]) {
      const out = await jwtis(args, {env})
      expect(out.code, `${args.join(' ')}: ${out.stderr}`).toBe(3)
      oneLine(out)
      expect(out.stderr).toMatch(/no space|full/i)
      expect(hash(), args.join(' ')).toBe(before)
    }

    // reading never needed room
    await jwtisOk(['client', 'list'], {env})
    freeDisk(mnt)
    await jwtisOk(['client', 'add', 'more'], {env})
    // the refresh token whose renewal failed for want of room was not spent
    await jwtisOk(['token', 'renew', '--client', 'app', issued.refresh_token], {env})
    expect(readdirSync(mnt).filter((f) => f.includes('.tmp'))).toEqual([])
  })

  it('a read-only directory: writes fail with one line and exit 3, reads and verification go on', async () => {
    const token = (await jwtisOk(['token', 'issue', '--client', 'app'], {env})).stdout.trim()
    const before = hash()
    expect(spawnSync('mount', ['-o', 'remount,ro', mnt]).status).toBe(0)
    try {
      for (const args of [
        ['client', 'add', 'other'],
        ['keys', 'rotate', '--client', 'app'],
        ['token', 'issue', '--client', 'app', '--refresh'],
      ]) {
        const out = await jwtis(args, {env})
        expect(out.code, `${args.join(' ')}: ${out.stderr}`).toBe(3)
        oneLine(out)
        expect(out.stderr).toMatch(/read-only/i)
      }

      await jwtisOk(['token', 'verify', token], {env})
      await jwtisOk(['keys', 'list'], {env})
      expect(hash()).toBe(before)
    } finally {
      spawnSync('mount', ['-o', 'remount,rw', mnt])
    }
  })
})
