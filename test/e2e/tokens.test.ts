import {createHmac} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {json, jwtisTty, scratch} from '../helpers/cli.js'
import {cli, cliOk} from '../helpers/run-command.js'

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
const parts = (t: string) => t.split('.')
const headerOf = (t: string) => JSON.parse(Buffer.from(parts(t)[0], 'base64url').toString())
const fakeJwe = (header: Record<string, unknown>) =>
  `${b64(header)}.${b64('k')}.${b64('iv')}.${b64('ct')}.${b64('tag')}`
const payloadOf = (t: string) => JSON.parse(Buffer.from(parts(t)[1], 'base64url').toString())

let env: Record<string, string>
let vault: string
let dir: string
let good: string
const run = (args: string[], extra: Record<string, string> = {}, input?: string) =>
  cli([...args, '--vault', vault], {env: {...env, ...extra}, input})

beforeAll(async () => {
  const s = scratch()
  env = s.env
  dir = s.dir
  vault = join(s.dir, 'vault.age')
  await cliOk(['init', '--vault', vault, '--name', 'https://issuer.test'], {env})
  await cliOk(
    [
      'client',
      'add',
      'app',
      '--vault',
      vault,
      '--refresh-strategy',
      'refreshBoth',
      '--aud',
      'https://api',
      '--aud',
      'app',
    ],
    {env},
  )
  good = (
    await cliOk(['token', 'issue', '--client', 'app', '--sub', 'alice', '--aud', 'https://api', '--vault', vault], {
      env,
    })
  ).stdout.trim()
}, 60_000)

async function expectRejected(args: string[], reason: string, extra: Record<string, string> = {}, input?: string) {
  const out = await run([...args, '--json'], extra, input)
  expect(out.code, out.stderr).toBe(1)
  expect(json<any>(out).error.code).toBe(reason)
  const human = await run(args, extra, input)
  expect(human.code).toBe(1)
  expect(human.stderr.trim().split('\n'), human.stderr).toHaveLength(1)
  expect(human.stderr).not.toMatch(/\n\s+at /)
}

