/**
 * The fast entry (bin/run.js → dist/fast/cli.js) runs `token issue` and `token verify` without
 * oclif. Whatever it does must be what oclif does: the same command lines through both
 * (JWTIS_FAST=0 turns the fast entry off) give the same stdout, stderr and exit code. Each run
 * also reports whether it loaded oclif (test/fast/oclif-probe.mjs, preloaded), so that a fast
 * entry switched off, or handing back what it should run, fails here.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {jwtis, jwtisOk, type RunOptions, type RunResult, scratch} from '../helpers/cli.js'

let env: Record<string, string>
let vault: string
let token: string
let pem: string
let probeOut: string
const NOW = {JWTIS_NOW: '2026-11-23T12:00:00Z'}

beforeAll(async () => {
  const s = scratch()
  env = {...s.env, ...NOW}
  probeOut = join(s.dir, 'probe')
  vault = join(s.dir, 'vault.age')
  await jwtisOk(['init', '--vault', vault], {env})
  await jwtisOk(['client', 'add', 'app', '--vault', vault, '--aud', 'https://api'], {env})
  token = (await jwtisOk(['token', 'issue', '--client', 'app', '--vault', vault], {env})).stdout.trim()
  pem = join(s.dir, 'sig.pem')
  writeFileSync(pem, (await jwtisOk(['keys', 'export', '--vault', vault, '--format', 'pem'], {env})).stdout)
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
    .replaceAll(/^\(node:\d+\) \[UnparsedCommand\].*\n(\(Use `node --trace-warnings.*\n)?/gm, '')

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
    [
      'issue --batch (oclif runs batches)',
      () => ['token', 'issue', '--client', 'app', '--batch', '--quiet', '--vault', vault],
      'oclif',
      () => ({input: '{"sub":"a"}\n{"sub":"b"}\n'}),
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
