/**
 * Issue 24, the OAuth 2.0 endpoints in process (fastify's inject, a real vault, the memory
 * store): client registration fields, the client authentications, the grants and their RFC 6749
 * §5.2 errors, revocation, and introspection with the standard client authentications. The same
 * over real HTTP with clients that are not ours: test/e2e/oauth-interop.test.ts.
 */
import type {FastifyInstance} from 'fastify'
import type {AddressInfo} from 'node:net'

import {exportJWK, generateKeyPair, SignJWT} from 'jose'
import {randomUUID} from 'node:crypto'
import {createServer} from 'node:http'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Issuer} from '../../src/core/issuer.js'
import {buildServer} from '../../src/server/app.js'
import {MemoryStore} from '../../src/store/memory.js'
import {manualClock, tempVault} from '../helpers/vault.js'

const ADMIN = 'admin-secret-for-tests'
const ISS = 'https://issuer.test'
const TOKEN_URL = `${ISS}/token`
let app: FastifyInstance
let clock: ReturnType<typeof manualClock>
let secret: string // client "svc"'s token
let otherSecret: string
let privateKey: CryptoKey

const basic = (id: string, pass: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(pass)}`).toString('base64')}`

const form = (url: string, params: Record<string, string | string[]>, headers: Record<string, string> = {}) => {
  const body = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) body.append(k, one)
  return app.inject({
    headers: {'content-type': 'application/x-www-form-urlencoded', ...headers},
    method: 'POST',
    payload: body.toString(),
    remoteAddress: headers['x-test-ip'] ?? '127.0.0.1',
    url,
  })
}

const assertion = async (claims: Record<string, unknown>, key: CryptoKey = privateKey) =>
  new SignJWT({jti: randomUUID(), ...claims})
    .setProtectedHeader({alg: 'ES256'})
    .setIssuedAt(clock() / 1000)
    .setExpirationTime(clock() / 1000 + 60)
    .sign(key)

const decode = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<string, any>

beforeAll(async () => {
  const {vault} = await tempVault(ISS)
  clock = manualClock(Date.now())
  const issuer = new Issuer(vault, async () => new MemoryStore(), clock)
  ;({app} = await buildServer({adminToken: ADMIN, issuer, maxAuthFailures: 5}))
  await app.ready()
  const pair = await generateKeyPair('ES256', {extractable: true})
  privateKey = pair.privateKey as CryptoKey
  const register = async (kid: string, body: Record<string, unknown>) => {
    const res = await app.inject({
      headers: {authorization: `Bearer ${ADMIN}`},
      method: 'POST',
      payload: body,
      url: `/register/${kid}`,
    })
    expect(res.statusCode, res.body).toBe(201)
    return res.json().client_token as string
  }

  secret = await register('svc', {
    aud: ['https://api.test', 'https://other.test'],
    jwks: {keys: [await exportJWK(pair.publicKey)]},
    refresh_strategy: 'refreshBoth',
    scope: 'read write',
  })
  otherSecret = await register('other', {})
})
afterAll(async () => app?.close())

describe('client registration: scope, redirect_uris, jwks', () => {
  it('refuses private keys, fragments and plain-http jwks_uri off loopback, with 400 and the vault unchanged', async () => {
    const {privateKey: priv} = await generateKeyPair('ES256', {extractable: true})
    const bad = [
      {jwks: {keys: [await exportJWK(priv)]}},
      {redirect_uris: ['https://app.test/cb#frag']},
      {jwks_uri: 'http://keys.example.com/jwks.json'},
      {scope: 'read "quoted"'},
    ]
    for (const body of bad) {
      const res = await app.inject({
        headers: {authorization: `Bearer ${ADMIN}`},
        method: 'POST',
        payload: body,
        url: '/register/bad',
      })
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
    }

    const keys = await app.inject('/keys/bad')
    expect(keys.statusCode).toBe(404)
  })
})

describe('POST /issue_token and the scopes the token endpoint grants', () => {
  it('a client registered with scopes cannot give itself others as a claim (422), and introspection shows none', async () => {
    const issue = (scope: string) =>
      app.inject({
        headers: {authorization: `Bearer ${secret}`},
        method: 'POST',
        payload: {claims: {scope}, kid: 'svc'},
        url: '/issue_token',
      })
    const refused = await issue('read admin')
    expect([refused.statusCode, refused.json().error.code]).toEqual([422, 'SCOPE_NOT_ALLOWED'])
    const granted = await issue('read')
    expect(granted.statusCode).toBe(201)
    const seen = await form('/introspect', {token: granted.json().access_token}, {authorization: basic('svc', secret)})
    expect([seen.json().active, seen.json().scope]).toEqual([true, 'read'])
  })
})