describe('token verify', () => {
  it('prints the claims of a good token', async () => {
    const out = await run([
      'token',
      'verify',
      good,
      '--aud',
      'https://api',
      '--iss',
      'https://issuer.test',
      '--sub',
      'alice',
      '--json',
    ])
    expect(out.code, out.stderr).toBe(0)
    expect(json<any>(out)).toMatchObject({header: {typ: 'at+jwt'}, payload: {sub: 'alice'}, valid: true})
    const human = await run(['token', 'verify', '-'], {}, `${good}\n`)
    expect(JSON.parse(human.stdout)).toMatchObject({aud: 'https://api'})
  })

  it('verifies with --key (PEM) and --jwks (file) and no vault at all', async () => {
    const pem = join(dir, 'keys.pem')
    writeFileSync(pem, (await run(['keys', 'export', '--use', 'sig', '--format', 'pem'])).stdout)
    const jwks = join(dir, 'jwks.json')
    writeFileSync(jwks, (await run(['keys', 'export'])).stdout)
    for (const flag of [
      ['--key', pem],
      ['--jwks', jwks],
    ]) {
      const out = await cli(['token', 'verify', good, ...flag, '--json'], {
        env: {JWTIS_CONFIG_DIR: join(dir, 'nothing')},
      })
      expect(out.code, out.stderr).toBe(0)
      expect(json<any>(out).payload.sub).toBe('alice')
    }
  })

  const cases: Array<[string, () => Promise<string> | string, string, string[]?, (() => Record<string, string>)?]> = [
    ['alg none', () => `${b64({alg: 'none', typ: 'JWT'})}.${parts(good)[1]}.`, 'ALG_NOT_ALLOWED'],
    [
      'an alg that does not match the key',
      () => `${b64({...headerOf(good), alg: 'ES384'})}.${parts(good)[1]}.${parts(good)[2]}`,
      'ALG_NOT_ALLOWED',
    ],
    [
      'HMAC keyed with the public key',
      async () => {
        const jwks = json<any>(await run(['keys', 'export', '--json']))
        const pub = jwks.keys.find((k: any) => k.kid === headerOf(good).kid)
        const input = `${b64({alg: 'HS256', kid: pub.kid, typ: 'at+jwt'})}.${parts(good)[1]}`
        return `${input}.${createHmac('sha256', JSON.stringify(pub)).update(input).digest('base64url')}`
      },
      'ALG_NOT_ALLOWED',
    ],
    [
      'an unknown kid',
      () => `${b64({...headerOf(good), kid: 'nope'})}.${parts(good)[1]}.${parts(good)[2]}`,
      'UNKNOWN_KID',
    ],
    ['an expired token', () => good, 'TOKEN_EXPIRED', [], () => ({JWTIS_NOW: String(payloadOf(good).exp + 31)})],
    [
      'a token not yet valid',
      async () => (await run(['token', 'issue', '--client', 'app', '--nbf', '10m'])).stdout.trim(),
      'TOKEN_NOT_YET_VALID',
    ],
    ['the wrong audience', () => good, 'AUDIENCE_MISMATCH', ['--aud', 'https://other']],
    ['the wrong issuer', () => good, 'ISSUER_MISMATCH', ['--iss', 'https://evil']],
    ['the wrong subject', () => good, 'SUBJECT_MISMATCH', ['--sub', 'mallory']],
    [
      'a tampered header',
      () => `${b64({...headerOf(good), typ: 'JWT'})}.${parts(good)[1]}.${parts(good)[2]}`,
      'BAD_SIGNATURE',
    ],
    [
      'a tampered payload',
      () => `${parts(good)[0]}.${b64({...payloadOf(good), sub: 'root'})}.${parts(good)[2]}`,
      'BAD_SIGNATURE',
    ],
    [
      'a tampered signature',
      () =>
        `${parts(good)[0]}.${parts(good)[1]}.${Buffer.from(parts(good)[2], 'base64url').reverse().toString('base64url')}`,
      'BAD_SIGNATURE',
    ],
    [
      'a crit header',
      () => `${b64({...headerOf(good), crit: ['exp'], exp: 1})}.${parts(good)[1]}.${parts(good)[2]}`,
      'UNSUPPORTED_CRIT',
    ],
    ['an alg outside --alg', () => good, 'ALG_NOT_ALLOWED', ['--alg', 'EdDSA', '--alg', 'RS256']],
    [
      'a token over 64 KiB',
      () => `${parts(good)[0]}.${b64({pad: 'x'.repeat(70_000)})}.${parts(good)[2]}`,
      'TOKEN_TOO_LARGE',
    ],
    ['garbage', () => 'hello.world', 'MALFORMED_TOKEN'],
    [
      'max-age',
      () => good,
      'TOKEN_TOO_OLD',
      ['--max-age', '1m'],
      () => ({JWTIS_NOW: String(payloadOf(good).iat + 120)}),
    ],
  ]

  it.each(cases)('rejects %s', async (_name, make, reason, flags = [], extra = () => ({})) => {
    const token = await make()
    const file = join(dir, 'token.txt')
    writeFileSync(file, token)
    // a token over 64 KiB does not fit in argv on every system: read it from a file
    await expectRejected(['token', 'verify', `@${file}`, ...flags], reason, extra())
  })
})

