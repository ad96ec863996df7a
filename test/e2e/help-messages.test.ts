/**
 * Help and messages (issue 23): what help lists, what a mistake is told, what a result ends
 * with. The built CLI as a subprocess; where a command runs on both the fast entry and oclif
 * (JWTIS_FAST=0), both are run and must say the same.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {json, jwtis, jwtisOk, jwtisTty, ROOT, type RunOptions, type RunResult, scratch} from '../helpers/cli.js'

let env: Record<string, string>
let dir: string
let vault: string
let access: string
let refresh: string

beforeAll(async () => {
  const s = scratch()
  dir = s.dir
  env = s.env
  vault = join(dir, 'vault.age')
  await jwtisOk(['init', '--vault', vault], {env})
  await jwtisOk(['client', 'add', 'web', '--vault', vault], {env})
  await jwtisOk(['client', 'add', 'billing', '--vault', vault], {env})
  const issued = await jwtisOk(['token', 'issue', '--client', 'web', '--refresh', '--vault', vault], {env})
  ;[access, refresh] = issued.stdout.trim().split('\n')
}, 60_000)

/** Tokens, their ids and times differ run to run: what must agree is the rest. */
const stable = (text: string) =>
  text
    .replaceAll(/eyJ[\w.-]+/g, '<token>')
    .replaceAll(/"(id|expiry)":"?[\w-]+"?/g, '')
    // `token decode`'s times as people read them, relative to when each run read the clock
    .replaceAll(/ \((in [^()]*|[^()]* ago)\)/g, ' (<when>)')

/** The command line through the fast entry and through oclif: both results, which must agree. */
async function bothPaths(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const fast = await jwtis(args, {...options, env: {...env, ...options.env}})
  const slow = await jwtis(args, {...options, env: {...env, ...options.env, JWTIS_FAST: '0'}})
  expect([slow.code, stable(slow.stderr), stable(slow.stdout)], args.join(' ')).toEqual([
    fast.code,
    stable(fast.stderr),
    stable(fast.stdout),
  ])
  return fast
}

const errorOf = (result: RunResult) => json<{error: {code: string; message: string}}>(result).error

describe('help', () => {
  it("every topic's summary names each of its commands, so it cannot fall behind them", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
    const topics = pkg.oclif.topics as Record<string, {description: string}>
    const commands = Object.values(manifest.commands as Record<string, {hidden?: boolean; id: string}>)
    const missing = Object.entries(topics).flatMap(([topic, {description}]) =>
      commands
        .filter((c) => !c.hidden && c.id.startsWith(`${topic}:`))
        .map((c) => c.id.slice(topic.length + 1))
        .filter((name) => !new RegExp(`\\b${name}`, 'i').test(description))
        .map((name) => `${topic} ${name}: not in "${description}"`),
    )
    expect(missing).toEqual([])
    // every topic has commands (a topic of nothing would pass the check above)
    for (const topic of Object.keys(topics))
      expect(
        commands.some((c) => c.id.startsWith(`${topic}:`)),
        topic,
      ).toBe(true)
  })

  it('an alias is not listed as a command of its own, and still runs', async () => {
    const help = await jwtisOk(['client', '--help'], {env})
    expect(help.stdout).toMatch(/^ {2}client remove /m)
    expect(help.stdout).not.toMatch(/client rm/)
    const rm = await jwtis(['client', 'rm', 'nobody', '--yes', '--vault', vault, '--json'], {env})
    expect([rm.code, errorOf(rm).code]).toEqual([4, 'CLIENT_NOT_FOUND'])
  })

  it('help for an unknown command says so as an unknown command does: one line, the closest commands, exit 2', async () => {
    const direct = await jwtis(['nope'], {env})
    expect(direct).toMatchObject({code: 2, stderr: 'Error: unknown command `jwtis nope`: see `jwtis --help`\n'})
    for (const args of [
      ['help', 'nope'],
      ['nope', '--help'],
      ['help', 'nope', '--json'], // help is text: --json is dropped, never a stack trace
    ]) {
      expect(await jwtis(args, {env}), args.join(' ')).toMatchObject({code: 2, stderr: direct.stderr, stdout: ''})
    }

    const near = await jwtis(['help', 'token', 'isue'], {env})
    expect(near).toMatchObject({
      code: 2,
      stderr: 'Error: unknown command `jwtis token isue`: did you mean `jwtis token issue`?\n',
    })
    // help that exists is unchanged
    expect((await jwtisOk(['help', 'token', 'issue'], {env})).stdout).toMatch(/^Issue an access token/)
    expect((await jwtisOk(['help', 'token', 'issue', '--json'], {env})).stdout).toMatch(/^Issue an access token/)
  })

  it("token issue's usage: --batch is a way of running it, not something --progress depends on", async () => {
    const help = (await jwtisOk(['token', 'issue', '--help'], {env})).stdout
    const usage = help.slice(help.indexOf('USAGE'), help.indexOf('\nFLAGS')).replaceAll(/\s+/g, ' ')
    expect(usage).not.toMatch(/--progress \[/)
    expect(usage).toContain('$ jwtis token issue -c <value> --batch [--progress] [--quiet]')
    expect(usage).toContain('[--claim <value>... | --claims <value>]')
  })
})

