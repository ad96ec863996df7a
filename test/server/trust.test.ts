/**
 * Issue 20, the server's part of "Trust": introspection answers a client about its own tokens
 * only, with the server's envelope; discovery URLs never come from the request; the
 * failed-authentication limiter never refuses a valid credential.
 */
import type {FastifyInstance} from 'fastify'

import {writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Issuer} from '../../src/core/issuer.js'
import {buildServer, type ServerOptions} from '../../src/server/app.js'
import {publicBase} from '../../src/server/public-url.js'
import {MemoryStore} from '../../src/store/memory.js'
import {signWithVaultKey, tempVault} from '../helpers/vault.js'

const ADMIN = 'admin-secret-for-trust-tests'
const servers: FastifyInstance[] = []
afterAll(async () => Promise.all(servers.map((s) => s.close())))

/** A server over a fresh vault named `issuerName`, with clients alpha and beta registered. */
async function start(issuerName: string, options: Partial<ServerOptions> = {}) {
  const {dir, identity, vault} = await tempVault(issuerName)
  const issuer = new Issuer(vault, async () => new MemoryStore())
  const {app} = await buildServer({adminToken: ADMIN, issuer, maxAuthFailures: 3, ...options})
  servers.push(app)
  await app.ready()
  const register = async (kid: string) => {
    const res = await app.inject({headers: {authorization: `Bearer ${ADMIN}`}, method: 'POST', url: `/register/${kid}`})
    expect(res.statusCode).toBe(201)
    return res.json().client_token as string
  }

  const identityFile = join(dir, 'identity.txt')
  writeFileSync(identityFile, `${identity}\n`)
  return {alpha: await register('alpha'), app, beta: await register('beta'), identityFile, vaultPath: vault.path}
}

describe('POST /introspect (RFC 7662 §4): only the token of the asking client is active', () => {
  let s: Awaited<ReturnType<typeof start>>
  const issue = async (claims: Record<string, unknown>, encrypt = false) => {
    const res = await s.app.inject({
      headers: {authorization: `Bearer ${s.alpha}`},
      method: 'POST',
      payload: {claims, encrypt, kid: 'alpha'},
      url: '/issue_token',
    })
    expect(res.statusCode, res.body).toBe(201)
    return res.json().access_token as string
  }

  const introspect = async (token: string, bearer: string) => {
    const res = await s.app.inject({
      headers: {authorization: `Bearer ${bearer}`},
      method: 'POST',
      payload: {token},
      url: '/introspect',
    })
    expect(res.statusCode, res.body).toBe(200)
    return res.json()
  }

  beforeAll(async () => {
    s = await start('https://issuer.test')
  })

  it("another client learns nothing of alpha's tokens, encrypted or not; alpha and the admin do", async () => {
    const sealed = await issue({secret: 'for alpha only', sub: 'alice'}, true)
    expect(sealed.split('.')).toHaveLength(5) // a JWE: only alpha's keys open it
    const signed = await issue({sub: 'alice'})
    for (const token of [sealed, signed]) {
      expect(await introspect(token, s.beta)).toEqual({active: false})
      expect(await introspect(token, s.alpha)).toMatchObject({active: true, client_id: 'alpha', sub: 'alice'})
      expect(await introspect(token, ADMIN)).toMatchObject({active: true, client_id: 'alpha', sub: 'alice'})
    }

    expect(await introspect(sealed, s.alpha)).toMatchObject({secret: 'for alpha only'})
  })

  it('custom claims named like the envelope do not change it: the server says active, token_type and client_id', async () => {
    const token = await issue({active: false, sub: 'alice', token_type: 'none'})
    expect(await introspect(token, s.alpha)).toMatchObject({active: true, client_id: 'alpha', token_type: 'Bearer'})
    // What the issuer refuses to mint, a token signed with alpha's key could still carry
    const forged = await signWithVaultKey(s.vaultPath, s.identityFile, 'alpha', {
      active: false,
      aud: 'alpha',
      client_id: 'beta',
      exp: Math.floor(Date.now() / 1000) + 60,
      iss: 'https://issuer.test',
      sub: 'alice',
      token_type: 'none',
    })
    expect(await introspect(forged, s.alpha)).toMatchObject({active: true, client_id: 'alpha', token_type: 'Bearer'})
    expect(await introspect(forged, s.beta)).toEqual({active: false})
  })

  it('a wrong or missing credential is 401, not an answer', async () => {
    for (const headers of [{}, {authorization: 'Bearer nope'}]) {
      const res = await s.app.inject({headers, method: 'POST', payload: {token: 'a.b.c'}, url: '/introspect'})
      expect([res.statusCode, res.json().error.code]).toEqual([401, 'UNAUTHORIZED'])
    }
  })
})

