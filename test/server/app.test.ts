import type {FastifyInstance} from 'fastify'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Issuer} from '../../src/core/issuer.js'
import {buildServer} from '../../src/server/app.js'
import {MemoryStore} from '../../src/store/memory.js'
import {manualClock, tempVault} from '../helpers/vault.js'

const ADMIN = 'admin-secret-for-tests'
let app: FastifyInstance
let clock: ReturnType<typeof manualClock>
let token: string // client "web"'s token
let otherToken: string

/** A request from another address than the other tests', so its failures count apart. */
const fromElsewhere = (bearer: string) =>
  app.inject({
    headers: {authorization: `Bearer ${bearer}`},
    method: 'POST',
    payload: {kid: 'web'},
    remoteAddress: '10.9.9.9',
    url: '/issue_token',
  })

const post = (url: string, payload: unknown, bearer?: string) =>
  app.inject({
    headers: bearer ? {authorization: `Bearer ${bearer}`} : {},
    method: 'POST',
    payload: payload as object,
    url,
  })

beforeAll(async () => {
  const {vault} = await tempVault('https://issuer.test')
  clock = manualClock(Date.now())
  const store = new MemoryStore()
  const issuer = new Issuer(vault, async () => store, clock)
  ;({app} = await buildServer({adminToken: ADMIN, issuer, maxAuthFailures: 10}))
  await app.ready()
  const web = await post(
    '/register/web',
    {auth_ttl: 300_000_000_000, refresh_strategy: 'refreshBoth', refresh_ttl: '1h'},
    ADMIN,
  )
  expect(web.statusCode).toBe(201)
  token = web.json().client_token
  otherToken = (await post('/register/other', {}, ADMIN)).json().client_token
})
afterAll(async () => app?.close())

describe('POST /register/{kid}', () => {
  it('answers 201 with the JWTIS RegisterClientResponse', async () => {
    const res = await post(
      '/register/api',
      {enc_alg: 'RSA-OAEP-256', expiry: '720h', sig_alg: 'EdDSA', sig_bits: 0},
      ADMIN,
    )
    expect(res.statusCode).toBe(201)
    expect(res.json()).toMatchObject({
      kid: 'api',
      pub_enc_key: {alg: 'RSA-OAEP-256', kty: 'RSA'},
      pub_sig_key: {alg: 'EdDSA', crv: 'Ed25519'},
      valid: true,
    })
    expect(res.json().client_token).toMatch(/^jwtis_/)
    expect(JSON.stringify(res.json())).not.toMatch(/"d":/)
    expect(res.json().expiry * 1000 - clock()).toBeGreaterThan(719 * 3_600_000)
  })

  it.each([
    ['no admin token', {}, undefined, 401, 'UNAUTHORIZED'],
    ['a wrong admin token', {}, 'nope', 401, 'UNAUTHORIZED'],
    ['a client token', {}, 'client', 401, 'UNAUTHORIZED'],
    ['an unknown field', {colour: 'red'}, ADMIN, 400, 'USAGE'],
    ['a bad duration', {auth_ttl: 'soon'}, ADMIN, 400, 'USAGE'],
    ['a negative duration', {auth_ttl: -5}, ADMIN, 400, 'USAGE'],
    ['a bad algorithm', {sig_alg: 'HS1'}, ADMIN, 400, 'USAGE'],
    ['a bad strategy', {refresh_strategy: 'sometimes'}, ADMIN, 400, 'USAGE'],
    ['a bad refresh seal', {refresh_seal: 'nobody'}, ADMIN, 400, 'USAGE'],
  ])('refuses %s', async (_name, payload, bearer, status, code) => {
    const res = await post(`/register/x${status}${code}`, payload, bearer === 'client' ? token : bearer)
    expect(res.statusCode).toBe(status)
    expect(res.json()).toEqual({error: {code, message: expect.any(String)}})
  })

  it('takes refresh_seal: the refresh tokens of the client it makes are sealed as it says', async () => {
    const sealed: Record<string, string> = {}
    for (const seal of ['client', 'issuer']) {
      const reg = await post(`/register/sealed-${seal}`, {refresh_seal: seal}, ADMIN)
      expect(reg.statusCode).toBe(201)
      const issued = await post('/issue_token', {kid: `sealed-${seal}`}, reg.json().client_token)
      sealed[seal] = JSON.parse(Buffer.from(issued.json().refresh_token.split('.')[0], 'base64url').toString()).alg
    }

    expect(sealed).toEqual({client: 'ECDH-ES+A256KW', issuer: 'A256KW'})
  })

  it('refuses an existing client with 403 CLIENT_EXISTS and a bad name with 400', async () => {
    expect((await post('/register/web', {}, ADMIN)).json()).toMatchObject({error: {code: 'CLIENT_EXISTS'}})
    expect((await post('/register/web', {}, ADMIN)).statusCode).toBe(403)
    expect((await post('/register/bad%20name', {}, ADMIN)).statusCode).toBe(400)
  })
})

