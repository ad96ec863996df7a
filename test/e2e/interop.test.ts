import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {hasTool, json, jwtis, jwtisOk, scratch} from '../helpers/cli.js'
import {ageDecrypt, hasPythonJose, python} from '../helpers/tools.js'

const SIG_ALGS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
const ENC_ALGS = ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW', 'RSA-OAEP', 'RSA-OAEP-256']
const ENCS = ['A128GCM', 'A192GCM', 'A256GCM']

const HAS_PY =
  hasPythonJose() ||
  hasTool('false', [], 'the PyJWT/jwcrypto interop tests (apt-get install python3-jwt python3-jwcrypto)')
const HAS_JOSE = hasTool('jose', ['alg'], 'the Debian jose CLI interop tests (apt-get install jose)')
const HAS_AGE = hasTool('age', ['--version'], 'the tests that read private keys with age')

async function vault() {
  const s = scratch()
  const path = join(s.dir, 'vault.age')
  const init = json<{identity_file: string}>(
    await jwtisOk(['init', '--vault', path, '--name', 'https://issuer.test', '--json'], {env: s.env}),
  )
  const run = (args: string[]) => jwtisOk([...args, '--vault', path], {env: s.env})
  return {...s, identity: init.identity_file, path, run}
}

describe.skipIf(!HAS_PY && !HAS_JOSE)('access tokens verify with PyJWT, jwcrypto and the jose CLI', () => {
  const tokens: Record<string, string> = {}
  let jwksFile = ''
  let jwks: {keys: unknown[]}

  beforeAll(async () => {
    const v = await vault()
    for (const alg of SIG_ALGS) {
      await v.run(['client', 'add', `c-${alg}`, '--sig-alg', alg, '--aud', 'https://api.test'])
      tokens[alg] = (
        await v.run(['token', 'issue', '--client', `c-${alg}`, '--sub', 'alice', '--claim', 'n=1'])
      ).stdout.trim()
    }

    jwks = json(await v.run(['keys', 'export', '--json']))
    jwksFile = join(v.dir, 'jwks.json')
    writeFileSync(jwksFile, JSON.stringify(jwks))
  }, 180_000)

  it.skipIf(!HAS_PY).each(SIG_ALGS)('%s with PyJWT and jwcrypto', (alg) => {
    const results = python<Record<string, Record<string, any>>>('verify_jws.py', {
      jwks,
      tokens: [{alg, aud: 'https://api.test', iss: 'https://issuer.test', token: tokens[alg]}],
    })
    for (const lib of ['pyjwt', 'jwcrypto']) {
      expect(results[alg][lib], lib).toMatchObject({
        aud: 'https://api.test',
        client_id: `c-${alg}`,
        iss: 'https://issuer.test',
        n: 1,
        sub: 'alice',
      })
    }
  })

  it.skipIf(!HAS_JOSE).each(SIG_ALGS)('%s with `jose jws ver`', (alg) => {
    const tokenFile = join(jwksFile, '..', `${alg}.jws`)
    writeFileSync(tokenFile, tokens[alg])
    const out = spawnSync('jose', ['jws', 'ver', '-i', tokenFile, '-k', jwksFile, '-O', '-'], {encoding: 'utf8'})
    const supported = spawnSync('jose', ['alg', '-k', 'sign'], {encoding: 'utf8'}).stdout.split('\n')
    if (!supported.includes(alg)) {
      // Debian 12's José (v11) has no EdDSA: it must say so, rather than call the token bad.
      // PyJWT and jwcrypto verify these tokens above.
      process.stderr.write(`NOTICE: this jose CLI does not implement ${alg}; checked that it says so\n`)
      expect(out.stderr).toMatch(/not supported/)
      return
    }

    expect(out.status, out.stderr).toBe(0)
    expect(JSON.parse(out.stdout)).toMatchObject({sub: 'alice'})
    // and a tampered one fails there too
    const [h, p, sig] = tokens[alg].split('.')
    writeFileSync(tokenFile, `${h}.${p}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`)
    expect(spawnSync('jose', ['jws', 'ver', '-i', tokenFile, '-k', jwksFile]).status).not.toBe(0)
  })
})

describe.skipIf(!HAS_PY || !HAS_AGE)('JWE interop with jwcrypto', () => {
  // every key management algorithm and content encryption of refresh_seal: client, and each
  // content encryption under the issuer's A256KW key (refresh_seal: issuer)
  const clients: Array<{alg: string; enc: string; name: string; seal: 'client' | 'issuer'}> = [
    ...ENC_ALGS.flatMap((alg) =>
      ENCS.map((enc) => ({alg, enc, name: `${alg}-${enc}`.replaceAll('+', '_'), seal: 'client' as const})),
    ),
    ...ENCS.map((enc) => ({alg: 'ECDH-ES+A256KW', enc, name: `issuer-${enc}`, seal: 'issuer' as const})),
  ]
  let result: {made: Array<{client: string; enc: string; jwe: string}>; opened: Record<string, any>}
  let v: Awaited<ReturnType<typeof vault>>
  const plaintext = 'jwtis ↔ jwcrypto: ünïcødé & "quotes"'

  beforeAll(async () => {
    v = await vault()
    const refresh: Record<string, string> = {}
    for (const c of clients) {
      await v.run(['client', 'add', c.name, '--enc-alg', c.alg, '--enc', c.enc, '--refresh-seal', c.seal])
      refresh[c.name] = json<{refresh_token: string}>(
        await v.run([
          'token',
          'issue',
          '--client',
          c.name,
          '--sub',
          'bob',
          '--claim',
          'scope=read',
          '--refresh',
          '--json',
        ]),
      ).refresh_token
    }

    const doc = ageDecrypt(v.identity, v.path)
    const keyOf = (name: string, use: string) =>
      doc.clients[name].keys.find((k: any) => k.use === use && k.state === 'active').jwk
    const issuerKey = doc.issuer.sealKeys.find((k: any) => k.state === 'active').jwk
    result = python('jwe.py', {
      clients: clients.map((c) => ({
        ...c,
        enc_jwk: keyOf(c.name, 'enc'),
        refresh_token: refresh[c.name],
        seal: c.seal === 'issuer' ? {alg: 'A256KW', jwk: issuerKey} : {alg: c.alg, jwk: keyOf(c.name, 'enc')},
        sig_jwk: {...keyOf(c.name, 'sig'), d: undefined},
      })),
      plaintext,
    })
  }, 300_000)

  it.each(clients.map((c) => [c.name, c]))('a refresh token of %s opens with jwcrypto and the vault key', (name) => {
    expect(result.opened[name]).toMatchObject({
      cl: {scope: 'read'},
      client_id: name,
      iss: 'https://issuer.test',
      sub: 'bob',
    })
    expect(result.opened[name].fam).toEqual(expect.any(String))
  })

  it.each(clients.filter((c) => c.enc === 'A256GCM' && c.seal === 'client').map((c) => [c.alg, c]))(
    'jwe decrypt opens what jwcrypto made with %s (A128GCM, A192GCM, A256GCM)',
    async (_alg, c) => {
      for (const made of result.made.filter((m) => m.client === c.name)) {
        const out = await jwtis(['jwe', 'decrypt', made.jwe, '--vault', v.path], {env: v.env})
        expect(out.code, out.stderr).toBe(0)
        expect(out.stdout).toBe(plaintext)
        const header = JSON.parse(Buffer.from(made.jwe.split('.')[0], 'base64url').toString())
        expect([header.alg, header.enc]).toEqual([c.alg, made.enc])
      }
    },
  )
})