describe('POST /introspect: refresh tokens (RFC 7662 §2.1)', () => {
  it('a refresh token is active while it would renew, only to its own client, and asking spends nothing', async () => {
    const json = (url: string, payload: object) =>
      app.inject({headers: {authorization: `Bearer ${secret}`}, method: 'POST', payload, url})
    const issued = await json('/issue_token', {claims: {scope: 'read', sub: 'rt-user'}, kid: 'svc'})
    const first = issued.json().refresh_token as string
    const own = {authorization: basic('svc', secret)}
    const ask = async (token: string, headers: Record<string, string> = own, hint?: string) =>
      (await form('/introspect', {token, ...(hint ? {token_type_hint: hint} : {})}, headers)).json()

    const seen = await ask(first)
    expect(seen).toMatchObject({
      active: true,
      client_id: 'svc',
      scope: 'read',
      sub: 'rt-user',
      token_type: 'refresh_token',
    })
    expect(typeof seen.exp).toBe('number')
    for (const hidden of ['fam', 'sexp', 'cl', 'fps']) expect(seen).not.toHaveProperty(hidden)
    expect(await ask(first, own, 'refresh_token')).toMatchObject({active: true})
    expect(await ask(first, {authorization: basic('other', otherSecret)})).toEqual({active: false})
    expect(await ask(first, {authorization: `Bearer ${ADMIN}`})).toMatchObject({active: true, client_id: 'svc'})

    // refreshBoth: once renewed, the first is spent (inactive) and asking about it revoked nothing
    const renewed = await json('/renew_token', {kid: 'svc', refresh_token: first})
    expect(renewed.statusCode).toBe(201)
    const second = renewed.json().refresh_token as string
    expect(await ask(first)).toEqual({active: false})
    expect(await ask(second)).toMatchObject({active: true})
    expect((await json('/revoke_token', {kid: 'svc', refresh_token: second})).statusCode).toBe(204)
    expect(await ask(second)).toEqual({active: false})
  })
})