describe('a mistyped flag', () => {
  it('is told the closest flags, one line, exit 2, on the fast entry and oclif alike', async () => {
    const out = await bothPaths(['token', 'issue', '--clent', 'web', '--vault', vault])
    expect(out).toMatchObject({code: 2, stderr: 'Error: Nonexistent flag: --clent; did you mean `--client`?\n'})
    const asJson = await bothPaths(['token', 'verify', access, '--vault', vault, '--audd', 'x', '--json'])
    expect([asJson.code, errorOf(asJson)]).toEqual([
      2,
      {code: 'USAGE', message: 'Nonexistent flag: --audd; did you mean `--aud`?'},
    ])
    // an oclif-only command, and a flag's alias counts as a name
    const add = await jwtis(['client', 'add', 'x', '--sig-alq', 'ES256', '--vault', vault], {env})
    expect(add).toMatchObject({code: 2, stderr: 'Error: Nonexistent flag: --sig-alq; did you mean `--sig-alg`?\n'})
  })

  it('with nothing close keeps the plain message', async () => {
    const out = await bothPaths(['token', 'issue', '--client', 'web', '--vault', vault, '--zzzzzzzz'])
    expect(out).toMatchObject({code: 2, stderr: 'Error: Nonexistent flag: --zzzzzzzz (see --help)\n'})
  })
})

describe('--version', () => {
  it('--json prints JSON, with or without the fast entry', async () => {
    const {version} = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    const out = await bothPaths(['--version', '--json'])
    expect(out.code).toBe(0)
    expect(json(out)).toEqual({
      architecture: `${process.platform}-${process.arch}`,
      cliVersion: `jwtis/${version}`,
      nodeVersion: expect.stringMatching(/^node-v\d+\.\d+\.\d+/),
      osVersion: expect.any(String),
      version,
    })
  })
})

describe('time and JSON mistakes', () => {
  it('--nbf names every form it takes (a duration, RFC 3339, epoch seconds), wherever it is parsed', async () => {
    const secret = join(dir, 'hs.secret')
    writeFileSync(secret, 'a-secret-of-at-least-thirty-two-bytes!!')
    for (const args of [
      ['token', 'issue', '--client', 'web', '--vault', vault, '--nbf', 'yesterday'],
      ['token', 'sign', '--secret', `@${secret}`, '--alg', 'HS256', '--nbf', 'yesterday'],
      ['token', 'sign', '--secret', `@${secret}`, '--alg', 'HS256', '--exp', 'tomorrow'],
    ]) {
      const out = await bothPaths(args)
      expect(out.code, args.join(' ')).toBe(2)
      expect(out.stderr).toMatch(
        /^Error: invalid --(nbf|exp) "\w+": use a Go duration from now .*, an RFC 3339 time .* or seconds since the epoch\n$/,
      )
    }

    // what it says works does
    const ok = await bothPaths(['token', 'issue', '--client', 'web', '--vault', vault, '--nbf', '2026-01-02T15:04:05Z'])
    expect(ok.code, ok.stderr).toBe(0)
  })

  it('--claims that is not JSON says where it breaks', async () => {
    const one = await bothPaths(['token', 'issue', '--client', 'web', '--vault', vault, '--claims', '{"sub":1'])
    expect(one).toMatchObject({code: 2, stderr: 'Error: --claims is not valid JSON at column 9\n'})
    const file = join(dir, 'claims.json')
    writeFileSync(file, '{\n  "role": admin\n}\n')
    const lines = await bothPaths(['token', 'issue', '--client', 'web', '--vault', vault, '--claims', `@${file}`])
    expect(lines).toMatchObject({code: 2, stderr: 'Error: --claims is not valid JSON at line 2, column 11\n'})
    const batch = await bothPaths(['token', 'issue', '--client', 'web', '--vault', vault, '--batch', '--quiet'], {
      input: '{"sub":"a"}\n{"sub":"b",}\n',
    })
    expect(batch.code).toBe(2)
    expect(JSON.parse(batch.stdout.trim().split('\n')[1]).error.message).toBe('line 2 is not valid JSON at column 12')
  })
})

