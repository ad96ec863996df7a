/**
 * `serve --dev-login` over real HTTP on loopback: /authorize (what is an error page and what is
 * redirected), the login form, the authorization_code grant (PKCE, single use, bindings, expiry),
 * the ID token and /userinfo. A manual clock makes the code expire without waiting.
 */
import type {FastifyInstance} from 'fastify'
import type {AddressInfo} from 'node:net'

import {createLocalJWKSet, jwtVerify} from 'jose'
import {createHash, randomBytes} from 'node:crypto'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Issuer} from '../../src/core/issuer.js'
import {buildServer} from '../../src/server/app.js'
import {MemoryStore} from '../../src/store/memory.js'
import {manualClock, tempVault} from '../helpers/vault.js'

const ADMIN = 'admin-token-for-the-dev-login-tests-0123456789'
const ISS = 'https://issuer.test'
const CALLBACK = 'http://127.0.0.1:8765/callback'
const OTHER_CALLBACK = 'http://localhost:8765/other?keep=1'
let app: FastifyInstance
let plain: FastifyInstance
let base: string
let plainBase: string
let clock: ReturnType<typeof manualClock>
const secrets: Record<string, string> = {}

async function listen(devLogin: boolean, issuer: Issuer): Promise<[FastifyInstance, string]> {
  const {app: server} = await buildServer({adminToken: ADMIN, devLogin, issuer})
  await server.listen({host: '127.0.0.1', port: 0})
  return [server, `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`]
}

const register = async (name: string, body: object) => {
  const res = await fetch(`${base}/register/${name}`, {
    body: JSON.stringify(body),
    headers: {authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json'},
    method: 'POST',
  })
  expect(res.status, await res.clone().text()).toBe(201)
  secrets[name] = (await res.json()).client_token
}

beforeAll(async () => {
  const {vault} = await tempVault(ISS)
  clock = manualClock(Date.now())
  const issuer = new Issuer(vault, async () => new MemoryStore(), clock)
  ;[app, base] = await listen(true, issuer)
  ;[plain, plainBase] = await listen(false, issuer)
  await register('web', {
    aud: ['https://api.test', 'https://other.test'],
    redirect_uris: [CALLBACK],
    refresh_strategy: 'refreshBoth',
    scope: 'read',
  })
  await register('two', {redirect_uris: [CALLBACK, OTHER_CALLBACK]})
  await register('bare', {})
  await register('hmac', {redirect_uris: [CALLBACK], scope: 'read', sig_alg: 'HS256'})
})
afterAll(async () => {
  await app?.close()
  await plain?.close()
})

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url')

function pkce() {
  const verifier = randomBytes(32).toString('base64url')
  return {challenge: s256(verifier), verifier}
}

const authorize = (params: Record<string, string>, at = base) =>
  fetch(`${at}/authorize?${new URLSearchParams(params)}`, {redirect: 'manual'})

const request = (challenge: string, extra: Record<string, string> = {}) => ({
  client_id: 'web',
  code_challenge: challenge,
  code_challenge_method: 'S256',
  nonce: 'n-0S6_WzA2Mj',
  redirect_uri: CALLBACK,
  response_type: 'code',
  scope: 'openid read',
  state: 'af0ifjsldkj',
  ...extra,
})

const sealedOf = (html: string) => /name="request" value="([^"]+)"/.exec(html)![1]

const postLogin = (form: Record<string, string>) =>
  fetch(`${base}/authorize`, {body: new URLSearchParams(form), method: 'POST', redirect: 'manual'})

/** The login page for `params`, signed in as `subject`: the redirect's URL. */
async function signIn(params: Record<string, string>, subject = 'alice', claims = ''): Promise<URL> {
  const page = await authorize(params)
  expect(page.status).toBe(200)
  const res = await postLogin({action: 'sign-in', claims, request: sealedOf(await page.text()), subject})
  expect(res.status).toBe(303)
  return new URL(res.headers.get('location')!)
}

const token = async (form: Record<string, string>, client = 'web') => {
  const res = await fetch(`${base}/token`, {
    body: new URLSearchParams({grant_type: 'authorization_code', ...form}),
    headers: {authorization: `Basic ${Buffer.from(`${client}:${secrets[client]}`).toString('base64')}`},
    method: 'POST',
  })
  return {body: await res.json(), status: res.status}
}

