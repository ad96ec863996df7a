/**
 * The fast entry (bin/run.js → dist/fast/cli.js) runs `token issue` and `token verify` without
 * oclif. Whatever it does must be what oclif does: the same command lines through both
 * (JWTIS_FAST=0 turns the fast entry off) give the same stdout, stderr and exit code.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {jwtis, jwtisOk, scratch} from '../helpers/cli.js'

let env: Record<string, string>
let vault: string
let token: string
let pem: string
const NOW = {JWTIS_NOW: '2026-11-23T12:00:00Z'}

beforeAll(async () => {
  const s = scratch()
  env = {...s.env, ...NOW}
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
    .replaceAll(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, '<jwt>')
    .replaceAll(/"(jti|id)": "[\w-]+"/g, '"$1": "<id>"')
    .replaceAll(/^\(node:\d+\) \[UnparsedCommand\].*\n(\(Use `node --trace-warnings.*\n)?/gm, '')

describe('fast entry and oclif agree', () => {
  const cases: Array<[string, () => string[]]> = [
    ['issue', () => ['token', 'issue', '--client', 'app', '--vault', vault]],
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
    ],
    ['issue for an unknown client', () => ['token', 'issue', '--client', 'nobody', '--vault', vault, '--json']],
    [
      'issue for a refused audience',
      () => ['token', 'issue', '--client', 'app', '--aud', 'https://elsewhere', '--vault', vault],
    ],
    [
      'issue with a bad --ttl',
      () => ['token', 'issue', '--client', 'app', '--ttl', '5 minutes', '--vault', vault, '--json'],
    ],
    ['issue with an unknown flag', () => ['token', 'issue', '--client', 'app', '--frobnicate', '--vault', vault]],
    ['issue without --client', () => ['token', 'issue', '--vault', vault, '--json']],
    ['issue with no vault', () => ['token', 'issue', '--client', 'app', '--vault', `${vault}.missing`]],
    ['verify with the vault', () => ['token', 'verify', token, '--vault', vault, '--json']],
    ['verify with --key', () => ['token', 'verify', token, '--key', pem, '--aud', 'https://api']],
    ['verify the wrong audience', () => ['token', 'verify', token, '--key', pem, '--aud', 'https://x', '--json']],
    ['verify garbage', () => ['token', 'verify', 'not.a.token', '--key', pem]],
    ['verify --key and --jwks together', () => ['token', 'verify', token, '--key', pem, '--jwks', pem]],
    ['verify --help', () => ['token', 'verify', '--help']],
  ]

  it.each(cases)('%s', async (_name, args) => {
    const fast = await jwtis(args(), {env})
    const slow = await jwtis(args(), {env: {...env, JWTIS_FAST: '0'}})
    expect(fast.code).toBe(slow.code)
    expect(fast.code).not.toBe(70)
    expect(stable(fast.stdout)).toBe(stable(slow.stdout))
    expect(stable(fast.stderr)).toBe(stable(slow.stderr))
  })

  it("--version is oclif's", async () => {
    const fast = await jwtis(['--version'])
    const slow = await jwtis(['--version'], {env: {JWTIS_FAST: '0'}})
    expect(fast.stdout).toBe(slow.stdout)
    expect(fast.stdout).toMatch(/^jwtis\/\d+\.\d+\.\d+ \w+-\w+ node-v\d+/)
  })
})
