import {exportJWK, generateKeyPair, SignJWT} from 'jose'
import {execFileSync, spawnSync} from 'node:child_process'
/* eslint-disable new-cap -- openid-client's client authentications are capitalized factories */
/**
 * Issue 24: `jwtis serve` as an OAuth 2.0 authorization server for clients that are not ours,
 * over real HTTP on loopback: panva's openid-client 6 (discovery, every grant but the code flow,
 * both secret authentications and private_key_jwt, revocation, introspection), Go's
 * golang.org/x/oauth2/clientcredentials and Python's authlib, each used as its docs show. Every
 * token they get is verified by PyJWT against the server's JWKS. Then the RFC 6749 §5.2 error
 * cases, over the same HTTP. A missing tool skips its tests with a notice.
 */
import {randomUUID} from 'node:crypto'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import * as client from 'openid-client'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {hasTool, json, jwtisOk, PYTHON, scratch} from '../helpers/cli.js'
import {freePort} from '../helpers/redis.js'
import {serve, type Served} from '../helpers/serve.js'
import {buildGo, hasPythonJose, python} from '../helpers/tools.js'

const API = 'https://api.test'
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
const HAS_PYJWT =
  hasPythonJose() ||
  hasTool('false', [], 'the PyJWT checks of OAuth tokens (apt-get install python3-jwt python3-jwcrypto)')
const HAS_AUTHLIB =
  spawnSync(PYTHON, ['-c', 'import authlib.integrations.requests_client'], {stdio: 'ignore'}).status === 0 ||
  hasTool('false', [], 'the authlib interop tests (apt-get install python3-authlib python3-requests)')
const HAS_GO_OAUTH2 =
  (hasTool('go', ['version'], 'the Go x/oauth2 interop test (apt-get install golang-go)') &&
    existsSync('/usr/share/gocode/src/golang.org/x/oauth2/clientcredentials')) ||
  hasTool('false', [], 'the Go x/oauth2 interop test (apt-get install golang-golang-x-oauth2-dev)')

let server: Served
let dir: string
let secret: string
let issuer: string
let privateKey: CryptoKey

/** An RFC 7523 assertion by client "svc", signed with its registered key. */
const assertion = async (claims: Record<string, unknown>) =>
  new SignJWT({aud: issuer, iss: 'svc', jti: randomUUID(), sub: 'svc', ...claims})
    .setProtectedHeader({alg: 'ES256'})
    .setIssuedAt()
    .setExpirationTime('2m')
    .sign(privateKey)

/** Access tokens verified by PyJWT against the server's JWKS, with the issuer and audience checked. */
async function verifiedByPyJwt(tokens: string[]): Promise<Array<Record<string, unknown>>> {
  // a new connection: a kept-alive one may have idled past serve's keep-alive timeout while a
  // slow client (authlib, on a loaded machine) ran
  const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`, {headers: {connection: 'close'}})).json()
  // (verify_jws.py answers by alg: one token per call)
  return tokens.map(
    (token) =>
      python<Record<string, {pyjwt: Record<string, unknown>}>>('verify_jws.py', {
        jwks,
        tokens: [{alg: 'ES256', aud: API, iss: issuer, token}],
      }).ES256.pyjwt,
  )
}

beforeAll(async () => {
  const s = scratch()
  dir = s.dir
  const port = await freePort()
  issuer = `http://127.0.0.1:${port}`
  const vault = join(dir, 'vault.age')
  await jwtisOk(['init', '--vault', vault, '--name', issuer], {env: s.env})
  const pair = await generateKeyPair('ES256')
  privateKey = pair.privateKey
  const jwksFile = join(dir, 'svc.jwks.json')
  writeFileSync(jwksFile, JSON.stringify({keys: [await exportJWK(pair.publicKey)]}))
  const added = await jwtisOk(
    [
      'client',
      'add',
      'svc',
      '--vault',
      vault,
      '--aud',
      API,
      '--scope',
      'read',
      '--scope',
      'write',
      '--refresh-strategy',
      'refreshBoth',
      '--jwks',
      jwksFile,
      '--json',
    ],
    {env: s.env},
  )
  secret = json<{client_token: string}>(added).client_token
  server = await serve(vault, s.env, [], '127.0.0.1', port)
}, 60_000)
afterAll(async () => server?.stop())

/** openid-client configured from the server's own metadata, as its docs start. */
const configure = async (auth: client.ClientAuth, algorithm: 'oauth2' | 'oidc' = 'oauth2') =>
  client.discovery(new URL(server.url), 'svc', undefined, auth, {algorithm, execute: [client.allowInsecureRequests]})

