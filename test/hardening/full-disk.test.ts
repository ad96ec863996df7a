/**
 * A full disk under the file store, as `serve` uses it (group commit: a journal, then a line in
 * the family's bucket log). On a full disk a write can land short: the file's last page has room
 * for part of it. What must hold: a family is acknowledged only once every line that records it
 * landed whole, a refusal is 503 VAULT_UNWRITABLE (never a 500), a torn line never swallows the
 * next one, and once there is room again every acknowledged family renews.
 */
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import type {JwtisError} from '../../src/common/errors.js'
import type {Family} from '../../src/store/store.js'

import {statusOf} from '../../src/server/errors.js'
import {FileStore} from '../../src/store/file.js'
import {bootId, Journal} from '../../src/store/journal.js'
import {jwtisOk, scratch} from '../helpers/cli.js'
import {serve} from '../helpers/serve.js'
import {CAN_MOUNT, fillDisk, freeDisk, mountTmpfs} from '../helpers/tmpfs.js'

const KEY = randomBytes(32).toString('base64url')
const T0 = Date.now()
const family = (fam: string): Family => ({
  client: 'app',
  created: T0,
  current: 'j0',
  fam,
  revoked: false,
  sexp: T0 + 3_600_000,
  sub: 's',
})

/** Runs `attempt` n times in turn: which calls were acknowledged, and what the others failed with. */
async function attempts<T>(n: number, attempt: (i: number) => Promise<T>) {
  const acked: number[] = []
  const refused: unknown[] = []
  for (let i = 0; i < n; i++) {
    try {
      await attempt(i)
      acked.push(i)
    } catch (error) {
      refused.push(error)
    }
  }

  return {acked, refused}
}

/** A refused write: the full disk's code, and 503 over HTTP (the service cannot take writes now). */
function expectUnwritable(error: unknown): void {
  expect(error).toMatchObject({code: 'VAULT_UNWRITABLE'})
  expect(statusOf(error as JwtisError)).toBe(503)
}

