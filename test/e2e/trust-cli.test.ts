/**
 * Issue 20 (Trust), through the built CLI: `keys import` takes only keys that hold together and
 * that jose can use (item 5), and `token issue --refresh` / `token renew` put every live
 * credential on stdout, never on stderr alone (item 6).
 */
import {generateKeyPairSync, type JsonWebKey, randomBytes} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {json, jwtisTty, scratch} from '../helpers/cli.js'
import {cli, cliOk} from '../helpers/run-command.js'
import {hasPythonJose, python} from '../helpers/tools.js'

const HAS_PY = hasPythonJose()
const ISS = 'https://issuer.test'
const AUD = 'https://api.test'

let env: Record<string, string>
let dir: string
let vault: string
const run = (args: string[], extra: Record<string, string> = {}) =>
  cli([...args, '--vault', vault], {env: {...env, ...extra}})
const ok = async (args: string[], extra: Record<string, string> = {}) => {
  const out = await run(args, extra)
  if (out.code !== 0) throw new Error(`jwtis ${args.join(' ')} exited ${out.code}: ${out.stdout}${out.stderr}`)
  return out
}

const file = (name: string, content: string) => {
  const path = join(dir, `${name}-${randomBytes(4).toString('hex')}`)
  writeFileSync(path, content)
  return path
}

const jwkOf = (type: 'ec' | 'ed448' | 'ed25519' | 'rsa' | 'x448' | 'x25519', options: object = {}): JsonWebKey =>
  generateKeyPairSync(type as 'ec', options as {namedCurve: string}).privateKey.export({format: 'jwk'})
const p256 = () => jwkOf('ec', {namedCurve: 'P-256'})
const rsa = () => jwkOf('rsa', {modulusLength: 2048})
const b64 = (bytes: Buffer) => bytes.toString('base64url')
const lines = (stdout: string) => stdout.replace(/\n$/, '').split('\n')

/** The uncompressed SEC1 form of an EC JWK's public point. */
const pointOf = (jwk: JsonWebKey) =>
  Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')])

/** A SEC1 key whose public point is another key's: OpenSSL reads it without a check. */
const sec1WithForeignPoint = () => {
  const mine = generateKeyPairSync('ec', {namedCurve: 'P-256'}).privateKey
  const der = mine.export({format: 'der', type: 'sec1'})
  const point = pointOf(mine.export({format: 'jwk'}))
  const at = der.indexOf(point)
  const forged = Buffer.concat([der.subarray(0, at), pointOf(p256()), der.subarray(at + point.length)])
  return `-----BEGIN EC PRIVATE KEY-----\n${forged.toString('base64')}\n-----END EC PRIVATE KEY-----\n`
}

beforeAll(async () => {
  const s = scratch()
  env = s.env
  dir = s.dir
  vault = join(dir, 'vault.age')
  await cliOk(['init', '--vault', vault, '--name', ISS], {env})
  await ok(['client', 'add', 'app', '--aud', AUD])
  await ok(['client', 'add', 'ed', '--sig-alg', 'EdDSA', '--aud', AUD])
  await ok(['client', 'add', 'rsa', '--sig-alg', 'RS256', '--enc-alg', 'RSA-OAEP-256', '--aud', AUD])
  await ok(['client', 'add', 'both', '--refresh-strategy', 'refreshBoth', '--aud', AUD])
}, 60_000)

