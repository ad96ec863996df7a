import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, expect, it} from 'vitest'

import {VaultError} from '../../src/common/errors.js'
import {FileLock} from '../../src/fs/lock.js'

const deadPid = (): number => {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'})
  return Number(child.stdout)
}

describe('FileLock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jwtis-lock-'))

  it('is exclusive: a second holder waits, then times out with VAULT_LOCKED naming the holder', async () => {
    const path = join(dir, 'a.lock')
    const first = await FileLock.acquire(path, 1000)
    const err = await FileLock.acquire(path, 200).catch((error: unknown) => error)
    expect(err).toBeInstanceOf(VaultError)
    expect((err as VaultError).code).toBe('VAULT_LOCKED')
    expect((err as VaultError).message).toContain(`process ${process.pid}`)
    await first.release()
    expect(existsSync(path)).toBe(false)
    const second = await FileLock.acquire(path, 200)
    await second.release()
  })

  it('breaks the lock of a holder that died', async () => {
    const path = join(dir, 'b.lock')
    writeFileSync(
      path,
      JSON.stringify({host: hostname(), nonce: 'dead', pid: deadPid(), since: new Date().toISOString()}),
    )
    const lock = await FileLock.acquire(path, 500)
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid)
    await lock.assertHeld()
    await lock.release()
  })

  it("does not break a live holder's lock, and a holder that lost its lock cannot commit", async () => {
    const path = join(dir, 'c.lock')
    const lock = await FileLock.acquire(path, 500)
    writeFileSync(
      path,
      JSON.stringify({host: hostname(), nonce: 'thief', pid: process.pid, since: new Date().toISOString()}),
    )
    await expect(lock.assertHeld()).rejects.toMatchObject({code: 'VAULT_LOCKED'})
    await expect(FileLock.acquire(path, 100)).rejects.toMatchObject({code: 'VAULT_LOCKED'})
    await lock.release()
    expect(existsSync(path)).toBe(true) // release leaves a lock that is not ours alone
  })

  it('treats a lock file left empty by a crash as stale only after a while', async () => {
    const path = join(dir, 'd.lock')
    writeFileSync(path, '')
    await expect(FileLock.acquire(path, 100)).rejects.toMatchObject({code: 'VAULT_LOCKED'})
    // as if it had been left 6 s ago: past the 5 s a lock file may take to get its holder
    const before = new Date(Date.now() - 6000)
    utimesSync(path, before, before)
    const lock = await FileLock.acquire(path, 100)
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid)
    await lock.release()
  })
})

describe('FileLock in line (the vault lock)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jwtis-line-'))
  const waiterFiles = (name: string) => readdirSync(dir).filter((f) => f.startsWith(`${name}.wait.`))
  const waiterFile = (name: string, arrived: number, pid: number) =>
    writeFileSync(
      join(dir, `${name}.wait.${String(arrived).padStart(15, '0')}.planted`),
      JSON.stringify({host: hostname(), nonce: 'planted', pid, since: new Date().toISOString()}),
    )

  it('hands the lock over in order of arrival: a newcomer does not pass those already waiting', async () => {
    const path = join(dir, 'order.lock')
    const holder = await FileLock.acquire(path, 5000, {queue: true})
    const order: string[] = []
    const waiter = async (name: string) => {
      const lock = await FileLock.acquire(path, 5000, {queue: true})
      order.push(name)
      await sleep(20)
      await lock.release()
    }

    const waiting: Array<Promise<void>> = []
    for (const name of ['a', 'b', 'c']) {
      waiting.push(waiter(name))
      // until its waiter file is there, so that arrival order is this order
      for (let tries = 0; waiterFiles('order.lock').length < waiting.length; tries++) {
        expect(tries, `${name} never wrote a waiter file`).toBeLessThan(500)
        await sleep(2)
      }
    }

    await holder.release()
    // a newcomer after the release, while a, b and c are still in line
    const newcomer = waiter('newcomer')
    await Promise.all([...waiting, newcomer])
    expect(order).toEqual(['a', 'b', 'c', 'newcomer'])
    expect(waiterFiles('order.lock')).toEqual([])
  })

  it('waits as long as the lock changes hands, and gives up only when one holder keeps it', async () => {
    const path = join(dir, 'progress.lock')
    // five writers holding it 150 ms each: the last waits ~600 ms, twice its 300 ms timeout
    const started = Date.now()
    await Promise.all(
      Array.from({length: 5}, async () => {
        const lock = await FileLock.acquire(path, 300, {queue: true})
        await sleep(150)
        await lock.release()
      }),
    )
    expect(Date.now() - started).toBeGreaterThan(600)

    const stuck = await FileLock.acquire(path, 300, {queue: true})
    const err = await FileLock.acquire(path, 300, {queue: true}).catch((error: unknown) => error)
    expect(err).toMatchObject({code: 'VAULT_LOCKED'})
    expect((err as VaultError).message).toContain(`process ${process.pid}`)
    expect(waiterFiles('progress.lock')).toEqual([])
    await stuck.release()
  })

  it('drops a dead waiter ahead of it at once, and passes over a live one that does not take a free lock', async () => {
    const path = join(dir, 'dead.lock')
    waiterFile('dead.lock', 1, deadPid())
    const lock = await FileLock.acquire(path, 500, {queue: true})
    expect(waiterFiles('dead.lock')).toEqual([])
    await lock.release()

    // a live process (this one) first in line that never takes the lock: stopped with Ctrl-Z
    waiterFile('stopped.lock', 1, process.pid)
    const started = Date.now()
    const next = await FileLock.acquire(join(dir, 'stopped.lock'), 5000, {queue: true})
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000)
    await next.release()
    // and dropped from the line, so that it does not cost every later writer 2 s
    expect(waiterFiles('stopped.lock')).toEqual([])
    const again = Date.now()
    await (await FileLock.acquire(join(dir, 'stopped.lock'), 5000, {queue: true})).release()
    expect(Date.now() - again).toBeLessThan(1000)
  })

  it('skips a dead waiter it cannot remove (as in a directory gone read-only) instead of spinning', async () => {
    // a directory stands in for it: unreadable as a waiter, old, and unlink refuses it even for root
    const stuck = join(dir, `undeletable.lock.wait.${String(1).padStart(15, '0')}.dir`)
    mkdirSync(join(stuck, 'inside'), {recursive: true})
    const before = new Date(Date.now() - 6000)
    utimesSync(stuck, before, before)
    const lock = await FileLock.acquire(join(dir, 'undeletable.lock'), 1000, {queue: true})
    await lock.release()
  }, 5000)

  it('behind a stuck holder, every waiter gives up after its own timeout, not after those ahead of it', async () => {
    const path = join(dir, 'stuck.lock')
    const holder = await FileLock.acquire(path, 500, {queue: true})
    const started = Date.now()
    const waiters = ['a', 'b', 'c'].map(async () => {
      const err = await FileLock.acquire(path, 500, {queue: true}).catch((error: unknown) => error)
      return {code: (err as VaultError).code, ms: Date.now() - started}
    })
    const results = await Promise.all(waiters)
    // each waits its 500 ms (plus polling and a loaded machine), never 1,000–1,500 ms in a queue of timeouts
    for (const r of results) expect(r).toMatchObject({code: 'VAULT_LOCKED'})
    expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(950)
    await holder.release()
  })
})