/** A code for `web` with its verifier. */
async function code(extra: Record<string, string> = {}, claims = '') {
  const {challenge, verifier} = pkce()
  const back = await signIn(request(challenge, extra), 'alice', claims)
  return {code: back.searchParams.get('code')!, verifier}
}

/** GET /authorize as a browser that reached this server under `host` would ask. */
const authorizeAt = (host: string) =>
  app.inject({headers: {host}, url: `/authorize?${new URLSearchParams(request(pkce().challenge))}`})

describe('GET /authorize', () => {
  it.each([
    ['no client_id', {client_id: ''}, 'no client_id'],
    ['an unknown client', {client_id: 'nobody'}, 'no client "nobody"'],
    ['an unregistered redirect URI', {redirect_uri: 'http://127.0.0.1:8765/evil'}, 'redirect_uri is not one'],
    [
      'a redirect URI that only starts like a registered one',
      {redirect_uri: `${CALLBACK}/more`},
      'redirect_uri is not one',
    ],
    ['a client without redirect URIs', {client_id: 'bare'}, 'no registered redirect URI'],
    ['no redirect_uri when several are registered', {client_id: 'two', redirect_uri: ''}, 'several redirect URIs'],
  ])('%s is an error page, never a redirect', async (_name, extra, message) => {
    const res = await authorize(request(pkce().challenge, extra))
    expect(res.status).toBe(400)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await res.text()).toContain(message.replaceAll('"', '&#34;'))
  })

  it.each([
    ['response_type=token', {response_type: 'token'}, 'unsupported_response_type'],
    ['no response_type', {response_type: ''}, 'invalid_request'],
    ['no code_challenge', {code_challenge: ''}, 'invalid_request'],
    ['code_challenge_method=plain', {code_challenge_method: 'plain'}, 'invalid_request'],
    ['no code_challenge_method', {code_challenge_method: ''}, 'invalid_request'],
    ['a challenge that is no S256 hash', {code_challenge: 'short'}, 'invalid_request'],
    ['an unregistered scope', {scope: 'openid write'}, 'invalid_scope'],
    ['openid for an HMAC client (no RP could verify its ID token)', {client_id: 'hmac'}, 'invalid_scope'],
    ['prompt=none', {prompt: 'none'}, 'login_required'],
  ])('%s is redirected to the client with error, state and iss', async (_name, extra, error) => {
    const res = await authorize(request(pkce().challenge, extra))
    expect(res.status).toBe(302)
    const to = new URL(res.headers.get('location')!)
    expect(`${to.origin}${to.pathname}`).toBe(CALLBACK)
    expect(to.searchParams.get('error')).toBe(error)
    expect(to.searchParams.get('error_description')).toBeTruthy()
    expect(to.searchParams.get('state')).toBe('af0ifjsldkj')
    expect(to.searchParams.get('iss')).toBe(ISS)
  })

  it('a repeated parameter is refused (RFC 6749 §3.1)', async () => {
    const res = await fetch(`${base}/authorize?${new URLSearchParams(request(pkce().challenge))}&scope=openid`, {
      redirect: 'manual',
    })
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('invalid_request')
  })

  it('shows the login page: Subject from login_hint, Sign in, the warning; no-store, no framing, no outside resource', async () => {
    const res = await authorize(request(pkce().challenge, {login_hint: 'bob@example.com'}))
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const csp = res.headers.get('content-security-policy')!
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("form-action 'self' http://127.0.0.1:8765")
    const html = await res.text()
    expect(html).toMatch(/<label for="subject">Subject<\/label>/)
    expect(html).toMatch(/<input type="text" id="subject" name="subject" value="bob@example.com"/)
    expect(html).toMatch(/<button type="submit" name="action" value="sign-in">Sign in<\/button>/)
    expect(html).toContain('authenticates nobody')
    expect(html).not.toMatch(/(src|href)=|<script|<link/)
  })

  it('another Host (DNS rebinding) is refused; loopback names and the issuer’s own are served', async () => {
    expect((await authorizeAt('evil.example:8765')).statusCode).toBe(421)
    for (const host of ['127.0.0.1:8765', 'localhost', '[::1]:8765', 'issuer.test']) {
      expect((await authorizeAt(host)).statusCode, host).toBe(200)
    }
  })

  it('a client with one redirect URI may leave it out', async () => {
    const back = await signIn(request(pkce().challenge, {redirect_uri: ''}))
    expect(`${back.origin}${back.pathname}`).toBe(CALLBACK)
  })
})