describe('POST /token: client_credentials and the client authentications', () => {
  it('client_secret_basic: a token for the client itself, with client_id, scope and an audience it asked for', async () => {
    const res = await form(
      TOKEN_URL.slice(ISS.length),
      {grant_type: 'client_credentials', resource: 'https://api.test', scope: 'read'},
      {authorization: basic('svc', secret)},
    )
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers.pragma).toBe('no-cache')
    const body = res.json()
    expect(body).toMatchObject({expires_in: expect.any(Number), scope: 'read', token_type: 'Bearer'})
    expect(body.refresh_token).toBeUndefined()
    expect(decode(body.access_token)).toMatchObject({
      aud: 'https://api.test',
      client_id: 'svc',
      iss: ISS,
      scope: 'read',
      sub: 'svc',
    })
    expect(JSON.parse(Buffer.from(body.access_token.split('.')[0], 'base64url').toString()).typ).toBe('at+jwt')
  })

  it('client_secret_post; without scope or resource: every registered scope and audience', async () => {
    const res = await form('/token', {client_id: 'svc', client_secret: secret, grant_type: 'client_credentials'})
    expect(res.statusCode, res.body).toBe(200)
    expect(decode(res.json().access_token)).toMatchObject({
      aud: ['https://api.test', 'https://other.test'],
      scope: 'read write',
    })
  })

  it('private_key_jwt with aud = the issuer or the token endpoint; its jti is single use', async () => {
    for (const aud of [ISS, TOKEN_URL]) {
      const jwt = await assertion({aud, iss: 'svc', sub: 'svc'})
      const params = {
        client_assertion: jwt,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        grant_type: 'client_credentials',
      }
      expect((await form('/token', params)).statusCode).toBe(200)
      const replay = await form('/token', params)
      expect([replay.statusCode, replay.json().error]).toEqual([401, 'invalid_client'])
      expect(replay.json().error_description).toMatch(/already used/)
    }
  })

  it("refuses a wrong secret, another client's secret, a wrong assertion aud: 401 invalid_client with WWW-Authenticate", async () => {
    const wrongAud = await assertion({aud: 'https://elsewhere.test', iss: 'svc', sub: 'svc'})
    const attempts = [
      form(
        '/token',
        {grant_type: 'client_credentials'},
        {authorization: basic('svc', 'wrong'), 'x-test-ip': '10.0.0.1'},
      ),
      form(
        '/token',
        {client_id: 'svc', client_secret: otherSecret, grant_type: 'client_credentials'},
        {'x-test-ip': '10.0.0.1'},
      ),
      form(
        '/token',
        {
          client_assertion: wrongAud,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          grant_type: 'client_credentials',
        },
        {'x-test-ip': '10.0.0.1'},
      ),
      form('/token', {grant_type: 'client_credentials'}, {'x-test-ip': '10.0.0.1'}),
    ]
    for (const res of await Promise.all(attempts)) {
      expect([res.statusCode, res.json().error]).toEqual([401, 'invalid_client'])
      expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/)
    }
  })

  it('counts failures in the limiter (429 past it) but never refuses the right secret', async () => {
    const ip = {'x-test-ip': '10.0.0.2'}
    for (let i = 0; i < 5; i++)
      await form('/token', {grant_type: 'client_credentials'}, {authorization: basic('svc', `guess${i}`), ...ip})
    const limited = await form(
      '/token',
      {grant_type: 'client_credentials'},
      {authorization: basic('svc', 'guess'), ...ip},
    )
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['retry-after']).toBeDefined()
    const right = await form('/token', {grant_type: 'client_credentials'}, {authorization: basic('svc', secret), ...ip})
    expect(right.statusCode).toBe(200)
  })

  it('answers RFC 6749 §5.2 errors: unsupported grant, unregistered scope or resource, repeated parameter, JSON body', async () => {
    const auth = {authorization: basic('svc', secret)}
    const cases: Array<[Record<string, string | string[]>, number, string]> = [
      [{grant_type: 'password'}, 400, 'unsupported_grant_type'],
      [{grant_type: 'client_credentials', scope: 'admin'}, 400, 'invalid_scope'],
      [{grant_type: 'client_credentials', scope: 'openid'}, 400, 'invalid_scope'],
      [{grant_type: 'client_credentials', resource: 'https://evil.test'}, 400, 'invalid_target'],
      [{audience: 'svc', grant_type: 'client_credentials'}, 400, 'invalid_target'],
      [{grant_type: 'client_credentials', scope: ['read', 'write']}, 400, 'invalid_request'],
      [{}, 400, 'invalid_request'],
    ]
    for (const [params, status, error] of cases) {
      const res = await form('/token', params, auth)
      expect([res.statusCode, res.json().error], JSON.stringify(params)).toEqual([status, error])
      expect(typeof res.json().error_description).toBe('string')
    }

    const json = await app.inject({
      headers: auth,
      method: 'POST',
      payload: {grant_type: 'client_credentials'},
      url: '/token',
    })
    // RFC 6749 §5.2: invalid_request is 400 even where the fault is the media type
    expect([json.statusCode, json.json().error]).toEqual([400, 'invalid_request'])
    const huge = await form('/token', {grant_type: 'client_credentials', scope: 'r'.repeat(70_000)}, auth)
    expect([huge.statusCode, huge.json().error, huge.headers['cache-control']]).toEqual([
      413,
      'invalid_request',
      'no-store',
    ])
  })

  it('a client whose jwks_uri serves no usable JWK Set fails private_key_jwt as invalid_client (401)', async () => {
    const keys = createServer((_request, response) => response.end('{"keys": []}'))
    await new Promise<void>((resolve) => {
      keys.listen(0, '127.0.0.1', resolve)
    })
    try {
      const {port} = keys.address() as AddressInfo
      const res = await app.inject({
        headers: {authorization: `Bearer ${ADMIN}`},
        method: 'POST',
        payload: {jwks_uri: `http://127.0.0.1:${port}/jwks.json`},
        url: '/register/emptykeys',
      })
      expect(res.statusCode, res.body).toBe(201)
      const token = await form('/token', {
        client_assertion: await assertion({aud: ISS, iss: 'emptykeys', sub: 'emptykeys'}),
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        grant_type: 'client_credentials',
      })
      expect([token.statusCode, token.json().error], token.body).toEqual([401, 'invalid_client'])
      expect(token.headers['www-authenticate']).toMatch(/^Basic /)
    } finally {
      keys.close()
    }
  })
})

