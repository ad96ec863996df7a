/**
 * Issue 23: what `curl -d` sends. A form body (curl's default content type) or a body without a
 * content type is refused on the JSON routes with 415 and the header that fixes it; only the
 * routes whose standard asks for forms (`config: {forms: true}`: /introspect) read them. And the
 * request id: kept from a well-formed X-Request-Id, else one of ours, echoed in the answer.
 */
import type {FastifyInstance} from 'fastify'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Issuer} from '../../src/core/issuer.js'
import {buildServer} from '../../src/server/app.js'
import {MemoryStore} from '../../src/store/memory.js'
import {tempVault} from '../helpers/vault.js'

const ADMIN = 'admin-secret-for-media-type-tests'
const HINT = "this route takes a JSON body: send it with -H 'content-type: application/json'"
let app: FastifyInstance
let issuer: Issuer
let token: string

const post = (url: string, payload: string, headers: Record<string, string>, bearer = token) =>
  app.inject({headers: {authorization: `Bearer ${bearer}`, ...headers}, method: 'POST', payload, url})

beforeAll(async () => {
  const {vault} = await tempVault('https://issuer.test')
  const store = new MemoryStore()
  issuer = new Issuer(vault, async () => store)
  ;({app} = await buildServer({adminToken: ADMIN, issuer}))
  await app.ready()
  const web = await post('/register/web', '{}', {'content-type': 'application/json'}, ADMIN)
  expect(web.statusCode).toBe(201)
  token = web.json().client_token
})
afterAll(async () => app?.close())

describe('bodies: JSON, and forms only where a standard asks', () => {
  it.each([
    ['/register/form-made', '{"refresh_strategy":"refreshBoth"}', ADMIN],
    ['/issue_token', '{"kid":"web","claims":{"sub":"bob"}}', undefined],
    ['/issue_token', 'kid=web', undefined],
    ['/renew_token', 'kid=web&refresh_token=x', undefined],
    ['/revoke_token', 'kid=web&refresh_token=x', undefined],
  ])('%s with a form body (curl -d %j) is 415 saying to send the JSON content type', async (url, body, bearer) => {
    const res = await post(url, body, {'content-type': 'application/x-www-form-urlencoded'}, bearer)
    expect([res.statusCode, res.json()]).toEqual([415, {error: {code: 'UNSUPPORTED_MEDIA_TYPE', message: HINT}}])
  })

  it('a form body registers nothing and issues nothing (it used to be read as fields)', async () => {
    expect(Object.keys(issuer.vault.document.clients)).toEqual(['web'])
    const metrics = (await app.inject('/metrics')).body
    expect(metrics).not.toMatch(/route="\/issue_token",status="201"/)
  })

  it.each([
    ['no content type', {}],
    ['an empty content type', {'content-type': ''}],
    ['text/plain', {'content-type': 'text/plain'}],
    ['application/xml', {'content-type': 'application/xml'}],
  ])('a body with %s on a JSON route is 415 with the same hint', async (_what, headers) => {
    const res = await post('/issue_token', '{"kid":"web"}', headers)
    expect([res.statusCode, res.json()]).toEqual([415, {error: {code: 'UNSUPPORTED_MEDIA_TYPE', message: HINT}}])
  })

  it('JSON with a charset still works; the other statuses are unchanged (400, 413)', async () => {
    const ok = await post('/issue_token', '{"kid":"web"}', {'content-type': 'application/json; charset=utf-8'})
    expect(ok.statusCode).toBe(201)
    const unknown = await post('/issue_token', '{"kid":"web","nope":1}', {'content-type': 'application/json'})
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([400, 'USAGE'])
    const large = await post('/issue_token', `{"kid":"web","claims":{"pad":"${'x'.repeat(70_000)}"}}`, {
      'content-type': 'application/x-www-form-urlencoded',
    })
    expect([large.statusCode, large.json().error.code]).toEqual([413, 'BODY_TOO_LARGE'])
  })

  it('POST /introspect (RFC 7662) takes a form body, and JSON; another type is 415 naming both', async () => {
    const issued = await post('/issue_token', '{"kid":"web"}', {'content-type': 'application/json'})
    const access = issued.json().access_token as string
    const form = await post('/introspect', `token=${access}`, {'content-type': 'application/x-www-form-urlencoded'})
    expect([form.statusCode, form.json().active]).toEqual([200, true])
    const json = await post('/introspect', JSON.stringify({token: access}), {'content-type': 'application/json'})
    expect([json.statusCode, json.json().active]).toEqual([200, true])
    const text = await post('/introspect', `token=${access}`, {'content-type': 'text/plain'})
    expect(text.statusCode).toBe(415)
    expect(text.json().error.message).toBe(
      "send the body form-encoded (application/x-www-form-urlencoded) or as JSON (-H 'content-type: application/json')",
    )
  })
})

const ping = (id?: string) => app.inject({headers: id === undefined ? {} : {'x-request-id': id}, url: '/ping'})

describe('X-Request-Id', () => {
  it('keeps a well-formed incoming id and echoes it', async () => {
    for (const id of ['3f2c9a1e-6b1d-4c55-9a43-0e8f1b2c7d10', 'edge.lb:42_a', 'x'.repeat(128)])
      expect((await ping(id)).headers['x-request-id']).toBe(id)
  })

  it('replaces one that is too long, empty or carries other characters, and makes a fresh one each time', async () => {
    const ids = new Set<string>()
    for (const id of [undefined, '', 'x'.repeat(129), 'a b', 'id\u001B[2J', 'é', 'a/../b', undefined]) {
      const answered = String((await ping(id)).headers['x-request-id'])
      expect(answered).toMatch(/^[\da-f]{12}-[\da-z]+$/)
      ids.add(answered)
    }

    expect(ids.size).toBe(8)
  })

  it('two servers (as two workers are) never hand out the same id: each has its own random prefix', async () => {
    const twin = (await buildServer({adminToken: ADMIN, issuer})).app
    try {
      const prefix = async (server: FastifyInstance) =>
        String((await server.inject('/ping')).headers['x-request-id']).split('-')[0]
      expect(await prefix(app)).not.toBe(await prefix(twin))
    } finally {
      await twin.close()
    }
  })

  it('an answer refused before its route (401) carries the id too', async () => {
    const res = await app.inject({headers: {'x-request-id': 'trace-401'}, method: 'POST', url: '/issue_token'})
    expect([res.statusCode, res.headers['x-request-id']]).toEqual([401, 'trace-401'])
  })
})