describe('openid-client 6', () => {
  it('discovers the server (RFC 8414 and OpenID Discovery) and gets client_credentials tokens with client_secret_basic, client_secret_post and private_key_jwt', async () => {
    const auths: Array<[client.ClientAuth, 'oauth2' | 'oidc']> = [
      [client.ClientSecretBasic(secret), 'oauth2'],
      [client.ClientSecretPost(secret), 'oidc'],
      [client.PrivateKeyJwt(privateKey), 'oauth2'],
    ]
    const tokens: string[] = []
    for (const [auth, algorithm] of auths) {
      const config = await configure(auth, algorithm)
      expect(config.serverMetadata().token_endpoint).toBe(`${issuer}/token`)
      const answer = await client.clientCredentialsGrant(config, {resource: API, scope: 'read'})
      expect(answer).toMatchObject({scope: 'read', token_type: 'bearer'})
      expect(answer.refresh_token).toBeUndefined()
      tokens.push(answer.access_token)
    }

    if (!HAS_PYJWT) return
    for (const claims of await verifiedByPyJwt(tokens)) {
      expect(claims).toMatchObject({aud: API, client_id: 'svc', iss: issuer, scope: 'read', sub: 'svc'})
    }
  })

  it('jwt-bearer (genericGrantRequest), refresh_token, introspection and revocation', async () => {
    const config = await configure(client.ClientSecretBasic(secret))
    const first = await client.genericGrantRequest(config, JWT_BEARER, {
      assertion: await assertion({sub: 'alice@example.com'}),
      scope: 'read write',
    })
    expect(first.refresh_token).toEqual(expect.any(String))
    const renewed = await client.refreshTokenGrant(config, first.refresh_token!)
    expect(renewed.refresh_token).not.toBe(first.refresh_token)
    const introspected = await client.tokenIntrospection(config, renewed.access_token)
    expect(introspected).toMatchObject({active: true, client_id: 'svc', scope: 'read write', sub: 'alice@example.com'})
    // RFC 7009 §2: an access token is revoked too, and introspection (an online check) sees it
    await client.tokenRevocation(config, renewed.access_token, {token_type_hint: 'access_token'})
    expect(await client.tokenIntrospection(config, renewed.access_token)).toEqual({active: false})
    await client.tokenRevocation(config, renewed.refresh_token!)
    await expect(client.refreshTokenGrant(config, renewed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    })
    if (!HAS_PYJWT) return
    for (const claims of await verifiedByPyJwt([first.access_token, renewed.access_token])) {
      expect(claims).toMatchObject({
        aud: API,
        client_id: 'svc',
        iss: issuer,
        scope: 'read write',
        sub: 'alice@example.com',
      })
    }
  })

  it('jwt-bearer with no client authentication (RFC 7523 §3.1): the assertion alone', async () => {
    const config = await configure(client.None())
    const answer = await client.genericGrantRequest(config, JWT_BEARER, {
      assertion: await assertion({sub: 'bob@example.com'}),
      resource: API,
    })
    expect(answer.token_type).toBe('bearer')
    if (!HAS_PYJWT) return
    const [claims] = await verifiedByPyJwt([answer.access_token])
    expect(claims).toMatchObject({aud: API, client_id: 'svc', iss: issuer, sub: 'bob@example.com'})
  })
})

describe.skipIf(!HAS_GO_OAUTH2)("Go's golang.org/x/oauth2/clientcredentials", () => {
  it('gets a token with the secret in the header and in the form', async () => {
    const binary = await buildGo(dir, 'go-oauth')
    const tokens: string[] = []
    for (const style of ['header', 'params']) {
      const out = execFileSync(
        binary,
        [
          '-token-url',
          `${issuer}/token`,
          '-id',
          'svc',
          '-secret',
          secret,
          '-scope',
          'read write',
          '-resource',
          API,
          '-style',
          style,
        ],
        {encoding: 'utf8'},
      )
      const answer = JSON.parse(out) as {access_token: string; token_type: string}
      expect(answer.token_type).toBe('Bearer')
      tokens.push(answer.access_token)
    }

    if (!HAS_PYJWT) return
    for (const claims of await verifiedByPyJwt(tokens)) {
      expect(claims).toMatchObject({aud: API, client_id: 'svc', iss: issuer, scope: 'read write', sub: 'svc'})
    }
  }, 120_000)
})

