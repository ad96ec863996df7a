/**
 * Issue 23's operator items, through the built CLI: JWTIS_AGE_KEY holding a whole identity file,
 * rotation on use said on stderr, and the read-only mode (`--no-write`, JWTIS_READ_ONLY) that
 * never writes the vault, on the fast entry and through oclif alike.
 */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {BOTH_ENTRIES, json, jwtis, jwtisOk, type RunResult, scratch} from '../helpers/cli.js'

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')
const kidOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as {kid: string}).kid

const noticeOf = (out: RunResult) => out.stderr.trim().split('\n')

const T0 = '2026-11-23T12:00:00Z'
/** Two hours on: the client's keys (key-ttl 1h) are due, its refresh tokens (72h) still live. */
const T1 = '2026-11-23T14:00:00Z'

let env: Record<string, string>
let vault: string
let identityFile: string
let firstKid: string
let refresh: string

beforeAll(async () => {
  const s = scratch()
  env = s.env
  vault = join(s.dir, 'vault.age')
  identityFile = join(s.config, 'identity.txt')
  await jwtisOk(['init', '--vault', vault], {env: {...env, JWTIS_NOW: T0}})
  await jwtisOk(['client', 'add', 'web', '--vault', vault, '--key-ttl', '1h', '--refresh-seal', 'client'], {
    env: {...env, JWTIS_NOW: T0},
  })
  const issued = await jwtisOk(['token', 'issue', '-c', 'web', '--refresh', '--vault', vault], {
    env: {...env, JWTIS_NOW: T0},
  })
  ;[firstKid, refresh] = issued.stdout.trim().split('\n')
  firstKid = kidOf(firstKid)
}, 60_000)

