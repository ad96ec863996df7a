import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'

import {FileStore} from '../../src/store/file.js'
import {bootId} from '../../src/store/journal.js'
import {ROOT} from '../helpers/cli.js'

const KEY = randomBytes(32).toString('base64url')
const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, {force: true, recursive: true})
})

function storeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jwtis-journal-'))
  dirs.push(dir)
  const store = join(dir, 'v.age.tokens')
  mkdirSync(store, {mode: 0o700})
  return store
}

const family = (fam: string, now = Date.now()) => ({
  client: 'app',
  created: now,
  current: 'cur',
  fam,
  revoked: false,
  sexp: now + 3_600_000,
  sub: 's',
})

describe('file store group commit', () => {
  it('a journaled family is readable by another process at once, and durable after its checkpoint', async () => {
    const dir = storeDir()
    const serving = new FileStore(dir, {groupCommit: true, storeKey: KEY})
    await Promise.all(['f1', 'f2', 'f3'].map((f) => serving.create(family(f))))
    const cli = new FileStore(dir, {storeKey: KEY})
    expect((await cli.get('f2'))?.current).toBe('cur')
    expect(await cli.check('f3', 'cur', Date.now())).toBe('ok')
    await serving.close() // flushes and checkpoints: the journal is gone
    expect(readdirSync(dir).filter((n) => n.startsWith('journal-'))).toEqual([])
  })

  it('after an OS crash (a journal of an earlier boot), families whose files were lost come back', async () => {
    const dir = storeDir()
    const lost = family('lost')
    const expired = {...family('old'), sexp: Date.now() - 1000}
    const kept = {...family('kept'), current: 'rotated-since'}
    const earlierBoot = `journal-${'0'.repeat(32)}-4242.log`
    writeFileSync(
      join(dir, earlierBoot),
      `${JSON.stringify(lost)}\n${JSON.stringify(expired)}\n${JSON.stringify({...kept, current: 'cur'})}\n{"torn`,
    )
    // a journal of this boot describes files that are in the page cache: never replayed
    const thisBoot = `journal-${bootId()}-4243.log`
    writeFileSync(join(dir, thisBoot), `${JSON.stringify(family('not-replayed'))}\n`)
    await new FileStore(dir, {storeKey: KEY}).create(kept) // kept's file survived the crash, with later state

    const store = new FileStore(dir, {storeKey: KEY})
    expect(await store.get('lost')).toMatchObject({current: 'cur', fam: 'lost'})
    expect(await store.get('old')).toBeUndefined()
    expect((await store.get('kept'))?.current).toBe('rotated-since')
    expect(await store.get('not-replayed')).toBeUndefined()
    expect(existsSync(join(dir, earlierBoot))).toBe(false)
    expect(existsSync(join(dir, thisBoot))).toBe(true)
  })

  it('rotations and revocations are journaled too: seen by other processes at once, written back after an OS crash only over older state', async () => {
    const dir = storeDir()
    const serving = new FileStore(dir, {groupCommit: true, storeKey: KEY})
    const now = Date.now()
    await serving.create(family('rj-a', now))
    await serving.create(family('rj-b', now))
    expect(await serving.rotate('rj-a', 'cur', 'next', now)).toBe('ok')
    const journal = readdirSync(dir).find((n) => n.startsWith('journal-'))!
    const cli = new FileStore(dir, {storeKey: KEY})
    expect(await cli.check('rj-a', 'next', now)).toBe('ok')
    expect(await serving.rotate('rj-b', 'spent', 'x', now)).toBe('reused')
    expect(await cli.check('rj-b', 'cur', now)).toBe('revoked')
    const records = readFileSync(join(dir, journal), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
    expect(records.map((r) => [r.fam, r.current, r.revoked, r.n ?? 0])).toEqual([
      ['rj-a', 'cur', false, 0],
      ['rj-b', 'cur', false, 0],
      ['rj-a', 'next', false, 1],
      ['rj-b', 'cur', true, 1],
    ])
    await serving.close()

    // An OS crash lost two files: rj-a is back to its created line, rj-c's file is gone. rj-d was
    // changed again (durably, by a CLI) after the boot, before the journal was replayed.
    const crashed = storeDir()
    const at = (fam: string, n: number, change: object) => JSON.stringify({...family(fam, now), ...change, n})
    writeFileSync(
      join(crashed, `journal-${'0'.repeat(32)}-77.log`),
      [
        at('rk-a', 0, {}),
        at('rk-a', 1, {current: 'r1'}),
        at('rk-a', 2, {current: 'r2'}),
        at('rk-c', 1, {revoked: true}),
        at('rk-d', 1, {current: 'journaled'}),
      ].join('\n'),
    )
    mkdirSync(join(crashed, 'families', 'rk'), {recursive: true})
    writeFileSync(logOf(crashed, 'rk'), `\n${at('rk-a', 0, {})}`)
    writeFileSync(join(crashed, 'families', 'rk', 'rk-d.json'), at('rk-d', 2, {current: 'later'}))
    const store = new FileStore(crashed, {storeKey: KEY})
    expect(await store.check('rk-a', 'r2', now)).toBe('ok')
    expect(await store.check('rk-c', 'cur', now)).toBe('revoked')
    expect(await store.check('rk-d', 'later', now)).toBe('ok')
  })

  it('a family file an OS crash left torn is written again from the journal; with no record it is an error, never the family as made', async () => {
    const dir = storeDir()
    const now = Date.now()
    const at = (fam: string, n: number, change: object) => JSON.stringify({...family(fam, now), ...change, n})
    mkdirSync(join(dir, 'families', 'tj'), {recursive: true})
    writeFileSync(logOf(dir, 'tj'), `\n${at('tj-a', 0, {})}\n${at('tj-b', 0, {})}`)
    writeFileSync(join(dir, 'families', 'tj', 'tj-a.json'), '') // renamed into place, its data lost
    writeFileSync(join(dir, 'families', 'tj', 'tj-b.json'), '{"fam":"tj-b","rev')
    writeFileSync(join(dir, `journal-${'0'.repeat(32)}-78.log`), at('tj-a', 1, {revoked: true}))
    const store = new FileStore(dir, {storeKey: KEY})
    expect(await store.check('tj-a', 'cur', now)).toBe('revoked')
    await expect(store.check('tj-b', 'cur', now)).rejects.toMatchObject({code: 'STORE_UNAVAILABLE'})
    await expect(store.rotate('tj-b', 'cur', 'x', now)).rejects.toMatchObject({code: 'STORE_UNAVAILABLE'})
  })
})

describe('file store: a family changed by serve gets each version as a line of its file', () => {
  it('appends versions, bounds the file, and the last whole line is the family, to every reader', async () => {
    const dir = storeDir()
    const serving = new FileStore(dir, {groupCommit: true, storeKey: KEY})
    const now = Date.now()
    await serving.create(family('av1', now))
    const file = join(dir, 'families', 'av', 'av1.json')
    const versions = () => readFileSync(file, 'utf8').split('\n').filter(Boolean)
    let current = 'cur'
    for (let i = 0; i < 3; i++) {
      expect(await serving.rotate('av1', current, `r${i}`, now)).toBe('ok')
      current = `r${i}`
    }

    // three versions, one line each (a replaced file would hold one)
    expect(versions().map((line) => JSON.parse(line).current)).toEqual(['r0', 'r1', 'r2'])
    const cli = new FileStore(dir, {storeKey: KEY})
    expect(await cli.check('av1', 'r2', now)).toBe('ok')
    expect(await cli.check('av1', 'r1', now)).toBe('reused')
    // (that reuse revoked it: a version appended by the CLI, which writes the file whole)
    expect(versions()).toHaveLength(1)
    expect(await serving.check('av1', 'r2', now)).toBe('revoked')

    // a line being appended (or cut short by a full disk) reads as the version before it
    const fresh = 'av2'
    await serving.create(family(fresh, now))
    expect(await serving.rotate(fresh, 'cur', 'n1', now)).toBe('ok')
    const freshFile = join(dir, 'families', 'av', `${fresh}.json`)
    writeFileSync(freshFile, `${readFileSync(freshFile, 'utf8')}\n{"client":"app","current":"n2","fam":"av2","rev`)
    expect(await cli.check(fresh, 'n1', now)).toBe('ok')
    // and the next version starts on a line of its own
    expect(await serving.rotate(fresh, 'n1', 'n3', now)).toBe('ok')
    expect(await cli.check(fresh, 'n3', now)).toBe('ok')

    // many changes: a version that would take the file past 4 KiB replaces it instead
    for (let i = 4; i < 60; i++) {
      expect(await serving.rotate(fresh, `n${i - 1}`, `n${i}`, now)).toBe('ok')
      expect(statSync(freshFile).size).toBeLessThanOrEqual(4096)
    }

    expect(await cli.check(fresh, 'n59', now)).toBe('ok')
    await serving.close()
  })
})

const logOf = (dir: string, fam: string) => join(dir, 'families', fam.slice(0, 2), 'created.log')

describe("file store: families made by serve live in their bucket's log until they change", () => {
  it('a new family is one log line, not a file; its first change gives it a file that wins', async () => {
    const dir = storeDir()
    const serving = new FileStore(dir, {groupCommit: true, storeKey: KEY})
    await serving.create(family('ab1'))
    expect(readdirSync(join(dir, 'families', 'ab'))).toEqual(['created.log'])
    const cli = new FileStore(dir, {storeKey: KEY})
    expect(await cli.rotate('ab1', 'cur', 'next', Date.now())).toBe('ok')
    expect(readdirSync(join(dir, 'families', 'ab')).sort()).toEqual(['ab1.json', 'created.log'])
    expect(await serving.check('ab1', 'next', Date.now())).toBe('ok')
    expect(await serving.rotate('ab1', 'cur', 'x', Date.now())).toBe('reused')
    expect(await cli.check('ab1', 'next', Date.now())).toBe('revoked')
    await serving.close()
  })

  it('compaction drops expired lines and keeps every line appended while it runs', async () => {
    const dir = storeDir()
    const serving = new FileStore(dir, {groupCommit: true, storeKey: KEY})
    const now = Date.now()
    const expired = Array.from({length: 200}, (_, i) => ({...family(`cd-old${i}`, now), sexp: now - 1}))
    await Promise.all(expired.map((f) => serving.create(f)))
    const other = new FileStore(dir, {groupCommit: true, storeKey: KEY})
    // compactions of the bucket (from another store, as from another worker) race these creates
    const live = Array.from({length: 300}, (_, i) => family(`cd-new${i}`, now))
    const creating = (async () => {
      for (const f of live) await serving.create(f)
    })()
    for (let i = 0; i < 20; i++) await other.compact(now)
    await creating
    await other.compact(now)
    const cli = new FileStore(dir, {storeKey: KEY})
    for (const f of live) expect(await cli.check(f.fam, 'cur', now), f.fam).toBe('ok')
    for (const f of expired.slice(0, 5)) expect(await cli.get(f.fam)).toBeUndefined()
    const lines = readFileSync(logOf(dir, 'cd'), 'utf8').trim().split('\n')
    // (the creates compact their own bucket now and then too: whoever dropped them, none is left)
    expect(new Set(lines.map((l) => JSON.parse(l).fam))).toEqual(new Set(live.map((f) => f.fam)))
    await Promise.all([serving.close(), other.close()])
  })

  it('compaction leaves a log of live families as it is (no rename, no copy), and rewrites one with an expired line', async () => {
    const dir = storeDir()
    const store = new FileStore(dir, {groupCommit: true, storeKey: KEY})
    const now = Date.now()
    const live = Array.from({length: 50}, (_, i) => family(`lv-${i}`, now))
    await Promise.all(live.map((f) => store.create(f)))
    const log = logOf(dir, 'lv')
    const before = statSync(log).ino
    expect(await store.compact(now)).toBe(0)
    expect(statSync(log).ino).toBe(before)
    expect(existsSync(`${log}.old`)).toBe(false)
    await store.create({...family('lv-old', now), sexp: now - 1})
    await store.compact(now)
    // (the create may have tidied its bucket itself: either way the log was rewritten without the line)
    expect(statSync(log).ino).not.toBe(before)
    expect(await store.get('lv-old')).toBeUndefined()
    for (const f of live) expect(await store.check(f.fam, 'cur', now), f.fam).toBe('ok')
    await store.close()
  })

  it('another process compacting the bucket nonstop loses none of the lines this one appends', async () => {
    const dir = storeDir()
    const now = Date.now()
    const script = `
      const {FileStore} = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/store/file.js')).href)})
      const store = new FileStore(process.argv[1], {groupCommit: true, storeKey: '${KEY}'})
      for (let i = 0; i < 3000; i++)
        await store.create({client: 'app', created: ${now}, current: 'cur', fam: 'zz' + i, revoked: false, sexp: ${now} + 3600000, sub: 's'})
      await store.close()`
    const writer = spawn(process.execPath, ['--input-type=module', '-e', script, dir], {stdio: 'inherit'})
    const done = new Promise<null | number>((resolve) => {
      writer.once('exit', resolve)
    })
    const compactor = new FileStore(dir, {storeKey: KEY})
    let rounds = 0
    for (let finished = false; !finished; rounds++) {
      await compactor.compact(now)
      finished = await Promise.race([
        done.then(() => true),
        new Promise<boolean>((resolve) => {
          setImmediate(resolve, false)
        }),
      ])
    }

    expect(await done).toBe(0)
    expect(rounds).toBeGreaterThan(10)
    const cli = new FileStore(dir, {storeKey: KEY})
    for (let i = 0; i < 3000; i++) expect(await cli.check(`zz${i}`, 'cur', now), `zz${i}`).toBe('ok')
  })

  it("a reader in another process never finds a family's file without a whole version in it, as its first change makes it", async () => {
    const dir = storeDir()
    const now = Date.now()
    const count = 2000
    const serving = new FileStore(dir, {groupCommit: true, storeKey: KEY})
    for (let i = 0; i < count; i++) await serving.create(family(`fc${i}`, now))
    // The reader follows the writer: it reads each family until the family's file is there, so
    // its reads crowd the moment each file is made.
    const script = `
      const {statSync} = await import('node:fs')
      const {FileStore} = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/store/file.js')).href)})
      const reader = new FileStore(process.argv[1], {storeKey: '${KEY}'})
      const seen = {}
      process.send('ready')
      for (let i = 0; i < ${count}; i++) {
        const file = process.argv[1] + '/families/fc/fc' + i + '.json'
        for (let made = false; !made; ) {
          made = statSync(file, {throwIfNoEntry: false}) !== undefined
          let what
          try { what = (await reader.get('fc' + i))?.current } catch (error) { what = error.code }
          seen[what] = (seen[what] ?? 0) + 1
        }
      }
      process.send(seen, () => process.exit(0))`
    const reader = spawn(process.execPath, ['--input-type=module', '-e', script, dir], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const message = () =>
      new Promise<unknown>((resolve) => {
        reader.once('message', resolve)
      })
    expect(await message()).toBe('ready')
    const seen = message()
    for (let i = 0; i < count; i++) expect(await serving.rotate(`fc${i}`, 'cur', 'next', now)).toBe('ok')
    const counts = (await seen) as Record<string, number>
    // each family read as it was or as it became (once its file was there, at least), nothing else
    expect(Object.keys(counts).sort()).toEqual(['cur', 'next'])
    await serving.close()
  })

  it('a torn line (a write a full disk cut short) hides neither an earlier line of its family nor a later line', async () => {
    const dir = storeDir()
    const [whole, later] = [family('gh-whole'), family('gh-later')]
    mkdirSync(join(dir, 'families', 'gh'), {recursive: true})
    // the family's line, then a torn copy of it (a re-append that landed short), then another family
    const line = JSON.stringify(whole)
    const torn = line.slice(0, line.indexOf('"revoked"'))
    writeFileSync(logOf(dir, 'gh'), `\n${line}\n${torn}\n${JSON.stringify(later)}`)
    const cli = new FileStore(dir, {storeKey: KEY})
    for (const f of [whole, later]) expect(await cli.check(f.fam, 'cur', Date.now()), f.fam).toBe('ok')
  })

  it('a compaction killed after setting the log aside is finished by the next one, losing nothing', async () => {
    const dir = storeDir()
    const serving = new FileStore(dir, {groupCommit: true, storeKey: KEY})
    await serving.create(family('ef-a'))
    renameSync(logOf(dir, 'ef'), `${logOf(dir, 'ef')}.old`) // killed here
    await serving.create(family('ef-b'))
    const cli = new FileStore(dir, {storeKey: KEY})
    expect(await cli.check('ef-a', 'cur', Date.now())).toBe('ok') // read from the aside log
    await cli.compact(Date.now())
    expect(existsSync(`${logOf(dir, 'ef')}.old`)).toBe(false)
    for (const fam of ['ef-a', 'ef-b']) expect(await cli.check(fam, 'cur', Date.now()), fam).toBe('ok')
    await serving.close()
  })
})

describe('file store compaction', () => {
  it('judges expiry by the caller\'s clock, never the wall clock: a family made "in the past" is kept', async () => {
    const dir = storeDir()
    const store = new FileStore(dir, {storeKey: KEY})
    const past = Date.parse('2020-01-01T00:00:00Z')
    // enough creates that the 1-in-32 sweep of the new family's own bucket surely runs
    const fams = Array.from({length: 400}, (_, i) => `a${String(i).padStart(3, '0')}`)
    for (const fam of fams) await store.create({...family(fam, past), sexp: past + 3_600_000})
    for (const fam of fams) expect(await store.check(fam, 'cur', past + 1000), fam).toBe('ok')
  })
})