describe('POST /authorize', () => {
  it('redirects with code, state and iss; keeps the redirect URI’s own query', async () => {
    const {challenge} = pkce()
    const back = await signIn(request(challenge, {client_id: 'two', redirect_uri: OTHER_CALLBACK, scope: ''}))
    expect(back.origin + back.pathname).toBe('http://localhost:8765/other')
    expect(back.searchParams.get('keep')).toBe('1')
    expect(back.searchParams.get('code')).toBeTruthy()
    expect(back.searchParams.get('state')).toBe('af0ifjsldkj')
    expect(back.searchParams.get('iss')).toBe(ISS)
  })

  it('a form whose sealed request was altered is an error page', async () => {
    const html = await (await authorize(request(pkce().challenge))).text()
    const sealed = sealedOf(html)
    const altered = `${sealed.slice(0, -3)}${sealed.endsWith('AAA') ? 'BBB' : 'AAA'}`
    const res = await postLogin({action: 'sign-in', request: altered, subject: 'alice'})
    expect(res.status).toBe(400)
    expect(res.headers.get('location')).toBeNull()
    expect(await res.text()).toContain('expired or was altered')
  })

  it('no subject, bad JSON or an issued claim shows the form again with the reason', async () => {
    const sealed = sealedOf(await (await authorize(request(pkce().challenge))).text())
    for (const [subject, claims, reason] of [
      ['  ', '', 'Type the subject'],
      ['alice', '{"email":', 'not valid JSON'],
      ['alice', '["a"]', 'JSON object'],
      ['alice', '{"nonce":"x","sub":"mallory"}', 'the issuer sets nonce, sub'],
    ]) {
      const res = await postLogin({action: 'sign-in', claims, request: sealed, subject})
      expect(res.status).toBe(400)
      const html = await res.text()
      expect(html).toContain(reason)
      expect(sealedOf(html)).toBe(sealed)
    }
  })

  it('Cancel sends access_denied back', async () => {
    const sealed = sealedOf(await (await authorize(request(pkce().challenge))).text())
    const res = await postLogin({action: 'cancel', request: sealed})
    const to = new URL(res.headers.get('location')!)
    expect(to.searchParams.get('error')).toBe('access_denied')
    expect(to.searchParams.get('state')).toBe('af0ifjsldkj')
  })
})