describe('token issue', () => {
  it('refuses reserved claims and contradictions with a usage error (exit 2)', async () => {
    for (const args of [
      ['--claim', 'exp=1'],
      ['--claim', 'iss=me'],
      ['--claims', '{"client_id":"x"}'],
      ['--sub', 'a', '--claim', 'sub=b'],
      ['--claims', '[1,2]'],
      ['--ttl', 'forever'],
    ]) {
      const out = await run(['token', 'issue', '--client', 'app', ...args, '--json'])
      expect(out.code, args.join(' ')).toBe(2)
      expect(json<any>(out).error.code).toMatch(/USAGE|BAD_CLAIMS/)
    }
  })

  it('takes claims from --claims JSON, a file and stdin, and typed --claim values', async () => {
    const file = join(dir, 'claims.json')
    writeFileSync(file, '{"tenant":"t1"}')
    const out = await run([
      'token',
      'issue',
      '--client',
      'app',
      '--claims',
      `@${file}`,
      '--claim',
      'n=3',
      '--claim',
      'admin=true',
      '--claim',
      'tags=["a","b"]',
      '--claim',
      'name=Ann Lee',
      '--ttl',
      '90s',
      '--json',
    ])
    const result = json<any>(out)
    expect(result).toMatchObject({expires_in: 90, token_type: 'Bearer'})
    expect(result.expiry).toBe(payloadOf(result.access_token).exp) // a NumericDate, as JWTIS sends it
    expect(payloadOf(result.access_token)).toMatchObject({
      admin: true,
      n: 3,
      name: 'Ann Lee',
      tags: ['a', 'b'],
      tenant: 't1',
    })
    const piped = await run(['token', 'issue', '--client', 'app', '--claims', '-'], {}, '{"from":"stdin"}')
    expect(payloadOf(piped.stdout.trim()).from).toBe('stdin')
  })

  it('--batch: one result line per input line, in order; a bad or blank line gets an error line with its number', async () => {
    const input = '{"sub":"a"}\n{"exp":5}\nnot json\n\n{"sub":"d","x":1}\n'
    const out = await run(['token', 'issue', '--client', 'app', '--batch'], {}, input)
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(5)
    expect(payloadOf(lines[0].access_token).sub).toBe('a')
    expect(lines.slice(1, 4).map((l) => [l.line, l.error.code])).toEqual([
      [2, 'BAD_CLAIMS'],
      [3, 'BAD_CLAIMS'],
      [4, 'BAD_CLAIMS'],
    ])
    expect(lines[3].error.message).toBe('line 4 is blank: expected a JSON object of claims')
    expect(payloadOf(lines[4].access_token)).toMatchObject({sub: 'd', x: 1})
    expect(out.code).toBe(2)
  })
})

