/**
 * Issue 23's key-on-the-command-line items, through the built CLI: HMAC both ways (`token verify
 * --secret`, an `oct` JWK bound by --alg, tokens made by PyJWT and jwcrypto), `token sign`
 * refusing claims its flags set, and `jwk create --out/--force` and its terminal warning.
 */
import {createHash, randomBytes} from 'node:crypto'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {BOTH_ENTRIES, hasTool, json, jwtis, jwtisOk, jwtisTty, type RunResult, scratch} from '../helpers/cli.js'
import {hasPythonJose, python} from '../helpers/tools.js'

const HAS_PY =
  hasPythonJose() ||
  hasTool('false', [], 'the PyJWT/jwcrypto HMAC tests (apt-get install python3-jwt python3-jwcrypto)')
const HAS_SCRIPT = hasTool('script', ['--version'], 'the terminal tests (util-linux script)')

const s = scratch()
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')
const errorOf = (out: RunResult) => json<{error: {code: string; message: string}}>(out).error

describe.skipIf(!HAS_PY)('token verify with a shared secret', () => {
  // 60 bytes of text (a secret file is read as text, as token sign reads it): a length that
  // names no HMAC algorithm, so only --alg can say which
  const secret = Buffer.from(randomBytes(45).toString('base64url'))
  const secretFile = join(s.dir, 'secret.bin')
  const loose = join(s.dir, 'loose.jwk')
  const bound = join(s.dir, 'bound.jwk')
  let tokens: Record<string, {jwcrypto: string; pyjwt: string}>

  beforeAll(() => {
    writeFileSync(secretFile, secret)
    const k = secret.toString('base64url')
    writeFileSync(loose, JSON.stringify({k, kty: 'oct'}))
    writeFileSync(bound, JSON.stringify({alg: 'HS512', k, kty: 'oct'}))
    tokens = python('sign_hs.py', {claims: {exp: 4_102_444_800, sub: 'alice'}, secret: k})
  })

  it.each(['HS256', 'HS384', 'HS512'])(
    '%s from PyJWT and jwcrypto verifies with --secret @FILE and --key (alg-less oct) --alg',
    async (alg) => {
      for (const token of Object.values(tokens[alg])) {
        for (const key of [
          ['--secret', `@${secretFile}`],
          ['--key', loose],
        ]) {
          const out = await jwtis(['token', 'verify', token, ...key, '--alg', alg, '--json'])
          expect(out.code, out.stdout + out.stderr).toBe(0)
          expect(json<{payload: {sub: string}}>(out).payload.sub).toBe('alice')
        }
      }
    },
  )

  it('reads the secret from stdin with --secret - (the token then comes as an argument), through oclif too', async () => {
    for (const env of BOTH_ENTRIES) {
      const out = await jwtis(['token', 'verify', tokens.HS256.jwcrypto, '--secret', '-', '--alg', 'HS256', '--json'], {
        env,
        input: `${secret.toString()}\n`,
      })
      expect(out.code, out.stdout).toBe(0)
    }

    const text = 'a shared secret of more than thirty-two bytes, typed'
    const signed = await jwtisOk(['token', 'sign', '--secret', '-', '--alg', 'HS384', '--sub', 'bob'], {input: text})
    for (const env of BOTH_ENTRIES) {
      const out = await jwtis(['token', 'verify', signed.stdout.trim(), '--secret', '-', '--alg', 'HS384', '--json'], {
        env,
        input: `${text}\n`,
      })
      expect(out.code, out.stdout).toBe(0)
      expect(json<{payload: {sub: string}}>(out).payload.sub).toBe('bob')
    }
  })

  it('refuses what it must: another secret, another alg, a key bound to another alg, an alg-less key without --alg', async () => {
    const other = join(s.dir, 'other.bin')
    writeFileSync(other, randomBytes(45).toString('base64url'))
    const token = tokens.HS256.pyjwt
    const cases: Array<[string[], number, RegExp]> = [
      [['--secret', `@${other}`, '--alg', 'HS256'], 1, /^BAD_SIGNATURE$/],
      [['--secret', `@${secretFile}`, '--alg', 'HS512'], 1, /^ALG_NOT_ALLOWED$/],
      [['--key', bound, '--alg', 'HS256'], 1, /^ALG_NOT_ALLOWED$/],
      [['--key', loose], 2, /^USAGE$/],
      [['--secret', `@${secretFile}`], 2, /^USAGE$/],
      [['--secret', 'hunter2-on-the-command-line', '--alg', 'HS256'], 2, /^USAGE$/],
      [['--secret', `@${secretFile}`, '--key', loose], 2, /^USAGE$/],
    ]
    for (const [flags, code, error] of cases) {
      const out = await jwtis(['token', 'verify', token, ...flags, '--json'])
      expect(out.code, flags.join(' ')).toBe(code)
      expect(errorOf(out).code).toMatch(error)
      expect(out.stdout + out.stderr).not.toContain('hunter2')
    }

    const noAlg = await jwtis(['token', 'verify', token, '--key', loose])
    expect(noAlg.stderr.trim()).toBe(
      `Error: --key ${loose}: an HMAC key of 60 bytes names no algorithm: pass --alg HS256, HS384 or HS512`,
    )
    const stdinTwice = await jwtis(['token', 'verify', '-', '--secret', '-', '--alg', 'HS256'], {input: token})
    expect([stdinTwice.code, stdinTwice.stderr.trim()]).toEqual([
      2,
      'Error: --secret - reads the secret from stdin: give the token as an argument or @file',
    ])
  })
})

