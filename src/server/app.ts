import type {FastifyInstance, FastifyRequest} from 'fastify'

import {createHash} from 'node:crypto'

import type {RefreshStrategy} from '../core/algorithms.js'
import type {Issuer} from '../core/issuer.js'

import {buildClaimSet} from '../core/claims.js'
import {addClient, clientKeysView, getClient} from '../core/clients.js'
import {durationFromJson} from '../core/duration.js'
import {JwtisError, TokenRejectedError} from '../core/errors.js'
import {hashesEqual, hashSecret} from '../core/secrets.js'
import {Metrics} from './metrics.js'
import {FailureLimiter} from './ratelimit.js'

export interface ServerOptions {
  /** Compared in constant time; registration needs it. */
  adminToken: string
  /** Largest request body accepted (413 past it). */
  bodyLimit?: number
  issuer: Issuer
  /** Failed authentications per address per minute before 429. */
  maxAuthFailures?: number
}

/** Failures that exist only over HTTP (authentication, rate limits); never reach the CLI. */
class HttpError extends JwtisError {
  readonly exitCode = 2

  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message)
  }
}

const duration = {oneOf: [{type: 'string'}, {minimum: 0, type: 'integer'}]}
const strategy = {enum: ['noRefresh', 'refreshOnExpire', 'refreshBoth'], type: 'string'}
const kidParam = {
  params: {properties: {kid: {maxLength: 128, minLength: 1, type: 'string'}}, required: ['kid'], type: 'object'},
}
const body = (properties: Record<string, unknown>, required: string[] = []) => ({
  body: {additionalProperties: false, properties, required, type: 'object'},
})

/** Durations in JSON: Go strings or integer nanoseconds, in milliseconds; absent stays absent. */
const ms = (value: number | string | undefined, what: string) =>
  value === undefined ? undefined : durationFromJson(value, what)

/**
 * The HTTP API of `jwtis serve`: JWTIS v0.1's routes and bodies over the same Issuer the CLI
 * uses. Every route has a JSON schema; unknown fields are rejected, errors are
 * `{"error":{"code","message"}}` and never carry a stack.
 */