describe.skipIf(!HAS_AUTHLIB)("Python's authlib OAuth2Session", () => {
  it('gets client_credentials tokens with both secret methods, a jwt-bearer token and its refresh', async () => {
    const out = python<Record<string, any>>('oauth_authlib.py', {
      assertion: await assertion({sub: 'bob'}),
      client_id: 'svc',
      client_secret: secret,
      scope: 'read',
      token_url: `${issuer}/token`,
    })
    expect(out.error).toBeUndefined()
    expect(out.refreshed.refresh_token).not.toBe(out.bearer.refresh_token)
    const names = ['basic', 'post', 'bearer', 'refreshed']
    if (!HAS_PYJWT) return
    const claims = await verifiedByPyJwt(names.map((n) => out[n].access_token as string))
    expect(claims.map((c) => c.sub)).toEqual(['svc', 'svc', 'bob', 'bob'])
    for (const c of claims) expect(c).toMatchObject({aud: API, client_id: 'svc', iss: issuer, scope: 'read'})
  })
})

/** A token request with client_secret_basic (svc's secret unless told). */
const token = async (
  params: Record<string, string>,
  auth = `Basic ${Buffer.from(`svc:${secret}`).toString('base64')}`,
) => {
  const res = await fetch(`${issuer}/token`, {
    body: new URLSearchParams(params),
    headers: {authorization: auth},
    method: 'POST',
  })
  return {body: (await res.json()) as Record<string, string>, headers: res.headers, status: res.status}
}

describe('error cases over HTTP answer RFC 6749 §5.2 codes', () => {
  it('wrong secret: 401 invalid_client with WWW-Authenticate', async () => {
    const res = await token({grant_type: 'client_credentials'}, `Basic ${Buffer.from('svc:wrong').toString('base64')}`)
    expect([res.status, res.body.error]).toEqual([401, 'invalid_client'])
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="jwtis"/)
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it('unsupported grant, unregistered scope, unregistered resource', async () => {
    expect((await token({grant_type: 'password', password: 'x', username: 'y'})).body.error).toBe(
      'unsupported_grant_type',
    )
    expect((await token({grant_type: 'client_credentials', scope: 'admin'})).body.error).toBe('invalid_scope')
    expect((await token({grant_type: 'client_credentials', resource: 'https://not-registered.test'})).body.error).toBe(
      'invalid_target',
    )
  })

  it('a reused refresh token is invalid_grant and revokes its family', async () => {
    const first = (await token({assertion: await assertion({sub: 'carol'}), grant_type: JWT_BEARER})).body
    const second = await token({grant_type: 'refresh_token', refresh_token: first.refresh_token})
    expect(second.status).toBe(200)
    const reused = await token({grant_type: 'refresh_token', refresh_token: first.refresh_token})
    expect([reused.status, reused.body.error]).toEqual([400, 'invalid_grant'])
    const family = await token({grant_type: 'refresh_token', refresh_token: second.body.refresh_token})
    expect([family.status, family.body.error]).toEqual([400, 'invalid_grant'])
  })

  it('a replayed assertion and one with another aud are invalid_grant', async () => {
    const jwt = await assertion({sub: 'dave'})
    expect((await token({assertion: jwt, grant_type: JWT_BEARER})).status).toBe(200)
    const replayed = await token({assertion: jwt, grant_type: JWT_BEARER})
    expect([replayed.status, replayed.body.error]).toEqual([400, 'invalid_grant'])
    const elsewhere = await token({assertion: await assertion({aud: 'https://elsewhere.test'}), grant_type: JWT_BEARER})
    expect([elsewhere.status, elsewhere.body.error]).toEqual([400, 'invalid_grant'])
  })
})

describe('the issuer at start-up', () => {
  it('a URL issuer passes quietly; a name (JWTIS) gets a note that OAuth/OIDC clients need a URL', async () => {
    expect(server.stderr()).not.toContain('OpenID Connect clients need')
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    const named = await serve(vault, s.env)
    try {
      // written just after the ready line on stdout: wait for it
      const deadline = Date.now() + 5000
      while (!named.stderr().includes('is not a URL') && Date.now() < deadline) await sleep(20)
      expect(named.stderrLines().map((line) => line.msg)).toContain(
        'note: the issuer "JWTIS" is not a URL: OAuth 2.0 / OpenID Connect clients need one (a vault made with `jwtis init --issuer https://…`)',
      )
    } finally {
      await named.stop()
    }
  }, 60_000)
})
