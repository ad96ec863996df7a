import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
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