describe('GET /keys/{kid} and the JWKS', () => {
  it('serves the public keys of a client', async () => {
    const res = await app.inject('/keys/web')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({refresh_strategy: 'refreshBoth', sig: {use: 'sig'}, valid: true})
    expect(res.json().jwks.keys).toHaveLength(2)
    expect((await app.inject('/keys/nobody')).statusCode).toBe(404)
  })

  it('serves every public key with Cache-Control and an ETag', async () => {
    const res = await app.inject('/.well-known/jwks.json')
    expect(res.headers['cache-control']).toMatch(/max-age=\d+/)
    expect(res.json().keys.length).toBeGreaterThanOrEqual(4)
    expect(res.body).not.toMatch(/"d":/)
    const again = await app.inject({
      headers: {'if-none-match': String(res.headers.etag)},
      url: '/.well-known/jwks.json',
    })
    expect(again.statusCode).toBe(304)
  })
})

describe('issue, renew, revoke', () => {
  it('issues with claims and JWTIS durations, renews, detects reuse, revokes', async () => {
    const issued = await post(
      '/issue_token',
      {
        auth_token_valid_time: '90s',
        claims: {role: 'r', sub: 'u1'},
        kid: 'web',
        resresh_token_valid_time: 7_200_000_000_000,
      },
      token,
    )
    expect(issued.statusCode).toBe(201)
    const body = issued.json()
    expect(body).toMatchObject({expires_in: 90, token_type: 'Bearer'})
    expect(Object.keys(body)).toEqual(expect.arrayContaining(['id', 'access_token', 'refresh_token', 'expiry']))
    const renewed = await post('/renew_token', {kid: 'web', refresh_token: body.refresh_token}, token)
    expect(renewed.statusCode).toBe(201)
    const again = await post('/renew_token', {kid: 'web', refresh_token: body.refresh_token}, token)
    expect([again.statusCode, again.json().error.code]).toEqual([403, 'REFRESH_REUSED'])
    const fresh = (await post('/issue_token', {kid: 'web'}, token)).json()
    expect((await post('/revoke_token', {kid: 'web', refresh_token: fresh.refresh_token}, token)).statusCode).toBe(204)
    const revoked = await post('/renew_token', {kid: 'web', refresh_token: fresh.refresh_token}, token)
    expect([revoked.statusCode, revoked.json().error.code]).toEqual([403, 'TOKEN_REVOKED'])
  })

  it('authenticates from the Authorization header alone, and sends expiry as a NumericDate', async () => {
    const res = await post('/issue_token', {kid: 'web'}, token)
    expect(res.statusCode).toBe(201)
    expect(res.json().expiry).toBe(Math.floor(clock() / 1000) + 300)
    // a client_token in the body is not a credential: the body is read only after authentication
    const inBody = await post('/issue_token', {client_token: token, kid: 'web'})
    expect(inBody.statusCode).toBe(401)
    expect(inBody.json().error.message).toContain('Authorization: Bearer')
  })

  it('answers 409 for an expired refresh token', async () => {
    const t = (await post('/issue_token', {kid: 'web'}, token)).json().refresh_token
    clock.advance(2 * 3_600_000)
    const res = await post('/renew_token', {kid: 'web', refresh_token: t}, token)
    expect([res.statusCode, res.json().error.code]).toEqual([409, 'TOKEN_EXPIRED'])
  })

  it.each([
    ['/issue_token', {claims: {exp: 1}, kid: 'web'}, 'token', 422, 'BAD_CLAIMS'],
    ['/issue_token', {claims: 'x', kid: 'web'}, 'token', 400, 'USAGE'],
    ['/issue_token', {claims: {}}, 'token', 400, 'USAGE'],
    ['/issue_token', {extra: 1, kid: 'web'}, 'token', 400, 'USAGE'],
    ['/issue_token', {kid: 'web'}, undefined, 401, 'UNAUTHORIZED'],
    ['/issue_token', {kid: 'web'}, 'other', 403, 'FORBIDDEN'],
    ['/issue_token', {kid: 'nobody'}, 'token', 403, 'FORBIDDEN'],
    ['/renew_token', {kid: 'web', refresh_token: 'a.b.c.d.e'}, 'token', 403, 'MALFORMED_TOKEN'],
    ['/renew_token', {kid: 'web'}, 'token', 400, 'USAGE'],
    ['/renew_token', {kid: 'web', refresh_strategy: 'always', refresh_token: 'x'}, 'token', 400, 'USAGE'],
    ['/revoke_token', {kid: 'web', refresh_token: 'x'}, 'other', 403, 'FORBIDDEN'],
  ])('%s %j answers %s %s', async (url, payload, who, status, code) => {
    const bearer = who === 'token' ? token : who === 'other' ? otherToken : undefined
    const res = await post(url, payload, bearer)
    expect(res.statusCode).toBe(status)
    expect(res.json().error.code).toBe(code)
  })

  it('refuses bodies over the limit with 413, and non-JSON with 4xx', async () => {
    const res = await post('/issue_token', {claims: {pad: 'x'.repeat(70_000)}, kid: 'web'}, token)
    expect([res.statusCode, res.json().error.code]).toEqual([413, 'BODY_TOO_LARGE'])
    const raw = (contentType: string, payload: string) =>
      app.inject({
        headers: {authorization: `Bearer ${token}`, 'content-type': contentType},
        method: 'POST',
        payload,
        url: '/issue_token',
      })
    expect((await raw('text/plain', 'hi')).statusCode).toBe(415)
    const broken = await raw('application/json', '{')
    expect(broken.statusCode).toBe(400)
    expect(broken.body).not.toMatch(/at .*\.js/)
  })
})