describe('token renew, revoke and decode', () => {
  it('rotates under refreshBoth and revokes the family when a spent token comes back', async () => {
    const issued = json<any>(
      await run(['token', 'issue', '--client', 'app', '--sub', 'bob', '--claim', 'k=v', '--refresh', '--json']),
    )
    const renewed = json<any>(await run(['token', 'renew', '--client', 'app', issued.refresh_token, '--json']))
    expect(renewed.refresh_token).not.toBe(issued.refresh_token)
    expect(payloadOf(renewed.access_token)).toMatchObject({k: 'v', sub: 'bob'})
    await expectRejected(['token', 'renew', '--client', 'app', issued.refresh_token], 'REFRESH_REUSED')
    await expectRejected(['token', 'renew', '--client', 'app', '-'], 'TOKEN_REVOKED', {}, renewed.refresh_token)
  })

  it('revoke by token, by --family and by --client/--sub', async () => {
    const issue = async (sub: string) =>
      json<any>(await run(['token', 'issue', '--client', 'app', '--sub', sub, '--refresh', '--json']))
    const a = await issue('a')
    const b = await issue('b')
    const c = await issue('c')
    expect(json<any>(await run(['token', 'revoke', a.refresh_token, '--json']))).toEqual({
      family: a.family,
      revoked: true,
    })
    await run(['token', 'revoke', '--family', b.family])
    await run(['token', 'revoke', '--client', 'app', '--sub', 'c'])
    for (const t of [a, b, c])
      await expectRejected(['token', 'renew', '--client', 'app', t.refresh_token], 'TOKEN_REVOKED')
    const missing = await run(['token', 'revoke', '--family', 'nope', '--json'])
    expect([missing.code, json<any>(missing).error.code]).toEqual([4, 'FAMILY_NOT_FOUND'])
    expect((await run(['token', 'revoke'])).code).toBe(2)
  })

  it('decode shows header and claims, times as dates, marked not verified', async () => {
    // decode needs no vault
    const out = await jwtisTty(['token', 'decode', good], {env})
    expect(out.code).toBe(0)
    expect(out.stdout).toContain('NOT VERIFIED')
    expect(out.stdout).toMatch(/exp\s+\d{4}-\d\d-\d\dT.*\((in|.* ago)/)
    // Into a pipe: only JSON on stdout (what `| jq .` needs), with the times as dates beside the
    // claims; the warning and the times as people read them on stderr.
    const piped = await cliOk(['token', 'decode', good], {env})
    const {payload} = JSON.parse(piped.stdout)
    expect(JSON.parse(piped.stdout)).toMatchObject({
      dates: {exp: new Date(payload.exp * 1000).toISOString(), iat: new Date(payload.iat * 1000).toISOString()},
      payload: {sub: 'alice'},
      verified: false,
    })
    expect(piped.stderr).toContain('NOT VERIFIED')
    expect(piped.stderr).toMatch(/exp\s+\d{4}-\d\d-\d\dT.*\((in|.* ago)/)
    expect(json<any>(await cliOk(['token', 'decode', good, '--json'], {env}))).toMatchObject({
      dates: {exp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)},
      encrypted: false,
      payload: {sub: 'alice'},
      verified: false,
    })
    const none = await cliOk(['token', 'decode', `${b64({alg: 'none'})}.${b64({a: 1})}.`, '--json'], {env})
    expect(json<any>(none).header.alg).toBe('none')
  })
})

describe('jwe encrypt and decrypt', () => {
  it('round-trips a plaintext byte for byte', async () => {
    const plaintext = 'line one\nline two ✓\n'
    const jwe = (await run(['jwe', 'encrypt', '-', '--to', 'app'], {}, plaintext)).stdout.trim()
    expect(headerOf(jwe)).toMatchObject({alg: 'ECDH-ES+A256KW', enc: 'A256GCM'})
    const out = await run(['jwe', 'decrypt', jwe])
    expect(out.stdout).toBe(plaintext)
  })

  it('a token saved to a file by the CLI, encrypted with --cty JWT, decrypts to a nested JWT that verifies', async () => {
    const file = join(dir, 'access.txt')
    writeFileSync(file, (await run(['token', 'issue', '--client', 'app'])).stdout) // with its newline
    const jwe = (await run(['jwe', 'encrypt', '--to', 'app', '--cty', 'JWT', `@${file}`])).stdout.trim()
    const out = json<any>(await run(['jwe', 'decrypt', jwe, '--json']))
    expect(out.nested).toMatchObject({header: {typ: 'at+jwt'}, payload: {client_id: 'app'}, valid: true})
  })

  it('decrypts a refresh token and verifies the JWT inside', async () => {
    const rt = json<any>(await run(['token', 'issue', '--client', 'app', '--refresh', '--json'])).refresh_token
    const out = json<any>(await run(['jwe', 'decrypt', rt, '--json']))
    expect(out.header).toMatchObject({cty: 'JWT'})
    expect(out.nested).toMatchObject({header: {typ: 'rt+jwt'}, payload: {client_id: 'app'}, valid: true})
  })

  it('decrypts with a password file (PBES2) and an oct JWK (A256KW), no vault', async () => {
    const {CompactEncrypt} = await import('jose')
    const pw = join(dir, 'pw.txt')
    writeFileSync(pw, 'hunter2 but longer\n')
    const pbes = await new CompactEncrypt(new TextEncoder().encode('pbes2!'))
      .setProtectedHeader({alg: 'PBES2-HS256+A128KW', enc: 'A128CBC-HS256', p2c: 4096})
      .encrypt(new TextEncoder().encode('hunter2 but longer'))
    const noVault = {JWTIS_CONFIG_DIR: join(dir, 'none')}
    expect((await cli(['jwe', 'decrypt', pbes, '--password-file', pw], {env: noVault})).stdout).toBe('pbes2!')
    const k = Buffer.alloc(32, 7).toString('base64url')
    const keyFile = join(dir, 'oct.json')
    writeFileSync(keyFile, JSON.stringify({k, kty: 'oct'}))
    const kw = await new CompactEncrypt(new TextEncoder().encode('kw!'))
      .setProtectedHeader({alg: 'A256KW', enc: 'A192GCM'})
      .encrypt(Buffer.alloc(32, 7))
    expect((await cli(['jwe', 'decrypt', kw, '--key', keyFile], {env: noVault})).stdout).toBe('kw!')
  })

  it.each([
    ['zip', fakeJwe({alg: 'ECDH-ES', enc: 'A256GCM', zip: 'DEF'}), 'ALG_NOT_ALLOWED'],
    ['RSA1_5', fakeJwe({alg: 'RSA1_5', enc: 'A256GCM'}), 'ALG_NOT_ALLOWED'],
    [
      'PBES2 with a huge p2c',
      fakeJwe({alg: 'PBES2-HS256+A128KW', enc: 'A128GCM', p2c: 1_000_000_000, p2s: 'AAAAAAAAAAA'}),
      'ALG_NOT_ALLOWED',
    ],
    [
      'a key nobody has',
      fakeJwe({alg: 'ECDH-ES', enc: 'A256GCM', epk: {crv: 'P-256', kty: 'EC', x: 'AA', y: 'AA'}, kid: 'nobody'}),
      'UNKNOWN_KID',
    ],
    ['an ECDH-ES header without its ephemeral key', fakeJwe({alg: 'ECDH-ES', enc: 'A256GCM'}), 'MALFORMED_TOKEN'],
    ['over 64 KiB', fakeJwe({alg: 'ECDH-ES', enc: 'A256GCM', pad: 'x'.repeat(70_000)}), 'TOKEN_TOO_LARGE'],
  ])('refuses %s', async (_name, token, reason) => {
    const file = join(dir, 'jwe.txt')
    writeFileSync(file, token)
    await expectRejected(['jwe', 'decrypt', `@${file}`], reason)
  })
})

describe('keys rotate, list, export', () => {
  it('old tokens verify until the grace ends, new tokens carry the new kid, then UNKNOWN_KID', async () => {
    const s = scratch()
    const v = join(s.dir, 'v.age')
    const r = (args: string[], extra: Record<string, string> = {}) =>
      cli([...args, '--vault', v], {env: {...s.env, ...extra}})
    await r(['init'])
    await r(['client', 'add', 'svc'])
    const before = (await r(['token', 'issue', '--client', 'svc'])).stdout.trim()
    const rotated = json<any[]>(await r(['keys', 'rotate', '--client', 'svc', '--grace', '1h', '--json']))
    expect(rotated.map((x) => x.use).sort()).toEqual(['enc', 'sig'])
    expect(rotated.find((x) => x.use === 'sig').retired).toBe(headerOf(before).kid)
    const after = (await r(['token', 'issue', '--client', 'svc'])).stdout.trim()
    expect(headerOf(after).kid).toBe(rotated.find((x) => x.use === 'sig').kid)
    expect((await r(['token', 'verify', before])).code).toBe(0)
    const list = json<any[]>(await r(['keys', 'list', '--json']))
    expect(list.map((k) => `${k.client}/${k.state}`).sort()).toEqual([
      'null/active', // the issuer's key-wrapping key: listed, never exported
      'svc/active',
      'svc/active',
      'svc/retired',
      'svc/retired',
    ])
    const jwks = json<any>(await r(['keys', 'export', '--json']))
    expect(jwks.keys).toHaveLength(4)
    expect(JSON.stringify(jwks)).not.toMatch(/"d"/)
    const later = {JWTIS_NOW: new Date(Date.now() + 3_600_000 + 60_000).toISOString()}
    const out = await r(['token', 'verify', before, '--leeway', '2h', '--json'], later)
    expect([out.code, json<any>(out).error.code]).toEqual([1, 'UNKNOWN_KID'])
    expect((await r(['token', 'verify', after, '--leeway', '2h'], later)).code).toBe(0)
    expect(json<any>(await r(['keys', 'export', '--json'], later)).keys).toHaveLength(2)
  })
})