describe('keys import refuses a key that does not hold together or that jose cannot use', () => {
  const cases: Array<[string, string, 'enc' | 'sig', () => string, RegExp]> = [
    [
      'an EC JWK whose x, y are another key’s',
      'app',
      'sig',
      () => JSON.stringify({...p256(), x: p256().x, y: p256().y}),
      /public x, y are not those of its private d/,
    ],
    [
      'the EC JWK of the report (short x, y and d, d zero)',
      'app',
      'sig',
      () => '{"kty":"EC","crv":"P-256","x":"c59w4Q","y":"AA","d":"AA"}',
      /"x" of a P-256 key must be 32 bytes, not 4/,
    ],
    [
      'an EC JWK whose d is zero',
      'app',
      'sig',
      () => JSON.stringify({...p256(), d: b64(Buffer.alloc(32))}),
      /"d" is not a P-256 private key/,
    ],
    [
      'an EC JWK whose point is off the curve',
      'app',
      'sig',
      () => JSON.stringify({...p256(), x: b64(randomBytes(32)), y: b64(randomBytes(32))}),
      /public x, y are not those of its private d/,
    ],
    ['a SEC1 PEM whose public point is another key’s', 'app', 'sig', sec1WithForeignPoint, /public x, y are not those/],
    [
      'an RSA JWK with only n, e, d',
      'rsa',
      'sig',
      () => {
        const {d, e, kty, n} = rsa()
        return JSON.stringify({d, e, kty, n})
      },
      /RSA key without p, q, dp, dq, qi/,
    ],
    [
      'an RSA JWK whose n is another key’s',
      'rsa',
      'sig',
      () => JSON.stringify({...rsa(), n: rsa().n}),
      /public n, e are not those of its private d, p, q/,
    ],
    [
      'an RSA JWK whose CRT members are wrong',
      'rsa',
      'enc',
      () => JSON.stringify({...rsa(), qi: rsa().qi}),
      /public n, e are not those/,
    ],
    [
      'an Ed25519 JWK whose x is another key’s',
      'ed',
      'sig',
      () => JSON.stringify({...jwkOf('ed25519'), x: jwkOf('ed25519').x}),
      /public x are not those of its private d/,
    ],
    ['an Ed448 JWK', 'ed', 'sig', () => JSON.stringify(jwkOf('ed448')), /Ed448, which jose cannot use/],
    ['an X448 JWK', 'app', 'enc', () => JSON.stringify(jwkOf('x448')), /X448, which jose cannot use/],
    [
      'an Ed448 PEM',
      'ed',
      'sig',
      () => generateKeyPairSync('ed448').privateKey.export({format: 'pem', type: 'pkcs8'}).toString(),
      /Ed448, which jose cannot use/,
    ],
    [
      'an EC key on secp256k1',
      'app',
      'enc',
      () => JSON.stringify(jwkOf('ec', {namedCurve: 'secp256k1'})),
      /secp256k1, which jwtis cannot use: use P-256, P-384 or P-521/,
    ],
    [
      'a P-384 key for an ES256 client',
      'app',
      'sig',
      () => JSON.stringify(jwkOf('ec', {namedCurve: 'P-384'})),
      /P-384\), which cannot be used for ES256/,
    ],
  ]

  it.each(cases)(
    '%s: exit 2, one line, BAD_KEY, the vault file unchanged',
    async (_name, client, use, make, reason) => {
      const key = file('refused', make())
      const before = readFileSync(vault)
      const out = await run(['keys', 'import', '--client', client, '--use', use, key])
      expect(out.code, out.stderr).toBe(2)
      expect(out.stderr.trim().split('\n')).toHaveLength(1)
      expect(out.stderr).toMatch(reason)
      const asJson = await run(['keys', 'import', '--client', client, '--use', use, key, '--json'])
      expect(json<any>(asJson).error.code).toBe('BAD_KEY')
      expect(readFileSync(vault).equals(before)).toBe(true)
    },
  )

  it('a good JWK or PEM still imports, and jwtis, PyJWT and jwcrypto verify what it signs', async ({skip}) => {
    const ec = p256()
    // members beside the key's own (ext, key_ops, x5t) are not kept
    await ok([
      'keys',
      'import',
      '--client',
      'app',
      file('ec.jwk', JSON.stringify({...ec, ext: true, key_ops: ['sign'], x5t: 'x'})),
    ])
    const ed = generateKeyPairSync('ed25519').privateKey.export({format: 'pem', type: 'pkcs8'}).toString()
    await ok(['keys', 'import', '--client', 'ed', file('ed.pem', ed)])
    await ok(['keys', 'import', '--client', 'rsa', file('rsa.jwk', JSON.stringify({...rsa(), alg: 'RS256'}))])
    await ok(['keys', 'import', '--client', 'ed', '--use', 'enc', file('x.jwk', JSON.stringify(jwkOf('x25519')))])
    await ok(['keys', 'import', '--client', 'rsa', '--use', 'enc', file('rsa-enc.jwk', JSON.stringify(rsa()))])

    const tokens = []
    for (const [client, alg] of [
      ['app', 'ES256'],
      ['ed', 'EdDSA'],
      ['rsa', 'RS256'],
    ]) {
      const token = (await ok(['token', 'issue', '--client', client, '--sub', 'alice'])).stdout.trim()
      await ok(['token', 'verify', token, '--aud', AUD])
      tokens.push({alg, aud: AUD, iss: ISS, token})
    }

    for (const client of ['ed', 'rsa']) {
      const sealed = (await ok(['jwe', 'encrypt', 'hello', '--to', client])).stdout.trim()
      expect((await ok(['jwe', 'decrypt', sealed])).stdout.trim()).toBe('hello')
    }

    const jwks = json<{keys: Array<Record<string, unknown>>}>(await ok(['keys', 'export', '--json']))
    const published = jwks.keys.find((k) => k.x === ec.x)
    expect(Object.keys(published!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
    skip(!HAS_PY, 'PyJWT or jwcrypto is not installed')
    const results = python<Record<string, Record<string, unknown>>>('verify_jws.py', {jwks, tokens})
    for (const {alg} of tokens)
      for (const lib of ['pyjwt', 'jwcrypto']) expect(results[alg][lib], `${alg} ${lib}`).toMatchObject({sub: 'alice'})
  })
})

describe('token issue --refresh and token renew put both tokens on stdout', () => {
  const JWT = /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/
  const JWE = /^eyJ[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/

  /** The fast entry (bin/run.js) runs `token issue` without oclif, JWTIS_FAST=0 through oclif: both must do this. */
  it.each([
    ['the fast entry', {}],
    ['oclif', {JWTIS_FAST: '0'}],
  ])(
    'issue --refresh through %s: access token on line 1, refresh token on line 2, no token on stderr',
    async (_name, extra) => {
      const out = await ok(['token', 'issue', '--client', 'both', '--sub', 'alice', '--refresh'], extra)
      const [access, refresh, ...rest] = lines(out.stdout)
      expect(access).toMatch(JWT)
      expect(refresh).toMatch(JWE)
      expect(rest).toEqual([])
      expect(out.stderr).not.toContain('eyJ')
      // the refresh token on stdout is the live one
      await ok(['token', 'renew', '--client', 'both', refresh])
    },
  )

  it('renew with refreshBoth: the new refresh token on line 2, the one given spent', async () => {
    const issued = json<any>(await ok(['token', 'issue', '--client', 'both', '--refresh', '--json']))
    const out = await ok(['token', 'renew', '--client', 'both', issued.refresh_token])
    const [access, refresh, ...rest] = lines(out.stdout)
    expect(access).toMatch(JWT)
    expect(refresh).toMatch(JWE)
    expect(refresh).not.toBe(issued.refresh_token)
    expect(rest).toEqual([])
    expect(out.stderr).not.toContain('eyJ')
    expect(lines((await ok(['token', 'renew', '--client', 'both', refresh])).stdout)).toHaveLength(2)
  })

  it('renew with noRefresh: line 2 is the refresh token to present next, the same one', async () => {
    const issued = json<any>(await ok(['token', 'issue', '--client', 'app', '--refresh', '--json']))
    const out = await ok(['token', 'renew', '--client', 'app', issued.refresh_token])
    const [access, refresh, ...rest] = lines(out.stdout)
    expect(access).toMatch(JWT)
    expect(refresh).toBe(issued.refresh_token)
    expect(rest).toEqual([])
    expect(out.stderr).toBe('')
  })

  it('issue without --refresh prints one line; --batch still prints one JSON result per line', async () => {
    const plain = await ok(['token', 'issue', '--client', 'app'])
    expect(lines(plain.stdout)).toHaveLength(1)
    const batch = await cli(
      ['token', 'issue', '--client', 'both', '--refresh', '--batch', '--quiet', '--vault', vault],
      {
        env,
        input: '{"sub":"a"}\n{"sub":"b"}\n',
      },
    )
    expect(batch.code).toBe(0)
    const results = lines(batch.stdout).map((line) => JSON.parse(line) as {refresh_token: string})
    expect(results).toHaveLength(2)
    for (const result of results) expect(result.refresh_token).toMatch(JWE)
    expect(batch.stderr).not.toContain('eyJ')
  })

  it('on a terminal, stderr says which line is which; stdout still has only the two tokens', async () => {
    const captured = join(dir, 'tokens.txt')
    const out = await jwtisTty(['token', 'issue', '--client', 'both', '--refresh', '--vault', vault], {
      env,
      redirect: {stdout: captured},
    })
    expect(out.code).toBe(0)
    expect(out.stdout).toContain('line 1: the access token; line 2: the refresh token')
    expect(out.stdout).not.toContain('eyJ')
    const [access, refresh, ...rest] = lines(readFileSync(captured, 'utf8'))
    expect(access).toMatch(JWT)
    expect(refresh).toMatch(JWE)
    expect(rest).toEqual([])
  })
})
