/**
 * The fast entry (bin/run.js → dist/fast/cli.cjs) runs every command with a body in
 * src/cli/actions without oclif. Whatever it does must be what oclif does: the same command lines through both
 * (JWTIS_FAST=0 turns the fast entry off) give the same stdout, stderr and exit code. Each run
 * also reports whether it loaded oclif (test/fast/oclif-probe.mjs, preloaded), so that a fast
 * entry switched off, or handing back what it should run, fails here.
 */
import {execFileSync} from 'node:child_process'
import {generateKeyPairSync} from 'node:crypto'
import {chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {jwtis, jwtisOk, NODE, type RunOptions, type RunResult, scratch} from '../helpers/cli.js'

let env: Record<string, string>
let vault: string
let token: string
let refresh: string
let pem: string
let jwk: string
let probeOut: string
const NOW = {JWTIS_NOW: '2026-11-23T12:00:00Z'}

beforeAll(async () => {
  const s = scratch()
  env = {...s.env, ...NOW}
  probeOut = join(s.dir, 'probe')
  vault = join(s.dir, 'vault.age')
  await jwtisOk(['init', '--vault', vault], {env})
  await jwtisOk(['client', 'add', 'app', '--vault', vault, '--aud', 'https://api'], {env})
  const issued = await jwtisOk(['token', 'issue', '-c', 'app', '--refresh', '--vault', vault], {env})
  const lines = issued.stdout.trim().split('\n')
  token = lines[0]
  refresh = lines[1]
  pem = join(s.dir, 'sig.pem')
  writeFileSync(pem, (await jwtisOk(['keys', 'export', '--vault', vault, '--format', 'pem'], {env})).stdout)
  jwk = join(s.dir, 'ec.jwk')
  writeFileSync(
    jwk,
    JSON.stringify(generateKeyPairSync('ec', {namedCurve: 'P-256'}).privateKey.export({format: 'jwk'})),
  )
}, 60_000)

/**
 * Token ids and signatures differ run to run: compare what does not. (oclif also warns under
 * NODE_ENV=test, which vitest sets, that a command whose flags failed to parse "did not parse
 * its arguments": users never see that line.)
 */
const stable = (text: string) =>
  text
    .replaceAll(/eyJ[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+/g, '<jwe>')
    .replaceAll(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, '<jwt>')
    .replaceAll(/"(jti|id)": ?"[\w-]+"/g, '"$1": "<id>"')
    // a new key's members (and its kid, a thumbprint)
    .replaceAll(/"(d|k|kid|n|p|q|dp|dq|qi|x|y)": "[\w-]+"/g, '"$1": "<b64>"')
    .replaceAll(/(-----BEGIN [A-Z ]+-----\n)[\s\S]*?(-----END)/g, '$1<pem>\n$2')
    .replaceAll(/^\(node:\d+\) \[UnparsedCommand\].*\n(\(Use `node --trace-warnings.*\n)?/gm, '')
    // `token decode`'s times as people read them, relative to when each run read the clock
    .replaceAll(/ \((in [^()]*|[^()]* ago)\)/g, ' (<when>)')

const PROBE = join(import.meta.dirname, '../fast/oclif-probe.mjs')

/** Runs the CLI with the probe: its result, and which ran it ('fast' or 'oclif'). */
async function probed(args: string[], options: RunOptions): Promise<RunResult & {path: string}> {
  const nodeOptions = [process.env.NODE_OPTIONS, `--import ${PROBE}`].filter(Boolean).join(' ')
  const result = await jwtis(args, {
    ...options,
    env: {...options.env, NODE_OPTIONS: nodeOptions, OCLIF_PROBE_OUT: probeOut},
  })
  return {...result, path: readFileSync(probeOut, 'utf8')}
}

type Path = 'fast' | 'oclif'

describe('fast entry and oclif agree', () => {
  // [name, command line, the path the fast entry takes, extra environment and stdin]
  const cases: Array<[string, () => string[], Path, (() => RunOptions)?]> = [
    ['issue', () => ['token', 'issue', '--client', 'app', '--vault', vault], 'fast'],
    [
      'issue --json with claims',
      () => [
        'token',
        'issue',
        '-c',
        'app',
        '--sub=alice',
        '--claim',
        'n=1',
        '--aud',
        'https://api',
        '--vault',
        vault,
        '--json',
      ],
      'fast',
    ],
    [
      'issue --no-encrypt --refresh',
      () => ['token', 'issue', '-capp', '--no-encrypt', '--refresh', `--vault=${vault}`],
      'fast',
    ],
    // oclif's CONTENT_TYPE variable turns JSON output on as --json does
    [
      'issue with JWTIS_CONTENT_TYPE=json',
      () => ['token', 'issue', '-c', 'app', '--vault', vault],
      'fast',
      () => ({env: {JWTIS_CONTENT_TYPE: 'json'}}),
    ],
    ['issue for an unknown client', () => ['token', 'issue', '--client', 'nobody', '--vault', vault, '--json'], 'fast'],
    [
      'issue for a refused audience',
      () => ['token', 'issue', '--client', 'app', '--aud', 'https://elsewhere', '--vault', vault],
      'fast',
    ],
    ['issue with no vault', () => ['token', 'issue', '--client', 'app', '--vault', `${vault}.missing`], 'fast'],
    [
      'issue with a bad --ttl',
      () => ['token', 'issue', '--client', 'app', '--ttl', '5 minutes', '--vault', vault, '--json'],
      'oclif',
    ],
    [
      'issue with an unknown flag',
      () => ['token', 'issue', '--client', 'app', '--frobnicate', '--vault', vault],
      'oclif',
    ],
    ['issue without --client', () => ['token', 'issue', '--vault', vault, '--json'], 'oclif'],
    [
      'issue --quiet without --batch',
      () => ['token', 'issue', '--client', 'app', '--quiet', '--vault', vault],
      'oclif',
    ],
    // the batch's worker threads start from dist/cli/batch-worker.js, found from the bundle too
    [
      'issue --batch',
      () => ['token', 'issue', '--client', 'app', '--batch', '--quiet', '--vault', vault],
      'fast',
      () => ({input: Array.from({length: 300}, (_, i) => `{"sub":"u${i}"}`).join('\n')}),
    ],
    ['verify with the vault', () => ['token', 'verify', token, '--vault', vault, '--json'], 'fast'],
    ['verify with --key', () => ['token', 'verify', token, '--key', pem, '--aud', 'https://api'], 'fast'],
    ['verify from stdin', () => ['token', 'verify', '-', '--key', pem, '--leeway=1m'], 'fast', () => ({input: token})],
    [
      'verify the wrong audience',
      () => ['token', 'verify', token, '--key', pem, '--aud', 'https://x', '--json'],
      'fast',
    ],
    ['verify garbage', () => ['token', 'verify', 'not.a.token', '--key', pem], 'fast'],
    // a repeatable flag takes one value each time (--aud a --aud b): the word after its value is the token
    [
      'verify with the token after --aud',
      () => ['token', 'verify', '--key', pem, '--aud', 'https://api', token],
      'fast',
    ],
    ['verify --key and --jwks together', () => ['token', 'verify', token, '--key', pem, '--jwks', pem], 'oclif'],
    ['verify --help', () => ['token', 'verify', '--help'], 'oclif'],
    ['verify with a help flag as a value', () => ['token', 'verify', token, '--key', pem, '--iss', '-h'], 'oclif'],
    [
      'verify in colour',
      () => ['token', 'verify', token, '--key', pem],
      'fast',
      () => ({env: {FORCE_COLOR: '1', NO_COLOR: undefined}}),
    ],
    ['decode into a pipe', () => ['token', 'decode', token], 'fast'],
    ['decode --json from stdin', () => ['token', 'decode', '-', '--json'], 'fast', () => ({input: `Bearer ${token}`})],
    ['decode garbage', () => ['token', 'decode', 'a.b'], 'fast'],
    ['decode two tokens', () => ['token', 'decode', token, token], 'oclif'],
    [
      'renew --json',
      () => ['token', 'renew', '-c', 'app', refresh, '--refresh-strategy', 'noRefresh', '--vault', vault, '--json'],
      'fast',
    ],
    [
      'renew from stdin',
      () => ['token', 'renew', '--client', 'app', '-', '--vault', vault],
      'fast',
      () => ({input: refresh}),
    ],
    // past the default key-ttl (180 days): read-only keeps the keys and says so, the same way on both paths
    // (the vault stays as it was for the cases after it)
    [
      'issue --no-write with keys past key-ttl',
      () => ['token', 'issue', '-c', 'app', '--no-write', '--vault', vault],
      'fast',
      () => ({env: {JWTIS_NOW: '2028-01-01T00:00:00Z'}}),
    ],
    ['renew a bad strategy', () => ['token', 'renew', '-c', 'app', refresh, '--refresh-strategy', 'x'], 'oclif'],
    ['revoke a token', () => ['token', 'revoke', refresh, '--vault', vault], 'fast'],
    ['revoke a token twice, --json', () => ['token', 'revoke', refresh, '--vault', vault, '--json'], 'fast'],
    // without a token argument oclif reads stdin when it is not a terminal (with a 10 ms timeout)
    ['revoke a subject', () => ['token', 'revoke', '--client', 'app', '--sub', 'bob', '--vault', vault], 'oclif'],
    ['revoke --sub without --client', () => ['token', 'revoke', '--sub', 'bob', '--vault', vault], 'oclif'],
    ['sign --json', () => ['token', 'sign', '--key', jwk, '--sub', 'alice', '--aud', 'a', '--json'], 'fast'],
    [
      'sign with a secret from stdin',
      () => ['token', 'sign', '--secret', '-', '--alg', 'HS256', '--exp', '1h'],
      'fast',
      () => ({input: 'a secret of 32 bytes or more......\n'}),
    ],
    ['sign with the secret as a value', () => ['token', 'sign', '--secret', 'hunter2'], 'fast'],
    ['sign with --key and --secret', () => ['token', 'sign', '--key', jwk, '--secret', '-'], 'oclif'],
    ['sign without a key', () => ['token', 'sign', '--sub', 'alice'], 'oclif'],
    [
      'jwe encrypt to a client from stdin',
      () => ['jwe', 'encrypt', '-', '--to', 'app', '--vault', vault],
      'fast',
      () => ({input: 'hello'}),
    ],
    ['jwe encrypt without a key', () => ['jwe', 'encrypt', 'hello'], 'oclif'],
    ['jwe decrypt a refresh token', () => ['jwe', 'decrypt', refresh, '--vault', vault, '--json'], 'fast'],
    ['jwe decrypt with the wrong key', () => ['jwe', 'decrypt', refresh, '--key', jwk], 'fast'],
    ['jwk create --json', () => ['jwk', 'create', '--alg', 'ES256', '--json'], 'fast'],
    ['jwk create a secret with --public-out', () => ['jwk', 'create', '--alg', 'HS256', '--public-out', jwk], 'fast'],
    ['jwk create too few bits', () => ['jwk', 'create', '--alg', 'RS256', '--bits', '1024'], 'oclif'],
    [
      'jwk public as PEM from stdin',
      () => ['jwk', 'public', '-', '--format', 'pem'],
      'fast',
      () => ({input: readFileSync(jwk, 'utf8')}),
    ],
    ['jwk thumbprint', () => ['jwk', 'thumbprint', jwk], 'fast'],
    ['jwk thumbprint --json of a PEM', () => ['jwk', 'thumbprint', pem, '--json'], 'fast'],
    ['jwk thumbprint of nothing', () => ['jwk', 'thumbprint', `${jwk}.missing`], 'fast'],
    ['client list', () => ['client', 'list', '--vault', vault], 'fast'],
    ['client list --json', () => ['client', 'list', '--vault', vault, '--json'], 'fast'],
    ['client show', () => ['client', 'show', 'app', '--vault', vault], 'fast'],
    [
      'client show an unknown client in colour',
      () => ['client', 'show', 'nobody', '--vault', vault],
      'fast',
      () => ({env: {FORCE_COLOR: '1', NO_COLOR: undefined}}),
    ],
    ['client show without a name', () => ['client', 'show', '--vault', vault], 'oclif'],
    ['keys list', () => ['keys', 'list', '--vault', vault], 'fast'],
    ['keys list --json for a client', () => ['keys', 'list', '-c', 'app', '--vault', vault, '--json'], 'fast'],
    ['keys export', () => ['keys', 'export', '--vault', vault], 'fast'],
    [
      'keys export secrets as PEM',
      () => ['keys', 'export', '--include-secret', '--format', 'pem', '--vault', vault],
      'fast',
    ],
    ['keys export --use both', () => ['keys', 'export', '--use', 'both', '--vault', vault], 'oclif'],
  ]

  it.each(cases)('%s', async (_name, args, path, options = () => ({})) => {
    const extra = options()
    const fast = await probed(args(), {...extra, env: {...env, ...extra.env}})
    const slow = await probed(args(), {...extra, env: {...env, ...extra.env, JWTIS_FAST: '0'}})
    expect([fast.path, slow.path]).toEqual([path, 'oclif'])
    expect(fast.code).toBe(slow.code)
    expect(fast.code).not.toBe(70)
    expect(stable(fast.stdout)).toBe(stable(slow.stdout))
    expect(stable(fast.stderr)).toBe(stable(slow.stderr))
  })

  it("--version is oclif's", async () => {
    const fast = await probed(['--version'], {})
    const slow = await probed(['--version'], {env: {JWTIS_FAST: '0'}})
    expect([fast.path, slow.path]).toEqual(['fast', 'oclif'])
    expect(fast.stdout).toBe(slow.stdout)
    expect(fast.stdout).toMatch(/^jwtis\/\d+\.\d+\.\d+ \w+-\w+ node-v\d+/)
  })
})

/**
 * Node 20 has no module.enableCompileCache: the fast entry keeps V8's code cache of its command
 * bundle itself (src/fast/code-cache.ts). Node 22+ uses Node's own cache and writes none here.
 */
describe('the command bundle code cache', () => {
  const hasOwnCache = (() => {
    const major = Number(/^v(\d+)/.exec(run(['-p', 'process.version']))![1])
    return major >= 22
  })()

  it('is written once, private, used after, and replaced when V8 refuses it; never with Node 22+', async () => {
    const home = join(scratch().dir, 'cache')
    const first = await issue(home)
    expect([first.code, first.stderr]).toEqual([0, ''])
    if (hasOwnCache) {
      expect(caches(home)).toEqual([])
      return
    }

    const [name] = caches(home)
    expect(caches(home)).toHaveLength(1)
    const file = join(home, 'jwtis', name)
    expect(statSync(join(home, 'jwtis')).mode & 0o777).toBe(0o700)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const written = statSync(file).mtimeMs
    const second = await issue(home)
    expect([second.code, second.stderr]).toEqual([0, ''])
    expect(statSync(file).mtimeMs).toBe(written) // read, not rewritten
    writeFileSync(file, Buffer.alloc(statSync(file).size, 7)) // garbage of the right size
    const third = await issue(home)
    expect([third.code, third.stderr, third.stdout.split('.').length]).toEqual([0, '', 3])
    expect(readFileSync(file).subarray(0, 64)).not.toEqual(Buffer.alloc(64, 7))
  })

  it('is neither read nor written in a directory others can write, nor with NODE_DISABLE_COMPILE_CACHE', async () => {
    const open = join(scratch().dir, 'cache')
    mkdirSync(join(open, 'jwtis'), {recursive: true})
    chmodSync(join(open, 'jwtis'), 0o777)
    expect((await issue(open)).code).toBe(0)
    expect(caches(open)).toEqual([])
    const off = join(scratch().dir, 'cache')
    expect((await issue(off, {NODE_DISABLE_COMPILE_CACHE: '1'})).code).toBe(0)
    expect(caches(off)).toEqual([])
  })

  // (as root, which CI is: root's runs must not leave root-owned directories in a user's home)
  it.skipIf(process.getuid?.() !== 0)(
    "makes nothing in a cache directory that is another user's (sudo with the user's HOME)",
    async () => {
      const theirs = join(scratch().dir, 'cache')
      mkdirSync(theirs)
      chownSync(theirs, 65_534, 65_534)
      expect((await issue(theirs)).code).toBe(0)
      expect(readdirSync(theirs)).toEqual([])
    },
  )
})

function issue(cacheHome: string, extra: Record<string, string> = {}): Promise<RunResult> {
  return jwtis(['token', 'issue', '-c', 'app', '--vault', vault], {env: {...env, XDG_CACHE_HOME: cacheHome, ...extra}})
}

function caches(cacheHome: string): string[] {
  const dir = join(cacheHome, 'jwtis')
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.v8')) : []
}

function run(args: string[]): string {
  return execFileSync(NODE, args, {encoding: 'utf8'})
}