describe('/.well-known/openid-configuration: its URLs never come from the request', () => {
  const forged = {host: 'evil.test', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'http'}
  const discover = async (app: FastifyInstance) => {
    const res = await app.inject({headers: forged, url: '/.well-known/openid-configuration'})
    expect(res.statusCode).toBe(200)
    expect(res.body).not.toContain('evil.test')
    // The same answer for every Host: public caching is safe, and no Vary is needed
    expect(res.headers['cache-control']).toBe('public, max-age=300')
    expect(res.headers.vary).toBeUndefined()
    const {introspection_endpoint: introspection, issuer, jwks_uri: jwks} = res.json()
    return {introspection, issuer, jwks}
  }

  it('takes them from the issuer when it is a URL, even behind a trusted proxy', async () => {
    const {app} = await start('https://issuer.test/tenant/', {trustProxy: true})
    expect(await discover(app)).toEqual({
      introspection: 'https://issuer.test/tenant/introspect',
      issuer: 'https://issuer.test/tenant/',
      jwks: 'https://issuer.test/tenant/.well-known/jwks.json',
    })
  })

  it('takes them from --public-url first', async () => {
    const {app} = await start('https://issuer.test', {publicUrl: 'https://auth.example.com/jwtis'})
    expect(await discover(app)).toEqual({
      introspection: 'https://auth.example.com/jwtis/introspect',
      issuer: 'https://issuer.test',
      jwks: 'https://auth.example.com/jwtis/.well-known/jwks.json',
    })
  })

  it('takes them from the listen address when the issuer is not a URL', async () => {
    // (a container without IPv6 has no ::1 to listen on: the IPv4 half still runs, and says so)
    const v6 = await canListen('::1')
    if (!v6) process.stderr.write('NOTICE: no IPv6 loopback here: discovery URLs from [::1] not tested\n')
    for (const host of v6 ? ['127.0.0.1', '::1'] : ['127.0.0.1']) {
      const {app} = await start('JWTIS')
      await app.listen({host, port: 0})
      const {port} = app.server.address() as {port: number}
      const base = host === '::1' ? `http://[::1]:${port}` : `http://127.0.0.1:${port}`
      expect(await discover(app)).toEqual({
        introspection: `${base}/introspect`,
        issuer: 'JWTIS',
        jwks: `${base}/.well-known/jwks.json`,
      })
    }
  })

  it('a public URL is an absolute http(s) URL without credentials, query or fragment', () => {
    expect(publicBase('https://auth.example.com/')).toBe('https://auth.example.com')
    expect(publicBase('http://[::1]:8080/a/b')).toBe('http://[::1]:8080/a/b')
    for (const refused of [
      'JWTIS',
      'auth.example.com',
      '/jwtis',
      'ftp://auth.example.com',
      'https://auth.example.com/?',
      'https://auth.example.com/?tenant=a',
      'https://auth.example.com/#x',
      'https://user:pass@auth.example.com',
    ]) {
      expect(publicBase(refused), refused).toBeUndefined()
    }
  })
})

describe('the failed-authentication limiter never refuses a valid credential', () => {
  it('an address past the limit still gets every valid client and admin request through; its failures get 429', async () => {
    const s = await start('https://issuer.test')
    const proxy = '192.0.2.10' // every caller behind one reverse proxy
    const request = (url: string, bearer?: string, payload?: object) =>
      s.app.inject({
        headers: bearer === undefined ? {} : {authorization: `Bearer ${bearer}`},
        method: 'POST',
        payload,
        remoteAddress: proxy,
        url,
      })
    for (let i = 0; i < 3; i++)
      expect((await request('/issue_token', `guess${i}`, {kid: 'alpha'})).statusCode).toBe(401)
    expect((await request('/issue_token', s.alpha, {kid: 'alpha'})).statusCode).toBe(201)
    // beta's token on alpha's kid: a valid credential, refused by the route (403), not the limiter
    expect((await request('/issue_token', s.beta, {kid: 'alpha'})).statusCode).toBe(403)
    expect((await request('/register/gamma', ADMIN)).statusCode).toBe(201)
    expect((await request('/introspect', ADMIN, {token: 'a.b.c'})).json()).toEqual({active: false})
    // Valid requests do not lift the limit for failures (a client token is no credential for registration)
    for (const bearer of ['guess', undefined, s.beta]) {
      const limited = await request('/register/x', bearer)
      expect([limited.statusCode, limited.json().error.code]).toEqual([429, 'RATE_LIMITED'])
      expect(limited.json().error.message).toContain('from this address')
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    }
  })
})

/** Whether this machine can listen on `host` (containers often run without IPv6). */
async function canListen(host: string): Promise<boolean> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen({host, port: 0}, () => server.close(() => resolve(true)))
  })
}