export async function buildServer(options: ServerOptions): Promise<{app: FastifyInstance; metrics: Metrics}> {
  const {fastify} = await import('fastify')
  const {issuer} = options
  const metrics = new Metrics()
  const limiter = new FailureLimiter(options.maxAuthFailures ?? 10)
  const adminHash = hashSecret(options.adminToken)
  const app = fastify({
    ajv: {customOptions: {coerceTypes: false, removeAdditional: false}},
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    logger: false,
    return503OnClosing: true,
  })

  // JSON only: a text body is refused (415) rather than parsed into a string.
  app.removeContentTypeParser('text/plain')
  app.addHook('onRequest', async (request) => {
    ;(request as {startedAt?: bigint}).startedAt = process.hrtime.bigint()
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({method: request.method, route, status: String(reply.statusCode)})
    const started = (request as {startedAt?: bigint}).startedAt ?? process.hrtime.bigint()
    metrics.duration.observe({route}, Number(process.hrtime.bigint() - started) / 1e9)
  })

  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({error: {code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}`}}),
  )
  app.setErrorHandler(
    async (error: Error & {code?: string; statusCode?: number; validation?: unknown}, _request, reply) => {
      if (error instanceof TokenRejectedError) {
        metrics.rejected.inc({reason: error.code})
        if (error.code === 'REFRESH_REUSED') metrics.reuse.inc()
      }

      if (error instanceof HttpError)
        return reply
          .code(error.status)
          .headers(error.headers)
          .send({error: {code: error.code, message: error.message}})
      if (error instanceof JwtisError)
        return reply.code(error.status).send({error: {code: error.code, message: error.message}})
      if (error.validation) return reply.code(400).send({error: {code: 'USAGE', message: error.message}})
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return reply.code(413).send({error: {code: 'BODY_TOO_LARGE', message: 'request body is too large'}})
      }

      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return reply.code(error.statusCode).send({error: {code: 'BAD_REQUEST', message: error.message}})
      }

      process.stderr.write(`jwtis serve: internal error: ${error.message}\n`)
      return reply.code(500).send({error: {code: 'INTERNAL', message: 'internal error'}})
    },
  )

  /**
   * The bearer secret of a request; failures count towards the address's rate limit. JWTIS
   * clients sent the client token as `client_token` in the body: accepted when there is no
   * Authorization header.
   */
  function bearer(request: FastifyRequest, bodyToken?: string): string {
    const wait = limiter.blockedFor(request.ip)
    if (wait > 0)
      throw new HttpError(429, 'RATE_LIMITED', 'too many failed authentications: retry later', {
        'retry-after': String(wait),
      })
    if (request.headers.authorization === undefined && bodyToken) return bodyToken
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')
    if (!match) {
      limiter.fail(request.ip)
      throw new HttpError(401, 'UNAUTHORIZED', 'missing Authorization: Bearer <token>', {'www-authenticate': 'Bearer'})
    }

    return match[1]
  }

  function requireAdmin(request: FastifyRequest): void {
    if (!hashesEqual(hashSecret(bearer(request)), adminHash)) {
      limiter.fail(request.ip)
      throw new HttpError(401, 'UNAUTHORIZED', 'the admin token is required to register clients', {
        'www-authenticate': 'Bearer',
      })
    }
  }

  /** A client acts only as itself: its token must be the one registered for `kid`. */
  function requireClient(request: FastifyRequest, kid: string, bodyToken?: string): void {
    const token = bearer(request, bodyToken)
    const {clients} = issuer.vault.document
    const presented = hashSecret(token)
    if (Object.hasOwn(clients, kid) && hashesEqual(presented, clients[kid].tokenHash)) return
    if (Object.values(clients).some((c) => hashesEqual(presented, c.tokenHash))) {
      throw new HttpError(403, 'FORBIDDEN', `this client token is not ${kid}'s: a client acts only with its own kid`)
    }

    limiter.fail(request.ip)
    throw new HttpError(401, 'UNAUTHORIZED', 'invalid client token', {
      'www-authenticate': 'Bearer error="invalid_token"',
    })
  }

  app.post<{
    Body: {
      aud?: string[]
      auth_ttl?: number | string
      enc_alg?: string
      enc_bits?: number
      expiry?: number | string
      refresh_strategy?: string
      refresh_ttl?: number | string
      session_ttl?: number | string
      sig_alg?: string
      sig_bits?: number
    }
    Params: {kid: string}
  }>(
    '/register/:kid',
    {
      async preValidation(request) {
        request.body ??= {}
      },
      schema: {
        ...kidParam,
        ...body({
          aud: {items: {type: 'string'}, type: 'array'},
          auth_ttl: duration,
          enc_alg: {type: 'string'},
          enc_bits: {minimum: 0, type: 'integer'},
          expiry: duration,
          refresh_strategy: strategy,
          refresh_ttl: duration,
          session_ttl: duration,
          sig_alg: {type: 'string'},
          sig_bits: {minimum: 0, type: 'integer'},
        }),
      },
    },
    async (request, reply) => {
      requireAdmin(request)
      const b = request.body
      const result = await addClient(
        issuer.vault,
        request.params.kid,
        {
          accessTtl: ms(b.auth_ttl, 'auth_ttl'),
          aud: b.aud,
          encAlg: b.enc_alg,
          encBits: b.enc_bits || undefined,
          keyTtl: ms(b.expiry, 'expiry'),
          refreshStrategy: b.refresh_strategy,
          refreshTtl: ms(b.refresh_ttl, 'refresh_ttl'),
          sessionTtl: ms(b.session_ttl, 'session_ttl'),
          sigAlg: b.sig_alg,
          sigBits: b.sig_bits || undefined,
        },
        new Date(issuer.now()),
      )
      return reply.code(201).send(result)
    },
  )

  app.get<{Params: {kid: string}}>('/keys/:kid', {schema: kidParam}, async (request) => {
    const doc = issuer.vault.document
    const view = clientKeysView(doc, request.params.kid, new Date(issuer.now()))
    const keys = issuer
      .keyring()
      .entries.filter((e) => e.client === request.params.kid)
      .map((e) => e.jwk)
    const {refreshStrategy} = {...doc.issuer.defaults, ...getClient(doc, request.params.kid).settings}
    return {
      enc: view.pub_enc_key,
      expiry: view.expiry,
      jwks: {keys},
      refresh_strategy: refreshStrategy,
      sig: view.pub_sig_key,
      valid: view.valid,
    }
  })

  app.post<{
    Body: {
      auth_token_valid_time?: number | string
      claims?: Record<string, unknown>
      client_token?: string
      kid: string
      refresh_token_valid_time?: number | string
      resresh_token_valid_time?: number | string
    }
  }>(
    '/issue_token',
    {
      schema: body(
        {
          auth_token_valid_time: duration,
          claims: {type: 'object'},
          client_token: {type: 'string'},
          kid: {minLength: 1, type: 'string'},
          refresh_token_valid_time: duration,
          resresh_token_valid_time: duration, // JWTIS's own spelling, accepted for its clients
        },
        ['kid'],
      ),
    },
    async (request, reply) => {
      const b = request.body
      requireClient(request, b.kid, b.client_token)
      const result = await issuer.issue(b.kid, {
        ...buildClaimSet(b.claims ?? {}),
        refresh: true,
        refreshTtlMs: ms(b.refresh_token_valid_time ?? b.resresh_token_valid_time, 'refresh_token_valid_time'),
        ttlMs: ms(b.auth_token_valid_time, 'auth_token_valid_time'),
      })
      metrics.issued.inc()
      return reply.code(201).send(result)
    },
  )

  const refreshBody = {
    client_token: {type: 'string'},
    kid: {minLength: 1, type: 'string'},
    refresh_token: {maxLength: 64 * 1024, minLength: 1, type: 'string'},
  }

  app.post<{Body: {client_token?: string; kid: string; refresh_strategy?: RefreshStrategy; refresh_token: string}}>(
    '/renew_token',
    {schema: body({...refreshBody, refresh_strategy: strategy}, ['kid', 'refresh_token'])},
    async (request, reply) => {
      const b = request.body
      requireClient(request, b.kid, b.client_token)
      const result = await issuer.renew(b.kid, b.refresh_token, b.refresh_strategy)
      metrics.renewed.inc()
      return reply.code(201).send(result)
    },
  )

  app.post<{Body: {client_token?: string; kid: string; refresh_token: string}}>(
    '/revoke_token',
    {schema: body(refreshBody, ['kid', 'refresh_token'])},
    async (request, reply) => {
      requireClient(request, request.body.kid, request.body.client_token)
      await issuer.revokeRefreshToken(request.body.refresh_token, request.body.kid)
      return reply.code(204).send()
    },
  )

  app.get('/.well-known/jwks.json', async (request, reply) => {
    const text = JSON.stringify({keys: issuer.keyring().entries.map((e) => e.jwk)})
    const etag = `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`
    // Short-lived: a rotation's new key signs at once, and verifiers refetch on an unknown kid.
    reply.header('cache-control', 'public, max-age=60').header('etag', etag).type('application/json')
    if (request.headers['if-none-match'] === etag) return reply.code(304).send()
    return reply.send(text)
  })

  app.get('/ping', async (_request, reply) => reply.type('text/plain').send('pong'))
  app.get('/health', async () => {
    await (await issuer.store()).ping() // 503 STORE_UNAVAILABLE when, say, Redis is down
    return {
      clients: Object.keys(issuer.vault.document.clients).length,
      status: 'ok',
      uptime_seconds: Math.round(process.uptime()),
    }
  })
  app.get('/metrics', async (_request, reply) => reply.type('text/plain; version=0.0.4').send(metrics.render()))

  return {app, metrics}
}
