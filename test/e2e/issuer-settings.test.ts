/**
 * Issue 23's issuer item, through the built CLI: `init --issuer` (and its alias --name), `vault
 * get` / `vault set` for the issuer, the ceilings and the defaults of new clients, validated as
 * `init` validates them, and what a new issuer does to tokens issued before.
 */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {hasTool, json, jwtis, jwtisOk, jwtisTty, ROOT, scratch} from '../helpers/cli.js'

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as {iss: string; sub: string}

const HAS_SCRIPT = hasTool('script', ['--version'], 'the terminal tests (util-linux script)')

let env: Record<string, string>
let vault: string
const run = (args: string[], extra: Record<string, string> = {}) =>
  jwtis([...args, '--vault', vault], {env: {...env, ...extra}})
const ok = (args: string[]) => jwtisOk([...args, '--vault', vault], {env})

beforeAll(async () => {
  const s = scratch()
  env = s.env
  vault = join(s.dir, 'vault.age')
  await jwtisOk(['init', '--vault', vault, '--issuer', 'https://old.example'], {env})
  await ok(['client', 'add', 'web'])
}, 60_000)

describe('init --issuer', () => {
  it('sets the iss of every token; --name is its alias; JWTIS without either (no terminal: no question)', async () => {
    expect((await ok(['vault', 'get', 'issuer'])).stdout).toBe('https://old.example\n')
    const s = scratch()
    const named = join(s.dir, 'named.age')
    await jwtisOk(['init', '--vault', named, '--name', 'https://named.example'], {env: s.env})
    const plain = join(s.dir, 'plain.age')
    const made = await jwtisOk(['init', '--vault', plain], {env: s.env})
    expect(made.stderr).not.toMatch(/Issuer/)
    for (const [path, issuer] of [
      [named, 'https://named.example'],
      [plain, 'JWTIS'],
    ]) {
      const status = json<{issuer: string}>(await jwtisOk(['vault', 'status', '--vault', path, '--json'], {env: s.env}))
      expect(status.issuer).toBe(issuer)
    }
  })

  it.skipIf(!HAS_SCRIPT)('asks for it on a terminal when --issuer is not given (not in CI)', async () => {
    const s = scratch()
    const path = join(s.dir, 'asked.age')
    const asked = await jwtisTty(['init', '--vault', path], {
      env: {...s.env, CI: undefined},
      input: 'https://tty.example\r',
    })
    expect(asked.code, asked.stdout).toBe(0)
    expect(asked.stdout).toContain('Issuer (the iss claim; a URL such as https://auth.example.com for OAuth/OIDC):')
    const issuer = await jwtisOk(['vault', 'get', 'issuer', '--vault', path], {env: s.env})
    expect(issuer.stdout).toBe('https://tty.example\n')
  })

  it('refuses an empty issuer or one with control characters (exit 2, no vault made)', async () => {
    const s = scratch()
    for (const issuer of ['', 'a\nb']) {
      const out = await jwtis(['init', '--vault', join(s.dir, 'v.age'), '--issuer', issuer, '--json'], {env: s.env})
      expect(out.code).toBe(2)
      expect(json<{error: {message: string}}>(out).error.message).toMatch(/the issuer is 1 to 1024 characters/)
    }

    expect(() => readFileSync(join(s.dir, 'v.age'))).toThrow()
  })
})

describe('vault get', () => {
  it("lists every setting by init's flag names", async () => {
    const all = json<Record<string, unknown>>(await ok(['vault', 'get', '--json']))
    expect(all).toMatchObject({
      'access-ttl': '15m',
      issuer: 'https://old.example',
      'max-access-ttl': '24h',
      'max-session-ttl': '8760h',
      'sig-alg': 'ES256',
    })
    // every default of new clients is an init flag of that name, and every client flag of init is one
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, {flags: Record<string, {helpGroup?: string}>}>
    }
    const initFlags = manifest.commands.init.flags
    const clientFlags = Object.keys(initFlags).filter((name) => initFlags[name].helpGroup === 'CLIENT')
    const settings = Object.keys(all).filter((name) => name !== 'issuer')
    expect(settings.every((name) => Object.hasOwn(initFlags, name))).toBe(true)
    expect(clientFlags.every((name) => settings.includes(name))).toBe(true)
    const table = (await ok(['vault', 'get'])).stdout
    expect(table).toMatch(/^issuer {12}https:\/\/old\.example$/m)
    expect((await ok(['vault', 'get', 'issuer', '--json'])).stdout).toBe(
      `${JSON.stringify({key: 'issuer', value: 'https://old.example'}, null, 2)}\n`,
    )
  })

  it('an unknown key is a usage error listing the keys', async () => {
    const out = await run(['vault', 'get', 'isuer'])
    expect(out.code).toBe(2)
    expect(out.stderr.trim()).toBe(
      'Error: unknown vault setting "isuer": one of issuer, max-access-ttl, max-session-ttl, access-ttl, enc, enc-alg, encrypt-access, key-ttl, refresh-seal, refresh-strategy, refresh-ttl, session-ttl, sig-alg',
    )
  })
})

