/**
 * Bad input to every command, generated from the commands' own flag lists (oclif.manifest.json):
 * missing arguments and required flags, values outside an option list, bad durations, files that
 * are missing, directories, binary or 10 MB, closed stdin, and over-long arguments. Each must end
 * with one line on stderr, a documented exit code, and the vault byte-for-byte unchanged.
 */
import {spawn} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {BIN, cleanEnv, NODE, ROOT, scratch} from '../helpers/cli.js'
import {cli, cliOk} from '../helpers/run-command.js'

interface FlagSpec {
  options?: string[]
  required?: boolean
  type: 'boolean' | 'option'
}
interface CommandSpec {
  args: Record<string, {required?: boolean}>
  flags: Record<string, FlagSpec>
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, CommandSpec>
}

/** Flags that take a duration, and flags that name a file to read. */
const DURATIONS = new Set([
  'access-ttl',
  'exp',
  'grace',
  'keep-alive-timeout',
  'key-ttl',
  'leeway',
  'max-access-ttl',
  'max-age',
  'max-session-ttl',
  'nbf',
  'refresh-ttl',
  'request-timeout',
  'session-ttl',
  'ttl',
])
const FILES = new Set(['identity', 'jwks', 'key', 'passphrase-file', 'password-file', 'secret-file', 'verify-key'])

interface Outcome {
  code: null | number
  stderr: string
  stdout: string
}

/**
 * Runs the command with stdin closed (or fed `input`): in this process, but `serve` as a
 * subprocess, which a bad input it took would leave listening.
 */
function run(args: string[], env: Record<string, string>, input?: string): Promise<Outcome> {
  if (args[0] !== 'serve') return cli(args, {env, input})
  return new Promise((resolve, reject) => {
    // (a server that took its bad input and went on is stopped and reported)
    const child = spawn(NODE, [BIN, ...args], {
      cwd: ROOT,
      env: cleanEnv(env),
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: 20_000,
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stderr, stdout}))
    if (input !== undefined) {
      // (a command that refuses early closes its stdin while 10 MB are still on their way)
      child.stdin!.on('error', () => {})
      child.stdin!.end(input)
    }
  })
}

/** `args` without the flag `--name` and its value. */
function without(args: string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) i++
    else out.push(args[i])
  }

  return out
}