const bearerGrant = async (claims: Record<string, unknown>) =>
  form(
    '/token',
    {assertion: await assertion(claims), grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', scope: 'read'},
    {authorization: basic('svc', secret)},
  )

/** A jwt-bearer grant whose assertion expires `seconds` after it was issued. */
const lasting = async (seconds: number) => {
  const now = Math.floor(clock() / 1000)
  const jwt = await new SignJWT({aud: ISS, iss: 'svc', jti: randomUUID(), sub: 'alice'})
    .setProtectedHeader({alg: 'ES256'})
    .setIssuedAt(now)
    .setExpirationTime(now + seconds)
    .sign(privateKey)
  return form(
    '/token',
    {assertion: jwt, grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer'},
    {authorization: basic('svc', secret)},
  )
}

describe('POST /token: refresh_token and jwt-bearer', () => {
  it('jwt-bearer: the asserted subject, a refresh token for a refreshBoth client; replay and wrong aud are invalid_grant', async () => {
    const jwt = await assertion({aud: TOKEN_URL, iss: 'svc', sub: 'alice@example.com'})
    const params = {assertion: jwt, grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', scope: 'read'}
    const res = await form('/token', params, {authorization: basic('svc', secret)})
    expect(res.statusCode, res.body).toBe(200)
    expect(decode(res.json().access_token)).toMatchObject({client_id: 'svc', scope: 'read', sub: 'alice@example.com'})
    expect(res.json().refresh_token).toEqual(expect.any(String))
    const replay = await form('/token', params, {authorization: basic('svc', secret)})
    expect([replay.statusCode, replay.json().error]).toEqual([400, 'invalid_grant'])
    const wrongAud = await bearerGrant({aud: 'https://elsewhere.test', iss: 'svc', sub: 'alice'})
    expect([wrongAud.statusCode, wrongAud.json().error]).toEqual([400, 'invalid_grant'])
    const {privateKey: stranger} = await generateKeyPair('ES256')
    const forged = await form(
      '/token',
      {
        assertion: await assertion({aud: ISS, iss: 'svc', sub: 'alice'}, stranger as CryptoKey),
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      },
      {authorization: basic('svc', secret)},
    )
    expect([forged.statusCode, forged.json().error]).toEqual([400, 'invalid_grant'])
  })

  it("an assertion's lifetime cap (1 hour) allows the clock leeway: authlib's exp = now + 3600 from a clock ahead", async () => {
    expect((await lasting(3600 + 10)).statusCode).toBe(200)
    const long = await lasting(3600 + 40)
    expect([long.statusCode, long.json().error]).toEqual([400, 'invalid_grant'])
  })

  it("jwt-bearer without client authentication (RFC 7523 §3.1): the client is the assertion's verified iss", async () => {
    const grant = async (claims: Record<string, unknown>, key?: CryptoKey, headers: Record<string, string> = {}) =>
      form(
        '/token',
        {assertion: await assertion(claims, key), grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer'},
        headers,
      )
    const res = await grant({aud: TOKEN_URL, iss: 'svc', sub: 'dave'})
    expect(res.statusCode, res.body).toBe(200)
    expect(decode(res.json().access_token)).toMatchObject({client_id: 'svc', sub: 'dave'})
    const {privateKey: stranger} = await generateKeyPair('ES256')
    const forged = await grant({aud: ISS, iss: 'svc', sub: 'dave'}, stranger as CryptoKey)
    expect([forged.statusCode, forged.json().error]).toEqual([400, 'invalid_grant'])
    const keyless = await grant({aud: ISS, iss: 'other', sub: 'dave'})
    expect([keyless.statusCode, keyless.json().error]).toEqual([400, 'unauthorized_client'])
    const mismatch = await grant({aud: ISS, iss: 'svc', sub: 'dave'}, undefined, {
      authorization: basic('other', otherSecret),
    })
    expect([mismatch.statusCode, mismatch.json().error]).toEqual([400, 'invalid_grant'])
    const publicMismatch = await form('/token', {
      assertion: await assertion({aud: ISS, iss: 'svc', sub: 'dave'}),
      client_id: 'other',
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    })
    expect([publicMismatch.statusCode, publicMismatch.json().error]).toEqual([400, 'invalid_grant'])
  })

  it('jwt-bearer by a client without registered keys: unauthorized_client', async () => {
    const res = await form(
      '/token',
      {
        assertion: await assertion({aud: ISS, iss: 'other', sub: 'x'}),
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      },
      {authorization: basic('other', otherSecret)},
    )
    expect([res.statusCode, res.json().error]).toEqual([400, 'unauthorized_client'])
  })

  it('refresh_token rotates; a spent token is invalid_grant and revokes the family; another client gets invalid_grant', async () => {
    const first = (await bearerGrant({aud: ISS, iss: 'svc', sub: 'bob'})).json()
    const auth = {authorization: basic('svc', secret)}
    const renewed = await form('/token', {grant_type: 'refresh_token', refresh_token: first.refresh_token}, auth)
    expect(renewed.statusCode, renewed.body).toBe(200)
    expect(renewed.json()).toMatchObject({scope: 'read', token_type: 'Bearer'})
    expect(decode(renewed.json().access_token)).toMatchObject({scope: 'read', sub: 'bob'})
    const next = renewed.json().refresh_token as string
    expect(next).not.toBe(first.refresh_token)

    const wider = await form('/token', {grant_type: 'refresh_token', refresh_token: next, scope: 'write'}, auth)
    expect([wider.statusCode, wider.json().error]).toEqual([400, 'invalid_scope'])
    const stranger = await form(
      '/token',
      {grant_type: 'refresh_token', refresh_token: next},
      {authorization: basic('other', otherSecret)},
    )
    expect([stranger.statusCode, stranger.json().error]).toEqual([400, 'invalid_grant'])

    const reused = await form('/token', {grant_type: 'refresh_token', refresh_token: first.refresh_token}, auth)
    expect([reused.statusCode, reused.json().error]).toEqual([400, 'invalid_grant'])
    const after = await form('/token', {grant_type: 'refresh_token', refresh_token: next}, auth)
    expect([after.statusCode, after.json().error]).toEqual([400, 'invalid_grant'])
  })
})

describe('POST /revoke (RFC 7009) and POST /introspect with the standard client authentications', () => {
  it("revokes a refresh token's family and an access token; unknown tokens are 200 too; a bad client is 401", async () => {
    const auth = {authorization: basic('svc', secret)}
    const jwt = await assertion({aud: ISS, iss: 'svc', sub: 'carol'})
    const tokens = (
      await form('/token', {assertion: jwt, grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer'}, auth)
    ).json()
    const revoked = await form('/revoke', {token: tokens.refresh_token, token_type_hint: 'access_token'}, auth)
    expect(revoked.statusCode, revoked.body).toBe(200)
    const renew = await form('/token', {grant_type: 'refresh_token', refresh_token: tokens.refresh_token}, auth)
    expect([renew.statusCode, renew.json().error]).toEqual([400, 'invalid_grant'])
    expect((await form('/revoke', {token: 'not-a-token'}, auth)).statusCode).toBe(200)
    const bad = await form(
      '/revoke',
      {token: tokens.refresh_token},
      {authorization: basic('svc', 'nope'), 'x-test-ip': '10.0.0.3'},
    )
    expect([bad.statusCode, bad.json().error]).toEqual([401, 'invalid_client'])
    expect((await form('/introspect', {token: tokens.access_token}, auth)).json().active).toBe(true)
    const access = await form('/revoke', {token: tokens.access_token}, auth)
    expect(access.statusCode, access.body).toBe(200)
    expect((await form('/introspect', {token: tokens.access_token}, auth)).json()).toEqual({active: false})
    // another client cannot revoke it and is told so (§2.1: the token must have been issued to the client asking)
    const own = (await form('/token', {grant_type: 'client_credentials'}, auth)).json().access_token
    const other = {authorization: basic('other', otherSecret)}
    const refused = await form('/revoke', {token: own}, other)
    expect([refused.statusCode, refused.json().error]).toEqual([400, 'invalid_request'])
    expect((await form('/introspect', {token: own}, auth)).json().active).toBe(true)
    const issued = await app.inject({
      headers: {authorization: `Bearer ${secret}`},
      method: 'POST',
      payload: {claims: {}, kid: 'svc'},
      url: '/issue_token',
    })
    const refresh = issued.json().refresh_token as string
    expect((await form('/revoke', {token: refresh}, other)).json().error).toBe('invalid_request')
    expect((await form('/introspect', {token: refresh}, auth)).json().active).toBe(true)
  })

  it("private_key_jwt on /revoke and /introspect accepts that endpoint's own URL as aud, /token does not", async () => {
    const auth = async (endpoint: string) => ({
      client_assertion: await assertion({aud: `${ISS}${endpoint}`, iss: 'svc', sub: 'svc'}),
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    })
    const {access_token: token, refresh_token: refresh} = (
      await bearerGrant({aud: ISS, iss: 'svc', sub: 'erin'})
    ).json()
    const introspected = await form('/introspect', {token, ...(await auth('/introspect'))})
    expect(introspected.statusCode, introspected.body).toBe(200)
    expect(introspected.json()).toMatchObject({active: true, sub: 'erin'})
    const revoked = await form('/revoke', {token: refresh, ...(await auth('/revoke'))})
    expect(revoked.statusCode, revoked.body).toBe(200)
    const elsewhere = await form(
      '/token',
      {grant_type: 'client_credentials', ...(await auth('/revoke'))},
      {'x-test-ip': '10.0.0.6'},
    )
    expect([elsewhere.statusCode, elsewhere.json().error]).toEqual([401, 'invalid_client'])
  })

  it('introspection takes client_secret_basic, client_secret_post and private_key_jwt, and still the bearer client token', async () => {
    const token = (
      await form('/token', {grant_type: 'client_credentials'}, {authorization: basic('svc', secret)})
    ).json().access_token
    const ways: Array<[Record<string, string>, Record<string, string>]> = [
      [{authorization: basic('svc', secret)}, {}],
      [{}, {client_id: 'svc', client_secret: secret}],
      [
        {},
        {
          client_assertion: await assertion({aud: ISS, iss: 'svc', sub: 'svc'}),
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        },
      ],
      [{authorization: `Bearer ${secret}`}, {}],
    ]
    for (const [headers, params] of ways) {
      const res = await form('/introspect', {token, ...params}, headers)
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toMatchObject({active: true, client_id: 'svc', scope: 'read write', sub: 'svc'})
    }

    const other = await form('/introspect', {token}, {authorization: basic('other', otherSecret)})
    expect(other.json()).toEqual({active: false})
    const wrong = await form('/introspect', {token}, {authorization: basic('svc', 'nope'), 'x-test-ip': '10.0.0.4'})
    // RFC 7662 §2.3 → RFC 6749 §5.2: the standard methods' failures in the token endpoint's shape
    expect([wrong.statusCode, wrong.json().error]).toEqual([401, 'invalid_client'])
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic /)
    const twice = await form(
      '/introspect',
      {client_id: 'svc', client_secret: secret, token},
      {
        authorization: basic('svc', secret),
      },
    )
    expect([twice.statusCode, twice.json().error]).toEqual([400, 'invalid_request'])
    // the bearer client token keeps the API's own error shape
    const bearer = await form('/introspect', {token}, {authorization: 'Bearer nope', 'x-test-ip': '10.0.0.5'})
    expect([bearer.statusCode, bearer.json().error.code]).toEqual([401, 'UNAUTHORIZED'])
  })
})

describe('metadata (RFC 8414) and OpenID Discovery', () => {
  it('names the issuer exactly and every endpoint, method and algorithm, under the issuer', async () => {
    const as = await app.inject('/.well-known/oauth-authorization-server')
    expect(as.statusCode).toBe(200)
    expect(as.headers['cache-control']).toBe('public, max-age=300')
    const doc = as.json()
    expect(doc).toMatchObject({
      grant_types_supported: expect.arrayContaining([
        'client_credentials',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
      ]),
      introspection_endpoint: `${ISS}/introspect`,
      introspection_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
        'bearer',
      ],
      issuer: ISS,
      jwks_uri: `${ISS}/.well-known/jwks.json`,
      response_types_supported: [],
      revocation_endpoint: `${ISS}/revoke`,
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      scopes_supported: ['read', 'write'],
      token_endpoint: TOKEN_URL,
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    })
    expect(doc.token_endpoint_auth_signing_alg_values_supported).toContain('ES256')
    expect(doc.token_endpoint_auth_signing_alg_values_supported).not.toContain('HS256')
    expect(doc.code_challenge_methods_supported).toBeUndefined()
    const oidc = (await app.inject('/.well-known/openid-configuration')).json()
    expect(oidc).toMatchObject({...doc, id_token_signing_alg_values_supported: expect.arrayContaining(['ES256'])})
  })
})