describe('the authorization_code grant', () => {
  it('answers access, refresh and ID tokens; the ID token carries nonce and a correct at_hash', async () => {
    const {code: c, verifier} = await code({}, '{"email":"alice@example.com"}')
    const res = await token({code: c, code_verifier: verifier, redirect_uri: CALLBACK})
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({scope: 'openid read', token_type: 'Bearer'})
    expect(res.body.refresh_token).toBeTruthy()
    const jwks = createLocalJWKSet(await (await fetch(`${base}/.well-known/jwks.json`)).json())
    const id = await jwtVerify(res.body.id_token, jwks, {audience: 'web', issuer: ISS, typ: 'JWT'})
    expect(id.payload).toMatchObject({email: 'alice@example.com', nonce: 'n-0S6_WzA2Mj', sub: 'alice'})
    expect(id.payload.auth_time).toBeTypeOf('number')
    const digest = createHash('sha256').update(res.body.access_token).digest()
    expect(id.payload.at_hash).toBe(digest.subarray(0, 16).toString('base64url'))
    const access = await jwtVerify(res.body.access_token, jwks, {issuer: ISS, typ: 'at+jwt'})
    expect(access.payload).toMatchObject({
      client_id: 'web',
      email: 'alice@example.com',
      scope: 'openid read',
      sub: 'alice',
    })
  })

  it('without openid there is no ID token', async () => {
    const {code: c, verifier} = await code({nonce: '', scope: 'read'})
    const res = await token({code: c, code_verifier: verifier, redirect_uri: CALLBACK})
    expect(res.status).toBe(200)
    expect(res.body.id_token).toBeUndefined()
  })

  it('a wrong or missing code_verifier is refused, and the code still works with the right one', async () => {
    const {code: c, verifier} = await code()
    expect(await token({code: c, code_verifier: pkce().verifier, redirect_uri: CALLBACK})).toMatchObject({
      body: {error: 'invalid_grant'},
      status: 400,
    })
    expect((await token({code: c, redirect_uri: CALLBACK})).body.error).toBe('invalid_request')
    expect((await token({code: c, code_verifier: verifier, redirect_uri: CALLBACK})).status).toBe(200)
  })

  it('a reused code is invalid_grant and revokes the tokens its first use issued (RFC 6749 §4.1.2)', async () => {
    const {code: c, verifier} = await code()
    const first = await token({code: c, code_verifier: verifier, redirect_uri: CALLBACK})
    expect(first.status).toBe(200)
    expect((await bearer(first.body.access_token)).status).toBe(200)
    const again = await token({code: c, code_verifier: verifier, redirect_uri: CALLBACK})
    expect(again).toMatchObject({body: {error: 'invalid_grant'}, status: 400})
    const renewed = await token({grant_type: 'refresh_token', refresh_token: first.body.refresh_token})
    expect(renewed).toMatchObject({body: {error: 'invalid_grant'}, status: 400})
    const revoked = await bearer(first.body.access_token)
    expect([revoked.status, (await revoked.json()).error]).toEqual([401, 'invalid_token'])
    // the next code's tokens are their own
    const {code: next, verifier: nextVerifier} = await code()
    const fresh = await token({code: next, code_verifier: nextVerifier, redirect_uri: CALLBACK})
    expect((await bearer(fresh.body.access_token)).status).toBe(200)
  })

  it('resource picks aud among the registered ones (RFC 8707); an unregistered one is invalid_target and spares the code', async () => {
    const {code: c, verifier} = await code()
    const exchange = {code: c, code_verifier: verifier, redirect_uri: CALLBACK}
    expect(await token({...exchange, resource: 'https://evil.test'})).toMatchObject({
      body: {error: 'invalid_target'},
      status: 400,
    })
    const res = await token({...exchange, resource: 'https://api.test'})
    expect(res.status).toBe(200)
    const {payload} = await jwtVerify(
      res.body.access_token,
      createLocalJWKSet(await (await fetch(`${base}/.well-known/jwks.json`)).json()),
    )
    expect(payload.aud).toBe('https://api.test')
  })

  it('a code is bound to its client and redirect URI', async () => {
    const {code: c, verifier} = await code()
    const other = await token({code: c, code_verifier: verifier, redirect_uri: CALLBACK}, 'two')
    expect(other).toMatchObject({body: {error: 'invalid_grant'}, status: 400})
    const elsewhere = await token({code: c, code_verifier: verifier, redirect_uri: OTHER_CALLBACK})
    expect(elsewhere.body.error).toBe('invalid_grant')
    // named in the request, so it must be named at the exchange (RFC 6749 §4.1.3)
    expect((await token({code: c, code_verifier: verifier})).body.error).toBe('invalid_grant')
    expect((await token({code: c, code_verifier: verifier, redirect_uri: CALLBACK})).status).toBe(200)
  })

  it('a code expires after 60 seconds; a garbled one is invalid', async () => {
    const {code: c, verifier} = await code()
    clock.advance(61_000)
    expect((await token({code: c, code_verifier: verifier, redirect_uri: CALLBACK})).body.error).toBe('invalid_grant')
    expect((await token({code: 'garbage', code_verifier: verifier, redirect_uri: CALLBACK})).body.error).toBe(
      'invalid_grant',
    )
  })
})

const bearer = (accessToken: string, method = 'GET') =>
  fetch(`${base}/userinfo`, {headers: {authorization: `Bearer ${accessToken}`}, method})

const b64 = (json: object) => Buffer.from(JSON.stringify(json)).toString('base64url')