describe('vault set', () => {
  it('refuses bad values as init does (exit 2) and leaves the vault as it was', async () => {
    const before = sha(vault)
    for (const [key, value, message] of [
      ['sig-alg', 'RS999', /unsupported signing algorithm "RS999"/],
      ['access-ttl', '48h', /access-ttl is over the limit of 24h/],
      ['access-ttl', 'soon', /access-ttl/],
      ['max-access-ttl', '5m', /access-ttl is over the limit of 5m/],
      ['refresh-strategy', 'always', /refresh/],
      ['encrypt-access', 'yes', /encrypt-access is true or false/],
      ['issuer', '', /the issuer is 1 to 1024 characters/],
      ['nope', '1', /unknown vault setting "nope": one of issuer, /],
    ] as Array<[string, string, RegExp]>) {
      const out = await run(['vault', 'set', key, value, '--json'])
      expect(out.code, `${key} ${value}`).toBe(2)
      expect(json<{error: {message: string}}>(out).error.message).toMatch(message)
    }

    const readOnly = await run(['vault', 'set', 'access-ttl', '10m'], {JWTIS_READ_ONLY: '1'})
    expect([readOnly.code, readOnly.stderr.trim()]).toEqual([
      2,
      'Error: jwtis vault set writes the vault: refused while JWTIS_READ_ONLY=1',
    ])
    expect(sha(vault)).toBe(before)
  })

  it('changes a default for clients added from then on; clients already made keep theirs', async () => {
    const set = json<{key: string; previous: string; value: string}>(
      await ok(['vault', 'set', 'sig-alg', 'EdDSA', '--json']),
    )
    expect(set).toEqual({key: 'sig-alg', previous: 'ES256', value: 'EdDSA'})
    await ok(['client', 'add', 'api'])
    const algOf = async (client: string) =>
      JSON.parse(Buffer.from((await ok(['token', 'issue', '-c', client])).stdout.split('.')[0], 'base64url').toString())
        .alg as string
    expect(await algOf('api')).toBe('EdDSA')
    expect(await algOf('web')).toBe('ES256')
    const human = await ok(['vault', 'set', 'access-ttl', '10m'])
    expect(human.stderr).toBe('access-ttl = 10m (was 15m)\n')
  })

  it('a new issuer: new tokens carry it, refresh tokens issued before still renew (into the new iss), the token store still knows their families', async () => {
    const issued = (await ok(['token', 'issue', '-c', 'web', '--sub', 'alice', '--refresh'])).stdout.trim().split('\n')
    const other = (await ok(['token', 'issue', '-c', 'web', '--sub', 'bob', '--refresh'])).stdout.trim().split('\n')
    const third = (await ok(['token', 'issue', '-c', 'web', '--sub', 'carol', '--refresh'])).stdout.trim().split('\n')
    expect(claimsOf(issued[0]).iss).toBe('https://old.example')
    const set = await ok(['vault', 'set', 'issuer', 'https://new.example'])
    expect(set.stderr.split('\n')[0]).toBe('issuer = https://new.example (was https://old.example)')
    expect(set.stderr).toMatch(
      /New tokens carry iss "https:\/\/new\.example"; tokens issued before keep "https:\/\/old\.example"/,
    )
    expect(json<{issuer: string}>(await ok(['vault', 'status', '--json'])).issuer).toBe('https://new.example')

    const fresh = (await ok(['token', 'issue', '-c', 'web'])).stdout.trim()
    await ok(['token', 'verify', fresh, '--iss', 'https://new.example'])
    const renewed = json<{access_token: string}>(await ok(['token', 'renew', '-c', 'web', issued[1], '--json']))
    expect(claimsOf(renewed.access_token)).toMatchObject({iss: 'https://new.example', sub: 'alice'})
    // logging bob out after the rename reaches the family issued before it
    await ok(['token', 'revoke', '--client', 'web', '--sub', 'bob'])
    const refused = await run(['token', 'renew', '-c', 'web', other[1], '--json'])
    expect(refused.code).toBe(1)
    // tokens issued before keep their iss: a verifier pinned to the new one refuses them
    const old = await run(['token', 'verify', issued[0], '--iss', 'https://new.example', '--json'])
    expect(json<{error: {code: string}}>(old).error.code).toBe('ISSUER_MISMATCH')
    // renamed twice: a refresh token of the first name still renews (its iss is a name this issuer had)
    await ok(['vault', 'set', 'issuer', 'https://newer.example'])
    const again = json<{access_token: string}>(await ok(['token', 'renew', '-c', 'web', third[1], '--json']))
    expect(claimsOf(again.access_token)).toMatchObject({iss: 'https://newer.example', sub: 'carol'})
  })
})