describe.skipIf(!CAN_MOUNT)('a full disk under the file store', () => {
  const s = scratch()
  const mnt = join(s.dir, 'disk')
  beforeAll(() => {
    expect(mountTmpfs(mnt, '2m')).toBe(true)
  })
  beforeEach(() => {
    rmSync(join(mnt, 'store'), {force: true, recursive: true})
    rmSync(join(mnt, 'vault.age'), {force: true})
    rmSync(join(mnt, 'vault.age.tokens'), {force: true, recursive: true})
  })
  afterAll(() => {
    spawnSync('umount', ['-l', mnt])
  })

  it('a journal record is acknowledged only whole, and the next one after a torn one is whole', async () => {
    const dir = join(mnt, 'store')
    mkdirSync(dir, {mode: 0o700})
    const journal = new Journal(dir, 3_600_000) // no checkpoint during the test: the journal stays
    await journal.append(family('before')) // the journal's last page now has room for about 30 more
    fillDisk(mnt)
    const full = await attempts(60, (i) => journal.append(family(`full${i}`)))
    freeDisk(mnt)
    const after = await attempts(3, (i) => journal.append(family(`after${i}`)))

    expect(full.acked.length).toBeGreaterThan(0)
    expect(full.refused.length).toBeGreaterThan(0)
    expect(after.refused).toEqual([])
    // what a replay after an OS crash would read
    const records = readFileSync(join(dir, `journal-${bootId()}-${process.pid}.log`), 'utf8')
      .split('\n')
      .flatMap((line) => {
        try {
          return [(JSON.parse(line) as Family).fam]
        } catch {
          return [] // a torn line
        }
      })
    for (const fam of ['before', ...full.acked.map((i) => `full${i}`), ...after.acked.map((i) => `after${i}`)])
      expect(records, fam).toContain(fam)
    for (const error of full.refused) expectUnwritable(error)
    await journal.close()
  })

  it("a family is acknowledged only once its bucket's log line is whole, and lines after a torn one are whole", async () => {
    const dir = join(mnt, 'store')
    const open = () => new FileStore(dir, {groupCommit: true, storeKey: KEY})
    // bucket AA's log fills its last page up to a line or two, in a journal since checkpointed
    const earlier = open()
    const log = join(dir, 'families', 'AA', 'created.log')
    const room = () => 4096 - (statSync(log).size % 4096)
    for (let i = 0; i === 0 || room() > 300; i++) await earlier.create(family(`AA-earlier${i}`))
    await earlier.close()
    const store = open()
    await store.create(family('BB-first')) // a fresh journal: room for some 25 records
    fillDisk(mnt)
    const intoLog = await attempts(20, (i) => store.create(family(`AA-full${i}`))) // the log lands short first
    const intoJournal = await attempts(40, (i) => store.create(family(`BB-full${i}`))) // then the journal
    freeDisk(mnt)
    const after = await attempts(3, async (i) => {
      await store.create(family(`AA-after${i}`))
      await store.create(family(`BB-after${i}`))
    })

    for (const {refused} of [intoLog, intoJournal]) expect(refused.length).toBeGreaterThan(0)
    expect(after.refused).toEqual([])
    await store.close() // checkpointed: from now on only the logs hold them
    const reader = new FileStore(dir, {storeKey: KEY})
    const acknowledged = [
      ...intoLog.acked.map((i) => `AA-full${i}`),
      ...intoJournal.acked.map((i) => `BB-full${i}`),
      ...after.acked.flatMap((i) => [`AA-after${i}`, `BB-after${i}`]),
    ]
    for (const fam of acknowledged) expect(await reader.check(fam, 'j0', T0), fam).toBe('ok')
    for (const error of [...intoLog.refused, ...intoJournal.refused]) expectUnwritable(error)
  })

  it("a family's change refused by a full disk leaves the family as it was: readable, renewing, no subject kept in clear", async () => {
    const dir = join(mnt, 'store')
    const store = new FileStore(dir, {groupCommit: true, storeKey: KEY})
    await store.create(family('CC-new')) // a line of the bucket's log: its first change makes its file
    // a family file written before subjects were hashed: its next change must replace it whole
    mkdirSync(join(dir, 'families', 'CC'), {mode: 0o700, recursive: true})
    const legacy = join(dir, 'families', 'CC', 'CC-legacy.json')
    writeFileSync(legacy, JSON.stringify({...family('CC-legacy'), sub: 'alice@example.com'}), {mode: 0o600})
    // Refused by the family's own write, its record journaled and its lock taken: the disk is
    // full but for the one page the lock file takes. (A journal the checkpoint set aside
    // meanwhile is a new file with no room: then the journal refuses it first, and it is tried
    // again.)
    const refusedOnDisk = async (fam: string, next: string) => {
      for (let attempt = 0; ; attempt++) {
        await store.create(family(`CC-warm${attempt}`)) // the journal is open, its page has room
        writeFileSync(join(mnt, 'reserve'), Buffer.alloc(4096))
        fillDisk(mnt)
        rmSync(join(mnt, 'reserve'))
        const {refused} = await attempts(1, () => store.rotate(fam, 'j0', next, T0))
        freeDisk(mnt)
        expect(refused).toHaveLength(1)
        expectUnwritable(refused[0])
        const {message} = refused[0] as Error
        if (!/journal-/.test(message) || attempt === 5) return message
      }
    }

    expect(await refusedOnDisk('CC-new', 'j1')).toMatch(/cannot write .*CC-new\.json/)
    expect(await refusedOnDisk('CC-legacy', 'k1')).toMatch(/cannot write .*CC-legacy\.json/)
    // neither change landed: the tokens the clients still hold renew, nothing reads as damaged or reused
    expect(await store.check('CC-new', 'j0', T0)).toBe('ok')
    expect(await store.check('CC-legacy', 'j0', T0)).toBe('ok')
    expect(await store.rotate('CC-new', 'j0', 'j1', T0)).toBe('ok')
    expect(await store.rotate('CC-legacy', 'j0', 'k2', T0)).toBe('ok')
    expect(readFileSync(legacy, 'utf8')).not.toContain('alice')
    expect(await new FileStore(dir, {storeKey: KEY}).check('CC-legacy', 'k2', T0)).toBe('ok')
    await store.close()
  })

  it('serve: every answer is 201 or 503, never 500, and every 201 family renews once there is room', async () => {
    const vault = join(mnt, 'vault.age')
    const env = {...s.env, JWTIS_VAULT: vault}
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    const token = (await jwtisOk(['client', 'add', 'app', '--refresh-strategy', 'refreshBoth'], {env})).stdout.trim()
    const server = await serve(vault, env, ['--workers', '1'])
    try {
      const issue = () => server.request('POST', '/issue_token', {claims: {sub: 'someone'}, kid: 'app'}, token)
      const refresh: string[] = []
      const keep = (answer: {body: {error?: {code: string}; refresh_token: string}; status: number}) => {
        if (answer.status === 201) refresh.push(answer.body.refresh_token)
        return answer
      }

      for (let i = 0; i < 5; i++) expect(keep(await issue()).status).toBe(201)
      fillDisk(mnt)
      const answers = []
      for (let i = 0; i < 80; i++) answers.push(keep(await issue()))
      const statuses = new Set(answers.map((a) => a.status))
      expect([...statuses].filter((status) => status !== 201 && status !== 503)).toEqual([])
      expect(statuses).toContain(503)
      for (const a of answers.filter((answer) => answer.status === 503))
        expect(['STORE_UNAVAILABLE', 'VAULT_UNWRITABLE']).toContain(a.body.error?.code)

      freeDisk(mnt)
      await sleep(2500) // past the journal's checkpoint: the families are in their logs alone
      for (let i = 0; i < 5; i++) expect(keep(await issue()).status).toBe(201)
      for (const rt of refresh) {
        const renewed = await server.request('POST', '/renew_token', {kid: 'app', refresh_token: rt}, token)
        expect(renewed.status, JSON.stringify(renewed.body)).toBe(201)
      }
    } finally {
      await server.stop()
    }
  }, 60_000)
})
