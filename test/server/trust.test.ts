/**
 * Issue 20, the server's part of "Trust": the failed-authentication limiter never refuses a
 * valid credential.
 */
import type {FastifyInstance} from 'fastify'

import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {Issuer} from '../../src/core/issuer.js'
import {buildServer, type ServerOptions} from '../../src/server/app.js'
import {MemoryStore} from '../../src/store/memory.js'
import {tempVault} from '../helpers/vault.js'

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
    // Valid requests do not lift the limit for failures (a client token is no credential for registration)
    for (const bearer of ['guess', undefined, s.beta]) {
      const limited = await request('/register/x', bearer)
      expect([limited.statusCode, limited.json().error.code]).toEqual([429, 'RATE_LIMITED'])
      expect(limited.json().error.message).toContain('from this address')
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    }
  })
})
