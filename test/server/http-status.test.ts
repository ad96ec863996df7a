/**
 * HTTP statuses are a table keyed by error code (src/server/errors.ts): every code an error class
 * can carry has one, each is the status `serve` has always answered with (JWTIS's where it had
 * them), and the error handler answers a route's failure with it in the contract's shape.
 */
import fastify from 'fastify'
import {describe, expect, it} from 'vitest'

import {
  ERROR_CODES,
  RedisError,
  REJECTION_CODES,
  StoreError,
  TokenRejectedError,
  VaultError,
} from '../../src/common/errors.js'
import {errorHandler, HTTP_STATUS, HttpError, statusOf} from '../../src/server/errors.js'
import {Metrics} from '../../src/server/metrics.js'

const UNAVAILABLE = [
  'JWKS_UNAVAILABLE',
  'STORE_UNAVAILABLE',
  'VAULT_LOCKED',
  'VAULT_NOT_AUTHENTIC',
  'VAULT_NOT_FOUND',
  'VAULT_UNAVAILABLE',
  'VAULT_UNWRITABLE',
]

/** Every status but the rejections' 403, written out code by code. */
const STATUSES: Record<number, string[]> = {
  400: ['BAD_KEY', 'USAGE'],
  403: ['CLIENT_EXISTS', 'IDENTITY_EXISTS', 'KEY_EXISTS', 'VAULT_EXISTS'],
  404: ['CLIENT_NOT_FOUND', 'FAMILY_NOT_FOUND', 'KEY_NOT_FOUND', 'SETTING_NOT_FOUND'],
  409: ['TOKEN_EXPIRED'],
  422: ['AUDIENCE_NOT_ALLOWED', 'BAD_CLAIMS', 'SCOPE_NOT_ALLOWED'],
  500: ['VAULT_BAD_KEY', 'VAULT_CORRUPT', 'VAULT_TOO_NEW', 'VAULT_UNSAFE'],
  503: UNAVAILABLE,
}

describe('the HTTP status table', () => {
  it('has an entry for every code an error class can carry, and nothing else', () => {
    expect(Object.keys(HTTP_STATUS).sort()).toEqual([...ERROR_CODES].sort())
  })

  it('answers what it always did: 403 for a rejected token (409 expired), JWTIS’s statuses, 503 for what passes', () => {
    const listed = Object.entries(STATUSES).flatMap(([status, codes]) => codes.map((code) => [code, Number(status)]))
    const rejections = ERROR_CODES.filter((code) => !listed.some(([listedCode]) => listedCode === code))
    expect(HTTP_STATUS).toEqual({
      ...Object.fromEntries(rejections.map((code) => [code, 403])),
      ...Object.fromEntries(listed),
    })
    expect(rejections).toEqual(REJECTION_CODES.filter((code) => code !== 'TOKEN_EXPIRED'))
  })

  it("takes an HttpError's own status, and a code it does not know as a bug's", () => {
    expect(statusOf(new HttpError(429, 'RATE_LIMITED', 'slow down'))).toBe(429)
    expect(statusOf(new HttpError(400, 'USAGE', 'too deep'))).toBe(400)
    expect(statusOf(Object.assign(new VaultError('VAULT_CORRUPT', ''), {code: 'constructor'}))).toBe(500)
  })
})

describe("a route's failure", () => {
  it.each([
    [new StoreError('STORE_UNAVAILABLE', 'the token store is not writable'), 503],
    [new StoreError('VAULT_UNWRITABLE', 'cannot write: the disk is full'), 503],
    [new RedisError('VAULT_UNAVAILABLE', 'the Redis vault at 127.0.0.1:1 failed'), 503],
    [new TokenRejectedError('TOKEN_EXPIRED', 'the token expired'), 409],
    [new VaultError('VAULT_CORRUPT', 'the vault is corrupt'), 500],
  ])('%s answers with its code’s status over HTTP', async (error, status) => {
    const app = fastify()
    app.setErrorHandler(errorHandler(new Metrics(), false))
    app.get('/fail', async () => {
      throw error
    })
    const reply = await app.inject({method: 'GET', url: '/fail'})
    await app.close()
    expect(reply.statusCode).toBe(status)
    expect(reply.json()).toEqual({error: {code: error.code, message: error.message}})
  })
})