describe('bad input to every command', () => {
  const s = scratch()
  const vault = join(s.dir, 'vault.age')
  const env = {...s.env, JWTIS_VAULT: vault}
  const files: Record<string, string> = {}
  let tokens: {access: string; jwe: string; refresh: string}
  const hash = () => createHash('sha256').update(readFileSync(vault)).digest('hex')

  beforeAll(async () => {
    await cliOk(['init', '--vault', vault], {env: s.env})
    await cliOk(['client', 'add', 'app'], {env})
    const issued = JSON.parse((await cliOk(['token', 'issue', '--client', 'app', '--refresh', '--json'], {env})).stdout)
    const jwe = (await cliOk(['jwe', 'encrypt', 'x', '--to', 'app'], {env})).stdout.trim()
    tokens = {access: issued.access_token, jwe, refresh: issued.refresh_token}
    files.dir = join(s.dir, 'a-directory')
    mkdirSync(files.dir)
    files.missing = join(s.dir, 'no-such-file')
    files.binary = join(s.dir, 'binary.bin')
    writeFileSync(files.binary, randomBytes(4096))
    files.huge = join(s.dir, 'huge.txt')
    writeFileSync(files.huge, 'A'.repeat(10 * 1024 * 1024))
    files.key = join(s.dir, 'key.jwk')
    writeFileSync(files.key, (await cliOk(['jwk', 'create', '--alg', 'ES256'], {env})).stdout)
  }, 60_000)

  /** What each command needs to get as far as its flags: the mistake under test is the only one. */
  const base = (): Record<string, string[]> => ({
    'client:add': ['fresh'],
    'client:remove': ['app'],
    'client:show': ['app'],
    'client:update': ['app'],
    'config:get': ['vault'],
    // a vault of its own: init must refuse before creating anything, and never touch the other
    init: ['--vault', join(s.dir, 'never', 'vault.age')],
    'jwe:decrypt': [tokens.jwe],
    'jwe:encrypt': ['x', '--to', 'app'],
    'jwk:create': ['--alg', 'ES256'],
    'jwk:public': [files.key],
    'jwk:thumbprint': [files.key],
    'keys:import': ['--client', 'app', files.key],
    'keys:rotate': ['--client', 'app'],
    serve: ['--listen', '127.0.0.1:0'],
    'token:decode': [tokens.access],
    'token:issue': ['--client', 'app'],
    'token:renew': ['--client', 'app', tokens.refresh],
    'token:revoke': ['--client', 'app', tokens.refresh],
    'token:sign': ['--key', files.key],
    'token:verify': [tokens.access],
  })

  /** Every bad command line, with the exit codes it may end with. */
  function cases(): Array<{args: string[]; exits: number[]; input?: string; what: string}> {
    const out: Array<{args: string[]; exits: number[]; input?: string; what: string}> = []
    const good = base()
    for (const [id, spec] of Object.entries(manifest.commands)) {
      const words = id.split(':')
      const given = good[id] ?? []
      const requiredArgs = Object.values(spec.args ?? {}).some((a) => a.required)
      const requiredFlags = Object.entries(spec.flags).filter(([, f]) => f.required)
      if (requiredArgs || requiredFlags.length > 0) out.push({args: words, exits: [2], what: `${id} with nothing`})
      for (const [name, flag] of Object.entries(spec.flags)) {
        if (flag.type === 'boolean' || name === 'json' || name === 'vault') continue
        const withFlag = (value: string) => [...words, ...without(given, name), `--${name}`, value]
        if (flag.options) out.push({args: withFlag('NOPE'), exits: [2], what: `${id} --${name} NOPE`})
        if (DURATIONS.has(name)) {
          for (const value of ['soon', '1e400h', '9'.repeat(400)])
            out.push({args: withFlag(value), exits: [2], what: `${id} --${name} ${value.slice(0, 12)}`})
        }

        if (FILES.has(name) || name === 'claims' || name === 'secret') {
          const at = name === 'claims' || name === 'secret' ? '@' : ''
          // random bytes are a fine secret or passphrase, but never a key, a JWKS or claims
          const binaryIsBad = ['claims', 'identity', 'jwks', 'key', 'verify-key'].includes(name)
          // (init saves a new identity where --identity names a file that is not there yet)
          const missingIsBad = !(id === 'init' && name === 'identity')
          const kinds = [...(missingIsBad ? ['missing'] : []), 'dir', ...(binaryIsBad ? ['binary'] : []), 'huge']
          for (const kind of kinds) {
            // a binary or huge identity cannot open the vault: exit 3 is that failure's code
            const exits = name === 'identity' && (kind === 'binary' || kind === 'huge') ? [2, 3] : [2]
            // each case its own missing path, so that no case can create one another relies on
            const path = kind === 'missing' ? `${files.missing}-${out.length}` : files[kind as keyof typeof files]
            out.push({args: withFlag(at + path), exits, what: `${id} --${name} ${kind}`})
          }
        }
      }

      const tokenArg = Object.keys(spec.args ?? {}).find((a) => ['file', 'key', 'plaintext', 'token'].includes(a))
      if (tokenArg && id !== 'jwe:encrypt') {
        const flagsOnly = given.flatMap((g, i) => (g.startsWith('--') ? [g, given[i + 1]] : []))
        const command = [...words, ...flagsOnly]
        const tenMb = 'A'.repeat(10 * 1024 * 1024)
        out.push(
          {args: [...command, '-'], exits: [2], what: `${id} - with stdin closed`},
          {args: [...command, '-'], exits: [1, 2], input: tenMb, what: `${id} - fed 10 MB`},
          {args: [...command, `@${files.huge}`], exits: [1, 2], what: `${id} @10 MB file`},
          {args: [...command, 'x'.repeat(120_000)], exits: [1, 2], what: `${id} a 120 KB argument`},
          {args: [...command, `@${files.binary}`], exits: [1, 2], what: `${id} @binary file`},
        )
      }
    }

    return out
  }

  it('every case: one line on stderr, a documented exit code, no stack, the vault unchanged', async () => {
    const all = cases()
    expect(all.length).toBeGreaterThan(150)
    process.stdout.write(
      `bad input: ${all.length} command lines over ${Object.keys(manifest.commands).length} commands\n`,
    )
    const before = hash()
    const failures: string[] = []
    // a few at a time: the machine has two cores
    for (let i = 0; i < all.length; i += 6) {
      const batch = all.slice(i, i + 6)
      const results = await Promise.all(batch.map((c) => run(c.args, env, c.input)))
      for (const [j, out] of results.entries()) {
        const c = batch[j]
        const lines = out.stderr.trimEnd().split('\n')
        if (!c.exits.includes(out.code ?? -1))
          failures.push(`${c.what}: exit ${out.code}, expected ${c.exits.join('|')}: ${out.stderr.slice(0, 300)}`)
        else if (lines.length !== 1 || !lines[0].startsWith('Error: '))
          failures.push(`${c.what}: stderr ${JSON.stringify(out.stderr.slice(0, 400))}`)
        else if (/\bat .+:\d+:\d+/.test(out.stderr + out.stdout)) failures.push(`${c.what}: a stack trace`)
      }

      expect(hash(), `after ${batch.map((c, j) => `${c.what} (exit ${results[j].code})`).join(', ')}`).toBe(before)
    }

    expect(failures).toEqual([])
  }, 600_000)
})