describe('token sign refuses a claim its flags set', () => {
  const key = join(s.dir, 'sign.jwk')
  beforeAll(async () => {
    writeFileSync(key, (await jwtisOk(['jwk', 'create', '--alg', 'ES256'])).stdout)
  })

  it.each([
    [['--claim', 'exp=5'], 'claim "exp" is set by --exp: give it there, not with --claim or --claims'],
    [
      ['--sub', 'alice', '--claim', 'sub=zz'],
      'claim "sub" is set by --sub: give it there, not with --claim or --claims',
    ],
    [
      ['--iss', 'me', '--claims', '{"iss":"you"}'],
      'claim "iss" is set by --iss: give it there, not with --claim or --claims',
    ],
    [['--aud', 'a', '--claim', 'aud=b'], 'claim "aud" is set by --aud: give it there, not with --claim or --claims'],
    [['--nbf', '1m', '--claim', 'nbf=5'], 'claim "nbf" is set by --nbf: give it there, not with --claim or --claims'],
    [['--claims', '{"iat":1}'], 'claim "iat" is set by token sign (the time of signing): drop it'],
  ])('%j: exit 2, one line naming the flag', async (flags, message) => {
    for (const env of BOTH_ENTRIES) {
      const out = await jwtis(['token', 'sign', '--key', key, ...flags], {env})
      expect([out.code, out.stdout, out.stderr]).toEqual([2, '', `Error: ${message}\n`])
    }
  })

  it('still takes sub, iss and aud as claims when their flag is not given', async () => {
    const out = await jwtisOk([
      'token',
      'sign',
      '--key',
      key,
      '--claim',
      'sub=zz',
      '--claims',
      '{"iss":"me"}',
      '--json',
    ])
    expect(json<{payload: {iss: string; sub: string}}>(out).payload).toMatchObject({iss: 'me', sub: 'zz'})
  })
})

describe('jwk create --out', () => {
  it('writes the private key with mode 0600 and prints the public one', async () => {
    const out = join(s.dir, 'private.jwk')
    const result = await jwtisOk(['jwk', 'create', '--alg', 'ES256', '--out', out])
    expect(statSync(out).mode & 0o777).toBe(0o600)
    const priv = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>
    const pub = JSON.parse(result.stdout) as Record<string, string>
    expect(priv.d).toBeTruthy()
    expect(pub.d).toBeUndefined()
    expect(pub.kid).toBe(priv.kid)
    expect(result.stderr).toBe('')
  })

  it('prints nothing for a secret, and --json gives no secret either', async () => {
    const out = join(s.dir, 'secret.jwk')
    const result = await jwtisOk(['jwk', 'create', '--alg', 'HS256', '--out', out, '--json'])
    expect(JSON.parse(readFileSync(out, 'utf8')).k).toBeTruthy()
    expect(json(result)).toEqual({kid: expect.any(String), kty: 'oct'})
    const human = await jwtisOk(['jwk', 'create', '--alg', 'HS256', '--out', join(s.dir, 'secret2.jwk')])
    expect(human.stdout).toBe('')
  })

  it('never overwrites an --out or --public-out file without --force (exit 2, files untouched)', async () => {
    const priv = join(s.dir, 'keep.jwk')
    const pub = join(s.dir, 'keep.pub.jwk')
    writeFileSync(priv, 'mine\n')
    writeFileSync(pub, 'mine too\n')
    const fresh = join(s.dir, 'fresh.jwk')
    for (const [flags, file] of [
      [['--out', priv], priv],
      [['--public-out', pub], pub],
      [['--out', fresh, '--public-out', pub], pub],
    ] as Array<[string[], string]>) {
      for (const env of BOTH_ENTRIES) {
        const out = await jwtis(['jwk', 'create', '--alg', 'ES256', ...flags], {env})
        expect([out.code, out.stdout, out.stderr]).toEqual([
          2,
          '',
          `Error: ${file} already exists: pass --force to overwrite it\n`,
        ])
      }
    }

    expect(readFileSync(priv, 'utf8')).toBe('mine\n')
    expect(readFileSync(pub, 'utf8')).toBe('mine too\n')
    expect(() => statSync(fresh)).toThrow()
    const before = sha(priv)
    await jwtisOk(['jwk', 'create', '--alg', 'ES256', '--out', priv, '--public-out', pub, '--force'])
    expect(sha(priv)).not.toBe(before)
    expect(statSync(priv).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(pub, 'utf8')).d).toBeUndefined()
  })

  it.skipIf(!HAS_SCRIPT)('warns on a terminal before printing a private key, not with --out', async () => {
    const shown = await jwtisTty(['jwk', 'create', '--alg', 'ES256'])
    expect(shown.code).toBe(0)
    const warning = 'warning: printing a private key on the terminal: --out FILE writes it to a file only you can read'
    expect(shown.stdout.indexOf(warning)).toBeGreaterThanOrEqual(0)
    expect(shown.stdout.indexOf(warning)).toBeLessThan(shown.stdout.indexOf('"d"'))
    const quiet = await jwtisTty(['jwk', 'create', '--alg', 'ES256', '--out', join(s.dir, 'tty.jwk')])
    expect(quiet.stdout).not.toContain('warning')
    // into a pipe (a file, a script): no warning
    const piped = await jwtisOk(['jwk', 'create', '--alg', 'ES256'])
    expect(piped.stderr).toBe('')
  })
})
