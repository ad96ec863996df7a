/**
 * Issue 9 over HTTP, against real `serve` processes on loopback: HMAC registration, fingerprint
 * binding, logout and RFC 7662 introspection, encrypted access tokens, and a JWTIS v0.1 client in
 * Go (resty, go-jose v2: test/interop/go-client) decoding every answer into JWTIS's types, with
 * credentials and, as JWTIS v0.1's own client, without them against `serve --auth none`.
 */
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {json, jwtis, jwtisOk, type RunResult, scratch} from '../helpers/cli.js'
import {freePort} from '../helpers/redis.js'
import {serve, type Served} from '../helpers/serve.js'
import {buildGoClient, hasGoClient} from '../helpers/tools.js'

const HAS_GO = hasGoClient()
const ISS = 'https://issuer.test'

let env: Record<string, string>
let dir: string
let vault: string
let server: Served

beforeAll(async () => {
  const s = scratch()
  env = s.env
  dir = s.dir
  vault = join(s.dir, 'vault.age')
  await jwtisOk(['init', '--vault', vault, '--name', ISS], {env})
  server = await serve(vault, env)
}, 60_000)
afterAll(async () => server?.stop())

/** Runs the Go client (built once per file) against `url`; see test/interop/go-client/main.go. */
let built: Promise<(args: string[]) => Promise<RunResult>> | undefined
const goClient = async (url: string, args: string[]) => {
  built ??= buildGoClient(dir)
  return (await built)(['-url', url, '-issuer', ISS, ...args])
}

/** What the Go client did when every answer decoded and checked out. */
const goSummary = (out: RunResult) => {
  expect(out.code, out.stderr).toBe(0)
  expect(out.stderr).toBe('')
  return JSON.parse(out.stdout) as {
    after_revoke: string
    claims: Record<string, unknown>
    enc: {alg: string; kid: string}
    sig: {alg: string; kid: string}
    steps: string[]
  }
}

const goSteps = (kid: string) => [
  `POST /register/${kid} 201`,
  `GET /keys/${kid} 200`,
  'POST /issue_token 201',
  'POST /renew_token 201',
  'POST /renew_token 201',
  'POST /revoke_token 204',
  'POST /renew_token 403',
]

const register = async (name: string, body: Record<string, unknown> = {}) => {
  const res = await server.request('POST', `/register/${name}`, body, server.admin)
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.client_token as string
}

describe('issue 9 routes', () => {
  it('registers an HS256 client whose tokens verify with the vault, and never serves its secret', async () => {
    const ct = await register('hs', {sig_alg: 'HS256'})
    const issued = await server.request('POST', '/issue_token', {kid: 'hs'}, ct)
    expect(issued.status).toBe(201)
    const header = JSON.parse(Buffer.from(issued.body.access_token.split('.')[0], 'base64url').toString())
    expect(header.alg).toBe('HS256')
    expect((await jwtis(['token', 'verify', issued.body.access_token, '--vault', vault], {env})).code).toBe(0)
    const jwks = await server.request('GET', '/.well-known/jwks.json')
    expect(JSON.stringify(jwks.body)).not.toContain('"oct"')
    const keys = await server.request('GET', '/keys/hs')
    expect(keys.body.sig.k).toBeUndefined()
    expect(JSON.stringify(keys.body.jwks)).not.toContain('"k"')
  })

  it('a fingerprint mismatch on renew_token is 403 FINGERPRINT_MISMATCH and revokes the family', async () => {
    const ct = await register('fp')
    const issued = await server.request('POST', '/issue_token', {fingerprint: 'ua-1', kid: 'fp'}, ct)
    expect(issued.status).toBe(201)
    const good = await server.request(
      'POST',
      '/renew_token',
      {fingerprint: 'ua-1', kid: 'fp', refresh_token: issued.body.refresh_token},
      ct,
    )
    expect(good.status).toBe(201)
    const bad = await server.request(
      'POST',
      '/renew_token',
      {fingerprint: 'ua-2', kid: 'fp', refresh_token: issued.body.refresh_token},
      ct,
    )
    expect([bad.status, bad.body.error.code]).toEqual([403, 'FINGERPRINT_MISMATCH'])
    const after = await server.request(
      'POST',
      '/renew_token',
      {fingerprint: 'ua-1', kid: 'fp', refresh_token: issued.body.refresh_token},
      ct,
    )
    expect(after.body.error.code).toBe('TOKEN_REVOKED')
  })

  it('POST /logout makes earlier access tokens inactive for POST /introspect, later ones stay active', async () => {
    const ct = await register('web')
    const old = (await server.request('POST', '/issue_token', {claims: {sub: 'frank'}, kid: 'web'}, ct)).body
    const introspect = async (token: string) => {
      const res = await fetch(`${server.url}/introspect`, {
        body: new URLSearchParams({token, token_type_hint: 'access_token'}),
        headers: {authorization: `Bearer ${ct}`},
        method: 'POST',
      })
      expect(res.status).toBe(200)
      return (await res.json()) as Record<string, unknown>
    }

    expect(await introspect(old.access_token)).toMatchObject({active: true, client_id: 'web', sub: 'frank'})
    expect(await introspect('not.a.token')).toEqual({active: false})
    await sleep(1100) // iat has a resolution of one second
    const logout = await server.request('POST', '/logout', {kid: 'web', sub: 'frank'}, ct)
    expect(logout.status).toBe(204)
    expect(await introspect(old.access_token)).toEqual({active: false})
    // the refresh family is revoked too
    const renewed = await server.request('POST', '/renew_token', {kid: 'web', refresh_token: old.refresh_token}, ct)
    expect(renewed.body.error.code).toBe('TOKEN_REVOKED')
    // offline verification is unchanged; the online check agrees with introspection
    expect((await jwtis(['token', 'verify', old.access_token, '--vault', vault], {env})).code).toBe(0)
    const online = await jwtis(['token', 'verify', old.access_token, '--vault', vault, '--check-revoked', '--json'], {
      env,
    })
    expect(json<any>(online).error.code).toBe('TOKEN_REVOKED')
    await sleep(1100)
    const fresh = (await server.request('POST', '/issue_token', {claims: {sub: 'frank'}, kid: 'web'}, ct)).body
    expect(await introspect(fresh.access_token)).toMatchObject({active: true})
    // introspection needs a client token
    const anonymous = await fetch(`${server.url}/introspect`, {
      body: new URLSearchParams({token: fresh.access_token}),
      method: 'POST',
    })
    expect(anonymous.status).toBe(401)
  })

  it('issue_token with "encrypt": true answers a nested JWT that the vault verifies', async () => {
    const ct = await register('enc')
    const issued = await server.request('POST', '/issue_token', {encrypt: true, kid: 'enc'}, ct)
    expect(issued.body.access_token.split('.')).toHaveLength(5)
    const verified = await jwtis(['token', 'verify', issued.body.access_token, '--vault', vault, '--json'], {env})
    expect(json<any>(verified).payload.client_id).toBe('enc')
  })

  it('with auth on, a call without credentials is 401 naming the client token and --auth none', async () => {
    const res = await server.request('POST', '/issue_token', {kid: 'web'})
    expect(res.status).toBe(401)
    expect(res.body.error.message).toContain('client_token')
    expect(res.body.error.message).toContain('--auth none')
  })
})

