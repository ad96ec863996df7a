/**
 * Issue 9 over HTTP, against real `serve` processes on loopback: HMAC registration, fingerprint
 * binding, logout and RFC 7662 introspection, encrypted access tokens, and JWTIS v0.1's own Go
 * client replayed byte for byte against `serve --auth none`.
 */
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {json, jwtis, jwtisOk, scratch} from '../helpers/cli.js'
import {freePort} from '../helpers/redis.js'
import {serve, type Served} from '../helpers/serve.js'

const isNumericDate = (v: unknown) => Number.isInteger(v) && (v as number) > 1_600_000_000
const isJwk = (v: any) => typeof v === 'object' && typeof v.kty === 'string' && typeof v.kid === 'string'

let env: Record<string, string>
let vault: string
let server: Served

beforeAll(async () => {
  const s = scratch()
  env = s.env
  vault = join(s.dir, 'vault.age')
  await jwtisOk(['init', '--vault', vault, '--name', 'https://issuer.test'], {env})
  server = await serve(vault, env)
}, 60_000)
afterAll(async () => server?.stop())

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

describe('JWTIS v0.1 clients work unchanged with serve --auth none', () => {
  let open: Served
  beforeAll(async () => {
    open = await serve(vault, env, ['--auth', 'none'])
  })
  afterAll(async () => open?.stop())

  /** A request as JWTIS's Go client (resty v1) sends it: JSON content type on every call, no credentials. */
  const goClient = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${open.url}${path}`, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {
        'accept-encoding': 'gzip',
        'content-type': 'application/json',
        'user-agent': 'go-resty/1.12.0 (https://github.com/go-resty/resty)',
      },
      method,
    })
    return {body: (await res.json()) as any, status: res.status}
  }

  it('register → keys → issue → renew, each answer decoding into its Go type', async () => {
    // Register(RegisterClientRequest): Duration fields marshal as integer nanoseconds
    const reg = await goClient('POST', '/register/legacy-app', {
      auth_ttl: 3_600_000_000_000,
      enc_alg: 'ECDH-ES+A256KW',
      enc_bits: 256,
      refresh_ttl: 86_400_000_000_000,
      sig_alg: 'ES256',
      sig_bits: 256,
    })
    expect(reg.status).toBe(201)
    // RegisterClientResponse{Kid, ClientToken, PubSigKey, PubEncKey jose.JSONWebKey, Expiry jwt.NumericDate, Valid}
    expect(reg.body.kid).toBe('legacy-app')
    expect(typeof reg.body.client_token).toBe('string')
    expect(isJwk(reg.body.pub_sig_key) && isJwk(reg.body.pub_enc_key)).toBe(true)
    expect(isNumericDate(reg.body.expiry)).toBe(true)
    expect(reg.body.valid).toBe(true)

    // GetPubKeys: GET with a JSON content type and no body; SigEncKeys{Sig, Enc *jose.JSONWebKey, Expiry, Valid}
    const keys = await goClient('GET', '/keys/legacy-app')
    expect(keys.status).toBe(200)
    expect(isJwk(keys.body.sig) && isJwk(keys.body.enc)).toBe(true)
    expect(keys.body.sig).toEqual(reg.body.pub_sig_key)
    expect(isNumericDate(keys.body.expiry)).toBe(true)
    expect(typeof keys.body.valid).toBe('boolean')

    // NewJWT: NewTokenRequest{Kid, Claims}; TokenResponse{ID, AccessToken, RefreshToken, Expiry jwt.NumericDate}
    const issued = await goClient('POST', '/issue_token', {claims: {role: 'admin', sub: 'grace'}, kid: 'legacy-app'})
    expect(issued.status).toBe(201)
    for (const field of ['id', 'access_token', 'refresh_token']) expect(typeof issued.body[field]).toBe('string')
    expect(isNumericDate(issued.body.expiry)).toBe(true)
    const claims = JSON.parse(Buffer.from(issued.body.access_token.split('.')[1], 'base64url').toString())
    expect(claims).toMatchObject({role: 'admin', sub: 'grace'})

    // RenewTokenRequest{Kid, RefreshToken}
    const renewed = await goClient('POST', '/renew_token', {
      kid: 'legacy-app',
      refresh_token: issued.body.refresh_token,
    })
    expect(renewed.status).toBe(201)
    expect(renewed.body.refresh_token).toBe(issued.body.refresh_token) // JWTIS's default noRefresh
    expect(isNumericDate(renewed.body.expiry)).toBe(true)
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
