/**
 * Seed parity (issue 9): HMAC clients, key import, fingerprint-bound refresh, subject logout
 * with online checks, encrypted access tokens and the interop fixes, through the built CLI and
 * outside implementations (PyJWT, jwcrypto, OpenSSL, age).
 */
import {spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {hasTool, json, scratch} from '../helpers/cli.js'
import {cli, cliOk} from '../helpers/run-command.js'
import {ageDecrypt, hasPythonJose, python} from '../helpers/tools.js'

const HAS_PY =
  hasPythonJose() ||
  hasTool('false', [], 'the PyJWT/jwcrypto tests of issue 9 (apt-get install python3-jwt python3-jwcrypto)')
const HAS_OPENSSL = hasTool('openssl', ['version'], 'the key import tests')
const HAS_AGE = hasTool('age', ['--version'], 'the tests that read private keys with age')

const ISS = 'https://issuer.test'
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const claimsOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString())
const headerOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[0], 'base64url').toString())

const openssl = (...args: string[]) => {
  const out = spawnSync('openssl', args, {encoding: 'utf8'})
  if (out.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${out.stderr}`)
  return out.stdout
}

let env: Record<string, string>
let dir: string
let vault: string
let identityFile: string
const run = (args: string[], extra: Record<string, string | undefined> = {}, input?: string) =>
  cli([...args, '--vault', vault], {env: {...env, ...extra}, input})
const ok = async (args: string[], extra: Record<string, string | undefined> = {}) => {
  const out = await run(args, extra)
  if (out.code !== 0) throw new Error(`jwtis ${args.join(' ')} exited ${out.code}: ${out.stdout}${out.stderr}`)
  return out
}

beforeAll(async () => {
  const s = scratch()
  env = s.env
  dir = s.dir
  vault = join(dir, 'vault.age')
  identityFile = json<{identity_file: string}>(
    await cliOk(['init', '--vault', vault, '--name', ISS, '--json'], {env}),
  ).identity_file
  await cliOk(['client', 'add', 'app', '--vault', vault, '--aud', 'https://api.test'], {env})
}, 60_000)

describe('1. HMAC clients', () => {
  const HS = ['HS256', 'HS384', 'HS512'] as const
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    for (const alg of HS) {
      await ok(['client', 'add', `h-${alg}`, '--sig-alg', alg, '--aud', 'https://api.test'])
      tokens[alg] = (await ok(['token', 'issue', '--client', `h-${alg}`, '--sub', 'alice'])).stdout.trim()
    }
  }, 60_000)

  it.skipIf(!HAS_AGE)('generates a secret of the full hash size, kept as an oct JWK in the vault', () => {
    const doc = ageDecrypt(identityFile, vault)
    for (const alg of HS) {
      const key = doc.clients[`h-${alg}`].keys.find((k: any) => k.use === 'sig')
      expect(key.jwk).toMatchObject({alg, kty: 'oct', use: 'sig'})
      expect(Buffer.from(key.jwk.k, 'base64url')).toHaveLength(Number(alg.slice(2)) / 8)
    }
  })

  it.skipIf(!HAS_PY).each(HS)('%s tokens verify with PyJWT and jwcrypto given the shared secret', async (alg) => {
    const jwks = json<any>(await ok(['keys', 'export', '--client', `h-${alg}`, '--include-secret', '--yes', '--json']))
    expect(jwks.keys.some((k: any) => k.kty === 'oct' && k.k)).toBe(true)
    const results = python<Record<string, Record<string, any>>>('verify_jws.py', {
      jwks,
      tokens: [{alg, aud: 'https://api.test', iss: ISS, token: tokens[alg]}],
    })
    for (const lib of ['pyjwt', 'jwcrypto'])
      expect(results[alg][lib], lib).toMatchObject({client_id: `h-${alg}`, sub: 'alice'})
  })

  it('never publishes a secret: not in keys export, the JWKS or pub_sig_key; --include-secret needs --yes off a terminal', async () => {
    const exported = (await ok(['keys', 'export'])).stdout
    expect(exported).not.toContain('"oct"')
    const refused = await run(['keys', 'export', '--include-secret', '--json'])
    expect(refused.code).toBe(2)
    expect(json<any>(refused).error.message).toContain('--yes')
    const shown = json<any>(await ok(['client', 'show', 'h-HS256', '--json']))
    expect(shown.pub_sig_key.k).toBeUndefined()
  })

  it('imports a secret with --secret-file or JWTIS_CLIENT_SECRET, refusing one shorter than the hash', async () => {
    const secret = randomBytes(48)
    const file = join(dir, 'secret.bin')
    writeFileSync(file, Buffer.concat([secret, Buffer.from('\n')]))
    await ok(['client', 'add', 'given', '--sig-alg', 'HS384', '--secret-file', file])
    const token = (await ok(['token', 'issue', '--client', 'given'])).stdout.trim()
    const [h, p, sig] = token.split('.')
    const {createHmac} = await import('node:crypto')
    expect(createHmac('sha384', secret).update(`${h}.${p}`).digest('base64url')).toBe(sig)

    writeFileSync(file, randomBytes(31))
    const short = await run(['client', 'add', 'short', '--sig-alg', 'HS256', '--secret-file', file, '--json'])
    expect(short.code).toBe(2)
    expect(json<any>(short).error.message).toMatch(/31 bytes.*at least 32/)
    const env32 = await run(['client', 'add', 'from-env', '--sig-alg', 'HS256'], {
      JWTIS_CLIENT_SECRET: 'x'.repeat(32),
    })
    expect(env32.code, env32.stderr).toBe(0)
  })

  it('an HS token is never checked with a public key, nor an asymmetric token with a secret', async () => {
    const hs = tokens.HS256
    const es = (await ok(['token', 'issue', '--client', 'app'])).stdout.trim()
    const esKid = headerOf(es).kid
    const hsKid = headerOf(hs).kid
    const swapped = [
      `${b64({...headerOf(hs), kid: esKid})}.${hs.split('.')[1]}.${hs.split('.')[2]}`,
      `${b64({...headerOf(es), kid: hsKid})}.${es.split('.')[1]}.${es.split('.')[2]}`,
    ]
    for (const t of swapped) {
      const out = await run(['token', 'verify', t, '--json'])
      expect(out.code).toBe(1)
      expect(json<any>(out).error.code).toBe('ALG_NOT_ALLOWED')
    }
  })

  it('rotation retires the secret for the grace: old tokens verify, new ones carry the new kid', async () => {
    const before = tokens.HS512
    await ok(['keys', 'rotate', '--client', 'h-HS512', '--use', 'sig'])
    const after = (await ok(['token', 'issue', '--client', 'h-HS512'])).stdout.trim()
    expect(headerOf(after).kid).not.toBe(headerOf(before).kid)
    expect((await run(['token', 'verify', before])).code).toBe(0)
    expect((await run(['token', 'verify', after])).code).toBe(0)
  })
})

describe.skipIf(!HAS_OPENSSL)('2. keys import', () => {
  it('an encrypted PKCS#8 key made by openssl signs tokens that PyJWT verifies with its public key', async ({skip}) => {
    const key = join(dir, 'ec.pem')
    const encrypted = join(dir, 'ec-enc.pem')
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key)
    openssl('pkcs8', '-topk8', '-v2', 'aes256', '-in', key, '-out', encrypted, '-passout', 'pass:correct-horse-42')
    const pub = openssl('pkey', '-in', key, '-pubout')

    const wrong = await run(['keys', 'import', '--client', 'app', encrypted, '--json'], {JWTIS_KEY_PASSPHRASE: 'nope'})
    expect(wrong.code).toBe(2)
    expect(wrong.stdout).not.toContain('nope')
    const passFile = join(dir, 'pass.txt')
    writeFileSync(passFile, 'correct-horse-42\n')
    const imported = json<any>(
      await ok(['keys', 'import', '--client', 'app', encrypted, '--passphrase-file', passFile, '--json']),
    )
    expect(imported).toMatchObject({client: 'app', use: 'sig'})
    expect(imported.retired).toBeTruthy()

    const token = (await ok(['token', 'issue', '--client', 'app', '--sub', 'alice'])).stdout.trim()
    expect(headerOf(token).kid).toBe(imported.kid)
    skip(!HAS_PY, 'PyJWT is not installed')
    const claims = python<any>('verify_pem.py', {alg: 'ES256', aud: 'https://api.test', iss: ISS, pem: pub, token})
    expect(claims).toMatchObject({client_id: 'app', sub: 'alice'})
  })

  it('takes SEC1, PKCS#1 and JWK keys, for sig and enc', async () => {
    await ok(['client', 'add', 'rsa', '--sig-alg', 'RS256', '--enc-alg', 'RSA-OAEP-256'])
    const sec1 = join(dir, 'sec1.pem')
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', sec1)
    expect(readFileSync(sec1, 'utf8')).toContain('BEGIN EC PRIVATE KEY')
    await ok(['keys', 'import', '--client', 'app', sec1, '--use', 'enc'])

    const pkcs1 = join(dir, 'pkcs1.pem')
    openssl('genrsa', '-traditional', '-out', pkcs1, '2048')
    expect(readFileSync(pkcs1, 'utf8')).toContain('BEGIN RSA PRIVATE KEY')
    await ok(['keys', 'import', '--client', 'rsa', pkcs1])

    const {generateKeyPairSync} = await import('node:crypto')
    const jwk = generateKeyPairSync('ec', {namedCurve: 'P-256'}).privateKey.export({format: 'jwk'})
    const jwkFile = join(dir, 'key.jwk')
    writeFileSync(jwkFile, JSON.stringify(jwk))
    await ok(['keys', 'import', '--client', 'app', jwkFile])
    const refresh = json<any>(await ok(['token', 'issue', '--client', 'app', '--refresh', '--json']))
    expect((await run(['token', 'renew', '--client', 'app', refresh.refresh_token])).code).toBe(0)
  })

  it.each([
    ['a public key alone', () => openssl('pkey', '-in', join(dir, 'ec.pem'), '-pubout'), 'app', /public key only/],
    ['a weak RSA key', () => openssl('genrsa', '1024'), 'rsa', /1024-bit RSA key/],
    ['a key of the wrong type', () => readFileSync(join(dir, 'ec.pem'), 'utf8'), 'rsa', /cannot be used for RS256/],
    ['garbage', () => 'not a key', 'app', /neither a PEM key nor a JWK/],
  ])('refuses %s with one line and exit 2', async (_name, make, client, reason) => {
    const file = join(dir, `refused-${randomBytes(4).toString('hex')}.pem`)
    writeFileSync(file, make())
    const before = readFileSync(vault)
    const out = await run(['keys', 'import', '--client', client, file])
    expect(out.code).toBe(2)
    expect(out.stderr.trim().split('\n')).toHaveLength(1)
    expect(out.stderr).toMatch(reason)
    expect(readFileSync(vault).equals(before)).toBe(true)
  })
})

describe('3. fingerprint-bound refresh families', () => {
  it('binds the family to a salted hash, puts cnf in the access token, and revokes the family on a mismatch', async () => {
    await ok(['client', 'add', 'fp', '--refresh-strategy', 'refreshBoth'])
    const issued = json<any>(
      await ok(['token', 'issue', '--client', 'fp', '--refresh', '--fingerprint', 'device-1', '--json']),
    )
    const thumb = createHash('sha256').update('device-1').digest('base64url')
    expect(claimsOf(issued.access_token).cnf).toEqual({'fp#S256': thumb})

    const renewed = json<any>(
      await ok(['token', 'renew', '--client', 'fp', issued.refresh_token, '--fingerprint', 'device-1', '--json']),
    )
    expect(claimsOf(renewed.access_token).cnf).toEqual({'fp#S256': thumb})
    for (const presented of [['--fingerprint', 'device-2'], []]) {
      const family = json<any>(
        await ok(['token', 'issue', '--client', 'fp', '--refresh', '--fingerprint', 'device-1', '--json']),
      )
      const out = await run(['token', 'renew', '--client', 'fp', family.refresh_token, ...presented, '--json'])
      expect(out.code).toBe(1)
      expect(json<any>(out).error.code).toBe('FINGERPRINT_MISMATCH')
      // the family is revoked: even the right fingerprint is refused now
      const after = await run([
        'token',
        'renew',
        '--client',
        'fp',
        family.refresh_token,
        '--fingerprint',
        'device-1',
        '--json',
      ])
      expect(json<any>(after).error.code).toBe('TOKEN_REVOKED')
    }

    // only the salted hash is stored
    const stored = readdirSync(`${vault}.tokens`, {recursive: true})
      .map(String)
      .filter((f) => f.endsWith('.json'))
      .map((f) => readFileSync(join(`${vault}.tokens`, f), 'utf8'))
      .join('\n')
    expect(stored).toContain('fingerprint')
    expect(stored).not.toContain('device-1')
    expect(stored).not.toContain(thumb)
  })
})

describe('4. subject logout and online checks', () => {
  it('an old access token passes offline verify, fails --check-revoked; a newer one passes', async () => {
    const t0 = '2026-11-23T10:00:00Z'
    const old = (await ok(['token', 'issue', '--client', 'app', '--sub', 'carol'], {JWTIS_NOW: t0})).stdout.trim()
    const other = (await ok(['token', 'issue', '--client', 'app', '--sub', 'dave'], {JWTIS_NOW: t0})).stdout.trim()
    const refresh = json<any>(
      await ok(['token', 'issue', '--client', 'app', '--sub', 'carol', '--refresh', '--json'], {JWTIS_NOW: t0}),
    )
    await ok(['token', 'revoke', '--client', 'app', '--sub', 'carol'], {JWTIS_NOW: '2026-11-23T10:00:05Z'})
    const at = {JWTIS_NOW: '2026-11-23T10:00:10Z'}
    expect((await run(['token', 'verify', old], at)).code).toBe(0)
    const checked = await run(['token', 'verify', old, '--check-revoked', '--json'], at)
    expect(checked.code).toBe(1)
    expect(json<any>(checked).error.code).toBe('TOKEN_REVOKED')
    expect((await run(['token', 'verify', other, '--check-revoked'], at)).code).toBe(0)
    const fresh = (await ok(['token', 'issue', '--client', 'app', '--sub', 'carol'], at)).stdout.trim()
    expect((await run(['token', 'verify', fresh, '--check-revoked'], at)).code).toBe(0)
    const renewed = await run(['token', 'renew', '--client', 'app', refresh.refresh_token, '--json'], at)
    expect(json<any>(renewed).error.code).toBe('TOKEN_REVOKED')
  })
})

describe('5. encrypted access tokens', () => {
  it('are nested JWTs the vault verifies, jwe decrypt opens, and jwcrypto reads with the client key', async ({
    skip,
  }) => {
    await ok(['client', 'add', 'secretive', '--encrypt-access', '--aud', 'https://api.test'])
    const byFlag = (await ok(['token', 'issue', '--client', 'app', '--encrypt', '--sub', 'erin'])).stdout.trim()
    const issued = json<any>(
      await ok(['token', 'issue', '--client', 'secretive', '--sub', 'erin', '--refresh', '--json']),
    )
    for (const token of [byFlag, issued.access_token]) {
      expect(token.split('.')).toHaveLength(5)
      expect(headerOf(token)).toMatchObject({cty: 'JWT'})
      const verified = json<any>(await ok(['token', 'verify', token, '--json']))
      expect(verified.header.typ).toBe('at+jwt')
      expect(verified.payload.sub).toBe('erin')
      const opened = json<any>(await ok(['jwe', 'decrypt', token, '--json']))
      expect(opened.nested.payload.sub).toBe('erin')
    }

    // renewals of an encrypted family stay encrypted
    const renewed = json<any>(await ok(['token', 'renew', '--client', 'secretive', issued.refresh_token, '--json']))
    expect(renewed.access_token.split('.')).toHaveLength(5)
    // no vault, only the public signing key: it cannot be read
    const pem = join(dir, 'sig.pem')
    writeFileSync(
      pem,
      (await ok(['keys', 'export', '--client', 'secretive', '--use', 'sig', '--format', 'pem'])).stdout,
    )
    const blind = await cli(['token', 'verify', issued.access_token, '--key', pem, '--json'])
    expect([blind.code, json<any>(blind).error.code]).toEqual([2, 'BAD_KEY'])

    skip(!HAS_PY || !HAS_AGE, 'jwcrypto or age is not installed')
    const doc = ageDecrypt(identityFile, vault)
    const keyOf = (use: string) =>
      doc.clients.secretive.keys.find((k: any) => k.use === use && k.state === 'active').jwk
    const result = python<any>('jwe.py', {
      clients: [
        {
          alg: 'ECDH-ES+A256KW',
          enc: 'A256GCM',
          enc_jwk: keyOf('enc'),
          name: 'secretive',
          refresh_token: issued.access_token,
          // an encrypted access token is sealed to the client's own key
          seal: {alg: 'ECDH-ES+A256KW', jwk: keyOf('enc')},
          sig_jwk: {...keyOf('sig'), d: undefined},
        },
      ],
      plaintext: 'x',
    })
    expect(result.opened.secretive).toMatchObject({client_id: 'secretive', sub: 'erin'})
  })
})

describe('6. interop fixes', () => {
  it('decrypts with a dir key whose JWK alg names the content encryption (RFC 7520 §5.6)', async () => {
    const {CompactEncrypt} = await import('jose')
    const k = randomBytes(16)
    const jwe = await new CompactEncrypt(new TextEncoder().encode('Live long and prosper.'))
      .setProtectedHeader({alg: 'dir', enc: 'A128GCM', kid: 'rfc7520-5.6'})
      .encrypt(k)
    const keyFile = join(dir, 'dir.jwk')
    writeFileSync(
      keyFile,
      JSON.stringify({alg: 'A128GCM', k: k.toString('base64url'), kid: 'rfc7520-5.6', kty: 'oct', use: 'enc'}),
    )
    const out = await cli(['jwe', 'decrypt', jwe, '--key', keyFile])
    expect(out.code, out.stderr).toBe(0)
    expect(out.stdout).toBe('Live long and prosper.')
  })

  it.skipIf(!HAS_AGE)('a nested JWT opened with --key alone is printed, marked NOT verified, exit 0', async () => {
    const refresh = json<any>(await ok(['token', 'issue', '--client', 'app', '--refresh', '--json'])).refresh_token
    // the key that sealed it: the issuer's key-wrapping key (refresh_seal: issuer), from the vault
    const doc = ageDecrypt(identityFile, vault)
    const sealKey = doc.issuer.sealKeys.find((k: any) => k.state === 'active').jwk
    const keyFile = join(dir, 'seal.jwk')
    writeFileSync(keyFile, JSON.stringify(sealKey))
    const human = await cli(['jwe', 'decrypt', refresh, '--key', keyFile])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout.split('.')).toHaveLength(3)
    expect(human.stderr).toContain('NOT verified')
    const out = await cli(['jwe', 'decrypt', refresh, '--key', keyFile, '--json'])
    expect(out.code).toBe(0)
    expect(json<any>(out)).toMatchObject({nested: {valid: false}, verified: false})
  })

  it('a key file that is not a usable key is BAD_KEY (exit 2), not a rejected token', async () => {
    const token = (await ok(['token', 'issue', '--client', 'app'])).stdout.trim()
    const cases = {
      'bad-curve.jwk': JSON.stringify({crv: 'P-256', kid: headerOf(token).kid, kty: 'EC', x: 'AAAA', y: 'AAAA'}),
      'no-kty.jwk': '{"keys":[{"kid":"x"}]}',
      'not-json.jwk': '{not json',
      'text.txt': 'hello',
    }
    for (const [name, text] of Object.entries(cases)) {
      const file = join(dir, name)
      writeFileSync(file, text)
      const out = await cli(['token', 'verify', token, '--key', file, '--json'])
      expect(out.code, `${name}: ${out.stdout}`).toBe(2)
      expect(json<any>(out).error.code, name).toBe('BAD_KEY')
    }
  })
})