describe('verify, decode and decrypt', () => {
  it("token verify --client names the client that signed another client's token (exit 1)", async () => {
    const out = await bothPaths(['token', 'verify', access, '--client', 'billing', '--vault', vault, '--json'])
    expect([out.code, errorOf(out)]).toEqual([
      1,
      {code: 'UNKNOWN_KID', message: 'the token is signed by client web, not by billing'},
    ])
    expect((await bothPaths(['token', 'verify', access, '--client', 'web', '--vault', vault, '--json'])).code).toBe(0)
    // a key no client of the vault has is still an unknown kid
    const key = join(dir, 'foreign.jwk')
    writeFileSync(key, (await jwtisOk(['jwk', 'create', '--alg', 'ES256'], {env})).stdout)
    const foreign = (
      await jwtisOk(['token', 'sign', '--key', key, '--sub', 'x', '--typ', 'at+jwt'], {env})
    ).stdout.trim()
    const unknown = await bothPaths(['token', 'verify', foreign, '--client', 'billing', '--vault', vault, '--json'])
    expect([unknown.code, errorOf(unknown)]).toEqual([
      1,
      {code: 'UNKNOWN_KID', message: expect.stringMatching(/^no key with kid /)},
    ])
  })

  it('token decode of a refresh token (a JWE) points at `jwtis jwe decrypt -`, not at token verify', async () => {
    const jwe = await bothPaths(['token', 'decode', refresh])
    expect(jwe.code).toBe(0)
    expect(jwe.stderr).toContain('run `jwtis jwe decrypt -` and paste the token')
    expect(jwe.stderr).not.toContain('token verify')
    const jws = await bothPaths(['token', 'decode', access])
    expect(jws.stderr).toContain('run `jwtis token verify` to check it')
    const tty = await jwtisTty(['token', 'decode', refresh], {env})
    expect(tty.stdout).toContain('`jwtis jwe decrypt -`')
    expect(tty.stdout).not.toContain('token verify')
  })

  it('jwe decrypt ends a nested JWT with a newline', async () => {
    const out = await bothPaths(['jwe', 'decrypt', refresh, '--vault', vault])
    expect(out.code, out.stderr).toBe(0)
    expect(out.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/)
  })
})

describe('config set vault', () => {
  it('refuses a path in a directory that does not exist, warns for a file not made yet', async () => {
    const s = scratch()
    const missing = await jwtis(['config', 'set', 'vault', join(s.dir, 'no-such-dir', 'v.age')], {env: s.env})
    expect(missing).toMatchObject({code: 2, stderr: expect.stringMatching(/^Error: .*no-such-dir.* does not exist\n$/)})
    expect((await jwtis(['config', 'get', 'vault'], {env: s.env})).code).toBe(4)

    const later = join(s.dir, 'later.age')
    const warned = await jwtisOk(['config', 'set', 'vault', later], {env: s.env})
    expect(warned.stderr).toBe(
      `vault = ${later}\nwarning: ${later} does not exist yet (\`jwtis init --vault ${later}\` creates it)\n`,
    )
    expect((await jwtisOk(['config', 'set', 'vault', vault], {env: s.env})).stderr).toBe(`vault = ${vault}\n`)
  })
})

describe('token issue --batch progress', () => {
  it('shows no ETA until the pace is measured', async () => {
    const input = join(dir, 'batch.ndjson')
    // long lines: stdin is read in 64 KiB chunks, and the first drawing must find some of it unread
    const pad = 'x'.repeat(200)
    writeFileSync(input, Array.from({length: 2500}, (_, i) => `{"sub":"u${i}","pad":"${pad}"}\n`).join(''))
    const output = join(dir, 'batch.out')
    for (const fast of ['1', '0']) {
      const tty = await jwtisTty(['token', 'issue', '--client', 'web', '--vault', vault, '--batch'], {
        env: {...env, JWTIS_FAST: fast},
        redirect: {stdin: input, stdout: output},
      })
      expect(tty.code, tty.stdout).toBe(0)
      const first = tty.stdout.split('\r\u001B[2K').find(Boolean)!
      // the first drawing knows how far through stdin it is, and says nothing of the time left
      expect(first, `JWTIS_FAST=${fast}`).toMatch(/^[\d,]+ lines? · [\d,]+\/s · \d+%$/)
      expect(Number(/(\d+)%$/.exec(first)![1]), first).toBeLessThan(100)
    }
  })
})
