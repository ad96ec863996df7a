import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {FileStore} from '../../src/store/file.js'
import {bootId} from '../../src/store/journal.js'

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
    const serving = new FileStore(dir, {groupCommit: true})
    await Promise.all(['f1', 'f2', 'f3'].map((f) => serving.create(family(f))))
    const cli = new FileStore(dir)
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
    await new FileStore(dir).create(kept) // kept's file survived the crash, with later state

    const store = new FileStore(dir)
    expect(await store.get('lost')).toMatchObject({current: 'cur', fam: 'lost'})
    expect(await store.get('old')).toBeUndefined()
    expect((await store.get('kept'))?.current).toBe('rotated-since')
    expect(await store.get('not-replayed')).toBeUndefined()
    expect(existsSync(join(dir, earlierBoot))).toBe(false)
    expect(existsSync(join(dir, thisBoot))).toBe(true)
  })
})

describe('file store compaction', () => {
  it('judges expiry by the caller\'s clock, never the wall clock: a family made "in the past" is kept', async () => {
    const dir = storeDir()
    const store = new FileStore(dir)
    const past = Date.parse('2020-01-01T00:00:00Z')
    // enough creates that the 1-in-32 sweep of the new family's own bucket surely runs
    const fams = Array.from({length: 400}, (_, i) => `a${String(i).padStart(3, '0')}`)
    for (const fam of fams) await store.create({...family(fam, past), sexp: past + 3_600_000})
    for (const fam of fams) expect(await store.check(fam, 'cur', past + 1000), fam).toBe('ok')
  })
})