describe.skipIf(!HAS_GO)("JWTIS v0.1's Go client (resty, go-jose v2) with credentials", () => {
  it('registers with the admin token, then issues, renews and revokes with its client token', async () => {
    const summary = goSummary(
      await goClient(server.url, ['-kid', 'go-app', '-admin', server.admin, '-refresh-strategy', 'refreshOnExpire']),
    )
    expect(summary.steps).toEqual(goSteps('go-app'))
    expect(summary.after_revoke).toBe('TOKEN_REVOKED')
    expect(summary.claims).toMatchObject({aud: ['go-app'], client_id: 'go-app', iss: ISS, role: 'admin', sub: 'grace'})
    // the key go-jose verified the access tokens with is the one the server publishes for go-app
    const jwks = await server.request('GET', '/.well-known/jwks.json')
    expect(jwks.body.keys).toContainEqual(expect.objectContaining({alg: 'ES256', kid: summary.sig.kid, use: 'sig'}))
  })

  it('stops at its first call, with one line and exit 1, when the server refuses it', async () => {
    const out = await goClient(server.url, ['-kid', 'go-anonymous'])
    expect(out.code).toBe(1)
    expect(out.stderr).toMatch(/^go client: POST \/register answered 401 UNAUTHORIZED \(.*admin token.*\), want 201\n$/)
  })
})

describe('JWTIS v0.1 clients work unchanged with serve --auth none', () => {
  let open: Served
  beforeAll(async () => {
    open = await serve(vault, env, ['--auth', 'none'])
  })
  afterAll(async () => open?.stop())

  it.skipIf(!HAS_GO)('its Go client, sending no credentials, registers, issues, renews and revokes', async () => {
    // EdDSA and RSA keys (ES256 and ECDH-ES+A256KW with credentials), JWTIS's default noRefresh,
    // and JWTIS's own sealing of refresh tokens (to the client's key; with credentials: the issuer's)
    const out = await goClient(
      open.url,
      '-kid legacy-app -sig-alg EdDSA -enc-alg RSA-OAEP-256 -enc-bits 3072 -refresh-seal client'.split(' '),
    )
    const summary = goSummary(out)
    expect(summary.steps).toEqual(goSteps('legacy-app'))
    expect(summary.claims).toMatchObject({aud: ['legacy-app'], client_id: 'legacy-app', iss: ISS, sub: 'grace'})
    expect([summary.sig.alg, summary.enc.alg]).toEqual(['EdDSA', 'RSA-OAEP-256'])
    expect(open.stderr()).toContain('--auth none')
  })

  it('is refused on a non-loopback address unless --allow-insecure-remote', async () => {
    const out = await jwtis(
      ['serve', '--vault', vault, '--auth', 'none', '--listen', `0.0.0.0:${await freePort()}`, '--json'],
      {env},
    )
    expect(out.code).toBe(2)
    expect(json<any>(out).error.message).toContain('--allow-insecure-remote')
  })
})