describe('the rest', () => {
  it('ping, health, metrics, 404', async () => {
    expect((await app.inject('/ping')).body).toBe('pong')
    expect((await app.inject('/health')).json()).toMatchObject({status: 'ok'})
    const metrics = (await app.inject('/metrics')).body
    expect(metrics).toMatch(/jwtis_http_requests_total\{method="POST",route="\/issue_token",status="201"\} \d+/)
    expect(metrics).toMatch(/jwtis_refresh_reuse_detected_total \d+/)
    expect(metrics).toMatch(/jwtis_tokens_issued_total \d+/)
    expect(metrics).toMatch(/jwtis_http_request_duration_seconds_bucket\{route="\/issue_token",le="\+Inf"\} \d+/)
    const missing = await app.inject('/nope')
    expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'NOT_FOUND'])
  })

  it('discovery: /.well-known/openid-configuration names the issuer, the JWKS, introspection and the algorithms', async () => {
    const res = await app.inject('/.well-known/openid-configuration')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({
      id_token_signing_alg_values_supported: expect.arrayContaining(['ES256', 'EdDSA', 'RS256']),
      introspection_endpoint: 'https://issuer.test/introspect',
      issuer: 'https://issuer.test',
      jwks_uri: 'https://issuer.test/.well-known/jwks.json',
    })
  })

  it('a 400 for a body field names the field', async () => {
    const unknown = await post('/issue_token', {kid: 'web', lifetime: '1h'}, token)
    expect([unknown.statusCode, unknown.json().error.message]).toEqual([400, 'unknown field "lifetime" in the body'])
    const missing = await post('/issue_token', {claims: {}}, token)
    expect([missing.statusCode, missing.json().error.message]).toEqual([400, 'the body needs "kid"'])
  })

  it('rate-limits failed authentication per address (429 with Retry-After); a right token still passes', async () => {
    for (let i = 0; i < 10; i++) expect((await fromElsewhere(`guess${i}`)).statusCode).toBe(401)
    const limited = await fromElsewhere('guess')
    expect(limited.statusCode).toBe(429)
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    expect((await fromElsewhere(token)).statusCode).toBe(201)
    // other addresses are not affected
    expect((await post('/issue_token', {kid: 'web'}, 'guess')).statusCode).toBe(401)
  })
})
