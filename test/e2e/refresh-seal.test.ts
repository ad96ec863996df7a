/**
 * refresh_seal from the command line: new vaults seal refresh tokens under the issuer's own
 * A256KW key, `--refresh-seal client` keeps JWTIS's sealing to the client's key; `jwe decrypt`
 * opens both from the vault, `keys rotate --issuer` rotates the issuer's key without losing a
 * token, and go-jose v2 opens both kinds given the key from the vault (read with `age -d`).
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {hasTool, json, scratch} from '../helpers/cli.js'
import {cli, cliOk} from '../helpers/run-command.js'
import {ageDecrypt, buildGo, hasGoClient} from '../helpers/tools.js'

const HAS_AGE = hasTool('age', ['--version'], 'the tests that read the vault with age')
const HAS_GO = hasGoClient(true)
const active = (keys: any[], use = 'enc') => keys.find((k) => k.use === use && k.state === 'active').jwk
const headerOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[0], 'base64url').toString())

let s: ReturnType<typeof scratch>
let vault: string
let identity: string
const run = (args: string[]) => cli([...args, '--vault', vault], {env: s.env})
const ok = (args: string[]) => cliOk([...args, '--vault', vault], {env: s.env})
const issue = async (client: string) =>
  json<{family: string; refresh_token: string}>(
    await ok(['token', 'issue', '--client', client, '--sub', 'alice', '--claim', 'scope=read', '--refresh', '--json']),
  )

beforeAll(async () => {
  s = scratch()
  vault = join(s.dir, 'vault.age')
  identity = json<{identity_file: string}>(
    await cliOk(['init', '--vault', vault, '--name', 'https://issuer.test', '--json'], {env: s.env}),
  ).identity_file
  await ok(['client', 'add', 'web'])
  await ok(['client', 'add', 'legacy', '--refresh-seal', 'client'])
}, 60_000)

describe('refresh_seal', () => {
  it('is issuer for a new vault and its clients, client where asked; client show and list say which', async () => {
    expect(json<any>(await ok(['vault', 'status', '--json'])).defaults).toMatchObject({refresh_seal: 'issuer'})
    expect(json<any>(await ok(['client', 'show', 'web', '--json']))).toMatchObject({refresh_seal: 'issuer'})
    expect(json<any>(await ok(['client', 'show', 'legacy', '--json']))).toMatchObject({refresh_seal: 'client'})
    const list = json<any[]>(await ok(['client', 'list', '--json']))
    expect(list.map((c) => [c.name, c.refresh_seal])).toEqual([
      ['legacy', 'client'],
      ['web', 'issuer'],
    ])
    const bad = await run(['client', 'add', 'x', '--refresh-seal', 'nobody'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/issuer, client/)
  })

  it('seals with A256KW under the issuer key or with ECDH-ES to the client; jwe decrypt opens both', async () => {
    const doc = ageDecrypt(identity, vault)
    const sealKid = doc.issuer.sealKeys[0].jwk.kid
    const web = (await issue('web')).refresh_token
    const legacy = (await issue('legacy')).refresh_token
    expect(headerOf(web)).toEqual({alg: 'A256KW', cty: 'JWT', enc: 'A256GCM', kid: sealKid})
    expect(headerOf(legacy)).toMatchObject({alg: 'ECDH-ES+A256KW', cty: 'JWT', enc: 'A256GCM'})
    for (const [client, token] of [
      ['web', web],
      ['legacy', legacy],
    ]) {
      const opened = json<any>(await ok(['jwe', 'decrypt', token, '--json']))
      expect(opened.nested, client).toMatchObject({valid: true})
      expect(opened.nested.payload, client).toMatchObject({client_id: client, sub: 'alice'})
      expect((await ok(['token', 'renew', '--client', client, token])).stdout.split('\n')[0]).toMatch(/^ey/)
    }
  })

  it('keys rotate --issuer: new tokens under the new key, old ones still renew; keys list shows both', async () => {
    const before = (await issue('web')).refresh_token
    const rotated = json<any[]>(await ok(['keys', 'rotate', '--issuer', '--json']))
    expect(rotated).toEqual([
      {
        client: null,
        kid: expect.any(String),
        retire_after: expect.any(String),
        retired: headerOf(before).kid,
        use: 'enc',
      },
    ])
    expect(headerOf((await issue('web')).refresh_token).kid).toBe(rotated[0].kid)
    expect((await ok(['token', 'renew', '--client', 'web', before])).stdout).toMatch(/^ey/)
    const rows = json<any[]>(await ok(['keys', 'list', '--json'])).filter((r) => r.client === null)
    expect(rows.map((r) => [r.kid, r.state, r.alg])).toEqual([
      [headerOf(before).kid, 'retired', 'A256KW'],
      [rotated[0].kid, 'active', 'A256KW'],
    ])
    expect((await ok(['keys', 'list'])).stdout).toMatch(/^\(issuer\)\s+enc\s+active\s+A256KW/m)
    // the secret is never published
    expect((await ok(['keys', 'export'])).stdout).not.toContain(rotated[0].kid)
    const sig = await run(['keys', 'rotate', '--issuer', '--use', 'sig'])
    expect([sig.code, sig.stderr]).toEqual([2, expect.stringMatching(/key-wrapping key/)])
  })

  it('keys rotate with neither --client nor --issuer is --all: every client, both uses, and the issuer key', async () => {
    const clients = json<any[]>(await ok(['client', 'list', '--json'])).map((c) => c.name)
    const rotated = json<any[]>(await ok(['keys', 'rotate', '--json']))
    const expected = [...clients.flatMap((c) => [`${c} sig`, `${c} enc`]), 'null enc']
    expect(rotated.map((r) => `${r.client} ${r.use}`).sort()).toEqual(expected.sort())
    const both = await run(['keys', 'rotate', '--all', '--client', 'web'])
    expect(both.code).toBe(2)
  })

  it('init --refresh-seal client makes a vault whose clients seal to themselves, and no issuer key', async () => {
    const other = join(s.dir, 'other.age')
    await cliOk(['init', '--vault', other, '--refresh-seal', 'client'], {env: s.env})
    await cliOk(['client', 'add', 'app', '--vault', other], {env: s.env})
    const token = json<any>(
      await cliOk(['token', 'issue', '--client', 'app', '--refresh', '--json', '--vault', other], {env: s.env}),
    ).refresh_token
    expect(headerOf(token).alg).toBe('ECDH-ES+A256KW')
    const rows = json<any[]>(await cliOk(['keys', 'list', '--json', '--vault', other], {env: s.env}))
    expect(rows.every((r) => r.client === 'app')).toBe(true)
  })
})

describe.skipIf(!HAS_AGE || !HAS_GO)('refresh tokens open with go-jose v2 given the key from the vault', () => {
  it('both kinds: A256KW under the issuer key, ECDH-ES+A256KW to the client key', async () => {
    const binary = await buildGo(mkdtempSync(join(s.dir, 'go-')), 'go-open')
    const tokens = {legacy: (await issue('legacy')).refresh_token, web: (await issue('web')).refresh_token}
    const doc = ageDecrypt(identity, vault)
    const jobs = Object.entries(tokens).map(([name, token]) => ({
      name,
      seal_jwk: name === 'web' ? active(doc.issuer.sealKeys) : active(doc.clients[name].keys),
      sig_jwk: {...active(doc.clients[name].keys, 'sig'), d: undefined},
      token,
    }))
    const out = JSON.parse(execFileSync(binary, {encoding: 'utf8', input: JSON.stringify(jobs)}))
    expect(out.web).toMatchObject({alg: 'A256KW', claims: {cl: {scope: 'read'}, client_id: 'web', sub: 'alice'}})
    expect(out.legacy).toMatchObject({alg: 'ECDH-ES+A256KW', claims: {client_id: 'legacy', sub: 'alice'}})
  }, 120_000)
})