describe('JWTIS_AGE_KEY', () => {
  it('takes the whole identity file jwtis wrote: comments, blank lines, CRLF', async () => {
    const file = readFileSync(identityFile, 'utf8')
    expect(file).toMatch(/^# created: /m)
    for (const value of [file, file.replaceAll('\n', '\r\n'), `\n\n${file}\n\n`]) {
      const out = await jwtis(['client', 'list', '--vault', vault, '--json'], {
        env: {JWTIS_AGE_KEY: value, JWTIS_CONFIG_DIR: join(identityFile, '..', 'none')},
      })
      expect(out.code, out.stderr).toBe(0)
      expect(json<Array<{name: string}>>(out).map((c) => c.name)).toEqual(['web'])
    }
  })

  it('refuses a value with no key in it (exit 2), saying what it must hold, without echoing it', async () => {
    const value = '# created: 2026-11-23\n# public key: age1notakeyjustacomment\nsomething-else-entirely'
    const out = await jwtis(['client', 'list', '--vault', vault, '--json'], {
      env: {JWTIS_AGE_KEY: value, JWTIS_CONFIG_DIR: join(identityFile, '..', 'none')},
    })
    expect(out.code).toBe(2)
    const {error} = json<{error: {code: string; message: string}}>(out)
    expect(error.code).toBe('USAGE')
    expect(error.message).toMatch(/JWTIS_AGE_KEY must hold an age identity: its AGE-SECRET-KEY-… line/)
    expect(out.stdout + out.stderr).not.toContain('something-else-entirely')
    expect(out.stdout + out.stderr).not.toContain('age1notakey')
  })
})

describe('keys past key-ttl', () => {
  it('read-only (--no-write or JWTIS_READ_ONLY=1) signs with the current key, leaves the vault as it was, and says so once', async () => {
    const before = sha(vault)
    for (const path of BOTH_ENTRIES) {
      for (const [flags, extra] of [
        [['--no-write'], {}],
        [['--json'], {JWTIS_READ_ONLY: '1'}],
      ] as Array<[string[], Record<string, string>]>) {
        const out = await jwtis(['token', 'issue', '-c', 'web', '--vault', vault, ...flags], {
          env: {...env, ...path, ...extra, JWTIS_NOW: T1},
        })
        expect(out.code, out.stderr).toBe(0)
        const token = flags.includes('--json') ? json<{access_token: string}>(out).access_token : out.stdout.trim()
        expect(kidOf(token)).toBe(firstKid)
        expect(noticeOf(out)).toEqual([
          "warning: web's sig and enc keys past key-ttl, not rotated (read-only): tokens are signed with the current keys; rotate where the vault is kept (jwtis keys rotate --client web)",
        ])
        expect(sha(vault)).toBe(before)
      }
    }
  })

  it('read-only --batch warns once for every line and writes nothing', async () => {
    const before = sha(vault)
    const input = Array.from({length: 600}, (_, i) => `{"sub":"u${i}"}`).join('\n')
    const out = await jwtis(['token', 'issue', '-c', 'web', '--batch', '--quiet', '--no-write', '--vault', vault], {
      env: {...env, JWTIS_NOW: T1},
      input,
    })
    expect(out.code, out.stderr).toBe(0)
    const lines = out.stdout.trim().split('\n')
    expect(lines).toHaveLength(600)
    expect(new Set(lines.map((l) => kidOf((JSON.parse(l) as {access_token: string}).access_token)))).toEqual(
      new Set([firstKid]),
    )
    expect(noticeOf(out)).toHaveLength(1)
    expect(sha(vault)).toBe(before)
  })

  it('read-only renew keeps the keys too', async () => {
    const before = sha(vault)
    const out = await jwtis(['token', 'renew', '-c', 'web', refresh, '--vault', vault, '--json'], {
      env: {...env, JWTIS_NOW: T1, JWTIS_READ_ONLY: 'true'},
    })
    expect(out.code, out.stderr).toBe(0)
    expect(kidOf(json<{access_token: string}>(out).access_token)).toBe(firstKid)
    expect(noticeOf(out)[0]).toMatch(/^warning: web's sig and enc keys past key-ttl, not rotated \(read-only\)/)
    expect(sha(vault)).toBe(before)
  })

  it('commands that exist to write the vault refuse under JWTIS_READ_ONLY (exit 2), naming it', async () => {
    const before = sha(vault)
    for (const [name, args] of [
      ['client add', ['client', 'add', 'api']],
      ['client remove', ['client', 'remove', 'web', '--yes']],
      ['keys rotate', ['keys', 'rotate', '--client', 'web']],
      ['vault upgrade', ['vault', 'upgrade']],
      ['init', ['init']],
    ] as Array<[string, string[]]>) {
      const out = await jwtis([...args, '--vault', vault, '--json'], {env: {...env, JWTIS_READ_ONLY: '1'}})
      expect(out.code, name).toBe(2)
      expect(json<{error: {message: string}}>(out).error.message).toBe(
        `jwtis ${name} writes the vault: refused while JWTIS_READ_ONLY=1`,
      )
    }

    expect(sha(vault)).toBe(before)
    // 0 turns it off
    expect((await jwtis(['keys', 'list', '--vault', vault], {env: {...env, JWTIS_READ_ONLY: '0'}})).code).toBe(0)
  })

  it('otherwise rotates them on use and says so on stderr (under --json too), naming the new kids', async () => {
    const before = sha(vault)
    const out = await jwtis(['token', 'issue', '-c', 'web', '--vault', vault, '--json'], {
      env: {...env, JWTIS_NOW: T1},
    })
    expect(out.code, out.stderr).toBe(0)
    const kid = kidOf(json<{access_token: string}>(out).access_token)
    expect(kid).not.toBe(firstKid)
    const lines = noticeOf(out)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      new RegExp(
        String.raw`^Rotated keys past their key-ttl and rewrote the vault: web sig → kid ${kid}, web enc → kid [\w-]{43} \(--no-write or JWTIS_READ_ONLY=1 signs with the current keys instead\)$`,
      ),
    )
    expect(sha(vault)).not.toBe(before)
    // the next one has nothing to rotate, and says nothing
    const next = await jwtis(['token', 'issue', '-c', 'web', '--vault', vault], {env: {...env, JWTIS_NOW: T1}})
    expect([next.code, next.stderr]).toEqual([0, ''])
  })
})
