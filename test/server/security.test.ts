import type {FastifyInstance} from 'fastify'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Issuer} from '../../src/core/issuer.js'
import {buildServer} from '../../src/server/app.js'
import {FailureLimiter, limiterKey} from '../../src/server/ratelimit.js'
import {MemoryStore} from '../../src/store/memory.js'
import {manualClock, tempVault} from '../helpers/vault.js'

const ADMIN = 'admin-secret-for-security-tests'
let app: FastifyInstance
let alice: string
let limiter: FailureLimiter

const nest = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`
const post = (url: string, payload: unknown, bearer?: string, remoteAddress?: string) =>
  app.inject({
    headers: {'content-type': 'application/json', ...(bearer ? {authorization: `Bearer ${bearer}`} : {})},
    method: 'POST',
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    remoteAddress,
    url,
  })

/** Every answer of `serve`, whatever failed, has the contract's error shape. */
function expectErrorShape(res: {json: () => any; statusCode: number}, status: number, code?: string) {
  expect(res.statusCode).toBe(status)
  const body = res.json()
  expect(Object.keys(body)).toEqual(['error'])
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message'])
  if (code) expect(body.error.code).toBe(code)
}

beforeAll(async () => {
  const {vault} = await tempVault('https://issuer.test')
  const issuer = new Issuer(vault, async () => new MemoryStore(), manualClock(Date.now()))
  ;({app, limiter} = await buildServer({adminToken: ADMIN, issuer, maxAuthFailures: 5}))
  await app.ready()
  alice = (await post('/register/alice', {}, ADMIN)).json().client_token
  expect((await post('/register/bob', {aud: ['https://bob.api']}, ADMIN)).statusCode).toBe(201)
})
afterAll(async () => app?.close())

describe('4. audiences over HTTP', () => {
  it("a client cannot mint tokens for another's audience (422 AUDIENCE_NOT_ALLOWED)", async () => {
    const res = await post('/issue_token', {claims: {aud: 'https://bob.api'}, kid: 'alice'}, alice)
    expectErrorShape(res, 422, 'AUDIENCE_NOT_ALLOWED')
    const own = await post('/issue_token', {claims: {aud: 'alice'}, kid: 'alice'}, alice)
    expect(own.statusCode).toBe(201)
  })
})

describe('9/11. lifetimes over HTTP', () => {
  it.each([
    ['auth_token_valid_time', '99999999999h'],
    ['auth_token_valid_time', '25h'],
    ['auth_token_valid_time', '0s'],
    ['refresh_token_valid_time', '9000h'],
    ['auth_token_valid_time', 9e18],
  ])('%s %s is refused with 400, never 500', async (field, value) => {
    const res = await post('/issue_token', {[field]: value, kid: 'alice'}, alice)
    expectErrorShape(res, 400)
  })

  it('a register request with an endless duration is refused and registers nothing', async () => {
    const res = await post('/register/endless', {auth_ttl: `${'9'.repeat(400)}h`}, ADMIN)
    expectErrorShape(res, 400, 'USAGE')
    expect((await app.inject({method: 'GET', url: '/keys/endless'})).statusCode).toBe(404)
  })
})

describe('12. deep and hostile bodies', () => {
  it('claims nested too deep: 422; a body 5,000 deep: 400; neither is a 500', async () => {
    expectErrorShape(await post('/issue_token', `{"kid":"alice","claims":${nest(35)}}`, alice), 422, 'BAD_CLAIMS')
    expectErrorShape(await post('/issue_token', `{"kid":"alice","claims":${nest(5000)}}`, alice), 400, 'USAGE')
    expectErrorShape(await post('/issue_token', `{"kid":"alice","claims":${'['.repeat(60_000)}}`, alice), 400)
  })

  it('__proto__ and constructor.prototype keys are refused', async () => {
    const res = await post('/issue_token', '{"kid":"alice","claims":{"__proto__":{"admin":true}}}', alice)
    expectErrorShape(res, 400)
    const ctor = await post('/issue_token', '{"kid":"alice","claims":{"constructor":{"prototype":{"x":1}}}}', alice)
    expectErrorShape(ctor, 400)
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
  })
})

describe('17. router-level failures use the contract shape', () => {
  it('an over-long kid is 414, bad %-encoding is 400, an unknown route 404, all as {"error":{code,message}}', async () => {
    expectErrorShape(await app.inject({method: 'GET', url: `/keys/${'k'.repeat(200)}`}), 414, 'URI_TOO_LONG')
    expectErrorShape(await app.inject({method: 'GET', url: '/keys/%E0%A4%A'}), 400, 'BAD_REQUEST')
    expectErrorShape(await app.inject({method: 'GET', url: '/nowhere'}), 404, 'NOT_FOUND')
    expectErrorShape(await post('/issue_token', '{"kid":', alice), 400)
    const text = await app.inject({
      headers: {authorization: `Bearer ${alice}`, 'content-type': 'text/plain'},
      method: 'POST',
      payload: 'x',
      url: '/issue_token',
    })
    expectErrorShape(text, 415)
    // a kid of 128 characters is a valid name, not a 414
    expect((await app.inject({method: 'GET', url: `/keys/${'k'.repeat(128)}`})).statusCode).toBe(404)
  })

  it('a routed path asked with another method is 405 with Allow, and no answer echoes the query', async () => {
    const secret = 'eyJhbGciOiJFUzI1NiJ9.c2VjcmV0.c2ln'
    const wrong = await app.inject({method: 'GET', url: `/introspect?token=${secret}`})
    expectErrorShape(wrong, 405, 'METHOD_NOT_ALLOWED')
    expect(wrong.headers.allow).toBe('POST')
    const register = await app.inject({method: 'PUT', url: '/register/alice'})
    expectErrorShape(register, 405, 'METHOD_NOT_ALLOWED')
    expect(register.headers.allow).toBe('POST')
    expect((await app.inject({method: 'DELETE', url: '/keys/alice'})).headers.allow).toBe('GET, HEAD')
    const missing = await app.inject({method: 'GET', url: `/nowhere?token=${secret}`})
    expectErrorShape(missing, 404, 'NOT_FOUND')
    for (const answer of [wrong, missing]) expect(answer.body).not.toContain(secret)
  })
})

describe('2. authentication before the body', () => {
  it('a bad bearer is refused from the headers alone', async () => {
    const res = await app.inject({
      headers: {authorization: 'Bearer not-a-client', 'content-type': 'application/json'},
      method: 'POST',
      payload: '{"kid":', // never parsed: it would be a 400 otherwise
      remoteAddress: '192.0.2.50',
      url: '/renew_token',
    })
    expectErrorShape(res, 401, 'UNAUTHORIZED')
  })
})

describe('5. the failed-auth limiter', () => {
  it('keeps at most its capacity of addresses, evicting the least recent, in constant time per failure', () => {
    const small = new FailureLimiter(3, 60_000, 1000)
    const started = performance.now()
    for (let i = 0; i < 100_000; i++) small.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 0)
    expect(small.size).toBe(1000)
    // 100,000 failures from as many addresses: linear, not quadratic (a sweep per failure took minutes)
    expect(performance.now() - started).toBeLessThan(2000)
    for (let i = 0; i < 3; i++) small.fail('203.0.113.9', 0)
    expect(small.blockedFor('203.0.113.9', 1)).toBeGreaterThan(0)
  })

  it('counts an IPv6 address as its /64, and IPv4-mapped addresses as IPv4', () => {
    expect(limiterKey('2001:db8:1:2:aaaa::1')).toBe(limiterKey('2001:db8:1:2:ffff:ffff:ffff:ffff'))
    expect(limiterKey('2001:db8:1:2::1')).not.toBe(limiterKey('2001:db8:1:3::1'))
    expect(limiterKey('2001:0db8:0001:0002::')).toBe('2001:db8:1:2::/64')
    expect(limiterKey('::ffff:192.0.2.1')).toBe('192.0.2.1')
    expect(limiterKey('192.0.2.1')).toBe('192.0.2.1')
  })

  it('blocks the failures of a /64 after the limit, over HTTP, without touching other addresses', async () => {
    for (let i = 0; i < 5; i++) await post('/issue_token', {kid: 'alice'}, 'wrong', `2001:db8:9:9::${i + 1}`)
    expectErrorShape(await post('/issue_token', {kid: 'alice'}, 'wrong', '2001:db8:9:9::77'), 429, 'RATE_LIMITED')
    expectErrorShape(await post('/issue_token', {kid: 'alice'}, 'wrong', '2001:db8:9:10::1'), 401, 'UNAUTHORIZED')
    expect(limiter.size).toBeLessThanOrEqual(10_000)
  })
})