describe('/userinfo', () => {
  it('answers the subject and the login’s claims to GET and POST', async () => {
    const {code: c, verifier} = await code({}, '{"email":"alice@example.com","roles":["admin"]}')
    const {body} = await token({code: c, code_verifier: verifier, redirect_uri: CALLBACK})
    for (const method of ['GET', 'POST']) {
      const res = await bearer(body.access_token, method)
      expect(res.status).toBe(200)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(await res.json()).toEqual({email: 'alice@example.com', roles: ['admin'], sub: 'alice'})
    }
  })

  it('a missing, bad or non-openid token is refused with WWW-Authenticate', async () => {
    const none = await fetch(`${base}/userinfo`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    const bad = await bearer('not.a.token')
    expect(bad.status).toBe(401)
    expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
    // the unverified header's kid is quoted in the description: a newline or é must not reach the header raw
    const hostile = await bearer(`${b64({alg: 'ES256', kid: 'é"\n\\x'})}.${b64({sub: 'x'})}.c2ln`)
    expect(hostile.status).toBe(401)
    expect(hostile.headers.get('www-authenticate')).toMatch(
      /^Bearer error="invalid_token", error_description="[ !#-[\]-~]*"$/,
    )
    expect((await hostile.json()).error).toBe('invalid_token')
    const {code: c, verifier} = await code({nonce: '', scope: 'read'})
    const {body} = await token({code: c, code_verifier: verifier, redirect_uri: CALLBACK})
    const narrow = await bearer(body.access_token)
    expect(narrow.status).toBe(403)
    expect(narrow.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_scope"/)
  })
})

const metadata = async (at: string, document: string) =>
  (await fetch(`${at}/.well-known/${document}`)).json() as Promise<Record<string, unknown>>

describe('the metadata documents', () => {
  it('the OpenID one has every field OpenID Discovery 1.0 requires of a provider', async () => {
    const doc = await metadata(base, 'openid-configuration')
    expect(doc).toMatchObject({
      authorization_endpoint: `${ISS}/authorize`,
      authorization_response_iss_parameter_supported: true,
      code_challenge_methods_supported: ['S256'],
      issuer: ISS,
      jwks_uri: `${ISS}/.well-known/jwks.json`,
      request_uri_parameter_supported: false,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      token_endpoint: `${ISS}/token`,
      userinfo_endpoint: `${ISS}/userinfo`,
    })
    expect(doc.id_token_signing_alg_values_supported).toContain('RS256')
    expect(doc.id_token_signing_alg_values_supported).not.toContain('HS256')
    expect(doc.grant_types_supported).toContain('authorization_code')
    expect(doc.scopes_supported).toEqual(['openid', 'read'])
    expect(doc.claims_supported).toEqual(expect.arrayContaining(['sub', 'iss', 'aud', 'nonce', 'auth_time']))
  })

  it('RFC 8414’s lists the authorization endpoint', async () => {
    const doc = await metadata(base, 'oauth-authorization-server')
    expect(doc).toMatchObject({authorization_endpoint: `${ISS}/authorize`, response_types_supported: ['code']})
  })
})

describe('without --dev-login', () => {
  it('neither /authorize nor /userinfo exists, the metadata does not name them, the code grant is unsupported', async () => {
    expect((await authorize(request(pkce().challenge), plainBase)).status).toBe(404)
    expect((await fetch(`${plainBase}/userinfo`)).status).toBe(404)
    for (const document of ['openid-configuration', 'oauth-authorization-server']) {
      const doc = await metadata(plainBase, document)
      expect(doc.authorization_endpoint).toBeUndefined()
      expect(doc.userinfo_endpoint).toBeUndefined()
      expect(doc.grant_types_supported).not.toContain('authorization_code')
    }

    const res = await fetch(`${plainBase}/token`, {
      body: new URLSearchParams({code: 'x', code_verifier: pkce().verifier, grant_type: 'authorization_code'}),
      headers: {authorization: `Basic ${Buffer.from(`web:${secrets.web}`).toString('base64')}`},
      method: 'POST',
    })
    expect((await res.json()).error).toBe('unsupported_grant_type')
  })
})
