import type {FastifyReply, FastifyRequest} from 'fastify'

import {createHash} from 'node:crypto'

import type {RefreshStrategy} from '../core/algorithms.js'
import type {Issuer} from '../core/issuer.js'

import {buildClaimSet} from '../core/claims.js'
import {addClient, clientKeysView, getClient} from '../core/clients.js'
import {durationFromJson} from '../core/duration.js'
import {JwtisError, TokenRejectedError} from '../core/errors.js'
import {textDepth} from '../core/limits.js'
import {redact} from '../core/redact.js'
import {hashesEqual, hashSecret} from '../core/secrets.js'
import {Metrics} from './metrics.js'
import {FailureLimiter} from './ratelimit.js'

export interface ServerOptions {
  /** Compared in constant time; registration needs it. */
  adminToken: string
  /** Largest request body accepted (413 past it). */
  bodyLimit?: number
  issuer: Issuer
  /** How long an idle keep-alive connection stays open (ms). */
  keepAliveTimeoutMs?: number
  /** Failed authentications per address per minute before 429. */
  maxAuthFailures?: number
  /** Connections open at once; more are refused by the kernel's backlog, not served. */
  maxConnections?: number
  /** How long a client has to send a whole request, headers and body (ms); 408 past it. */
  requestTimeoutMs?: number
  /** Take the client address from X-Forwarded-For (only behind a reverse proxy you run). */
  trustProxy?: boolean
}

export const SERVER_DEFAULTS = {
  keepAliveTimeoutMs: 5000,
  maxConnections: 4096,
  requestTimeoutMs: 10_000,
} as const

/** Request bodies nest no deeper than this: checked on the text, before any parser recurses. */
const MAX_BODY_DEPTH = 40

type Auth = 'admin' | 'client'

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: Auth
  }

  interface FastifyRequest {
    /** The client whose token authenticated this request. */
    client?: string
  }
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
export async function buildServer(options: ServerOptions) {
  const {fastify} = await import('fastify')
  const {issuer} = options
  const metrics = new Metrics()
  const limiter = new FailureLimiter(options.maxAuthFailures ?? 10)
  const adminHash = hashSecret(options.adminToken)
  const requestTimeout = options.requestTimeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs
  const app = fastify({
    ajv: {customOptions: {coerceTypes: false, removeAdditional: false}},
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    clientErrorHandler,
    // Router-level failures (bad %-encoding, an over-long kid) answer in the contract's shape too.
    frameworkErrors(error, _request, reply) {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      const answer = reply as unknown as FastifyReply
      answer.code(tooLong ? 414 : 400).send({
        error: tooLong
          ? {code: 'URI_TOO_LONG', message: 'a path parameter is longer than 128 characters'}
          : {code: 'BAD_REQUEST', message: 'malformed request URL (bad %-encoding?)'},
      })
    },
    http: {
      // Node checks its timeouts on this interval (30 s by default): check often enough that
      // a slow client is cut off close to its deadline.
      connectionsCheckingInterval: Math.min(1000, requestTimeout),
      headersTimeout: requestTimeout,
      requestTimeout,
    },
    keepAliveTimeout: options.keepAliveTimeoutMs ?? SERVER_DEFAULTS.keepAliveTimeoutMs,
    logger: false,
    maxParamLength: 128,
    requestTimeout,
    // Our own 503 on closing (below), so that it has the contract's shape.
    return503OnClosing: false,
    trustProxy: options.trustProxy ?? false,
  })
  app.server.maxConnections = options.maxConnections ?? SERVER_DEFAULTS.maxConnections
  let closing = false

  // JSON only: a text body is refused (415) rather than parsed into a string. JSON is checked
  // for depth on its text first; fastify's own parser then refuses __proto__ and
  // constructor.prototype keys.
  app.removeContentTypeParser('text/plain')
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('application/json', {parseAs: 'string'}, (request, text, done) => {
    if (textDepth(text as string, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
      done(new HttpError(400, 'USAGE', `the JSON body nests deeper than ${MAX_BODY_DEPTH} levels`))
      return
    }

    parseJson(request, text as string, done)
  })
  app.addHook('onRequest', async (request, reply) => {
    ;(request as {startedAt?: bigint}).startedAt = process.hrtime.bigint()
    if (closing) {
      reply.header('connection', 'close')
      throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down: retry on another instance')
    }

    // Authenticate from the headers alone, before a byte of the body is read.
    const {auth} = request.routeOptions.config
    if (auth === 'admin') requireAdmin(request)
    else if (auth === 'client') request.client = authenticateClient(request)
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

      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return reply
          .code(415)
          .send({error: {code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json'}})
      }

      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return reply.code(error.statusCode).send({error: {code: 'BAD_REQUEST', message: error.message}})
      }

      // A stack overflow or any other bug: one redacted line on stderr, never details to the client.
      process.stderr.write(`jwtis serve: internal error: ${redact(error.message)}\n`)
      return reply.code(500).send({error: {code: 'INTERNAL', message: 'internal error'}})
    },
  )

  /** The bearer secret of a request; failures count towards the address's rate limit. */
  function bearer(request: FastifyRequest): string {
    const wait = limiter.blockedFor(request.ip)
    if (wait > 0)
      throw new HttpError(429, 'RATE_LIMITED', 'too many failed authentications: retry later', {
        'retry-after': String(wait),
      })
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')
    if (!match) {
      limiter.fail(request.ip)
      throw new HttpError(
        401,
        'UNAUTHORIZED',
        'missing Authorization: Bearer <client_token> (the token `jwtis client add` or POST /register printed)',
        {'www-authenticate': 'Bearer'},
      )
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

  /** Client token hashes → client names, rebuilt when the vault document changes. */
  let tokenIndex: undefined | {doc: unknown; names: Map<string, string>}
  function clientByTokenHash(hash: string): string | undefined {
    const doc = issuer.vault.document
    if (tokenIndex?.doc !== doc) {
      tokenIndex = {doc, names: new Map(Object.entries(doc.clients).map(([name, c]) => [c.tokenHash, name]))}
    }

    return tokenIndex.names.get(hash)
  }

  /** The client a bearer token belongs to (the body is not read yet: it names the kid). */
  function authenticateClient(request: FastifyRequest): string {
    const name = clientByTokenHash(hashSecret(bearer(request)))
    if (name !== undefined) return name
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
      config: {auth: 'admin'},
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
      kid: string
      refresh_token_valid_time?: number | string
      resresh_token_valid_time?: number | string
    }
  }>(
    '/issue_token',
    {
      config: {auth: 'client'},
      schema: body(
        {
          auth_token_valid_time: duration,
          claims: {type: 'object'},
          kid: {minLength: 1, type: 'string'},
          refresh_token_valid_time: duration,
          resresh_token_valid_time: duration, // JWTIS's own spelling, accepted for its clients
        },
        ['kid'],
      ),
    },
    async (request, reply) => {
      const b = request.body
      requireOwnKid(request, b.kid)
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
    kid: {minLength: 1, type: 'string'},
    refresh_token: {maxLength: 64 * 1024, minLength: 1, type: 'string'},
  }

  app.post<{Body: {kid: string; refresh_strategy?: RefreshStrategy; refresh_token: string}}>(
    '/renew_token',
    {config: {auth: 'client'}, schema: body({...refreshBody, refresh_strategy: strategy}, ['kid', 'refresh_token'])},
    async (request, reply) => {
      const b = request.body
      requireOwnKid(request, b.kid)
      const result = await issuer.renew(b.kid, b.refresh_token, b.refresh_strategy)
      metrics.renewed.inc()
      return reply.code(201).send(result)
    },
  )

  app.post<{Body: {kid: string; refresh_token: string}}>(
    '/revoke_token',
    {config: {auth: 'client'}, schema: body(refreshBody, ['kid', 'refresh_token'])},
    async (request, reply) => {
      requireOwnKid(request, request.body.kid)
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

  return {
    app,
    /** From now on every new request answers 503 SHUTTING_DOWN (requests in flight finish). */
    beginClose() {
      closing = true
    },
    limiter,
    metrics,
  }
}

/** A client acts only as itself: its token must be the one registered for `kid`. */
function requireOwnKid(request: FastifyRequest, kid: string): void {
  if (request.client !== kid) {
    throw new HttpError(403, 'FORBIDDEN', `this client token is not ${kid}'s: a client acts only with its own kid`)
  }
}

/**
 * Answers what the HTTP parser refused (malformed request, headers too large, a request not
 * received in time) in the contract's error shape, then closes the connection.
 */
function clientErrorHandler(error: Error & {code?: string}, socket: import('node:net').Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'the request was not received in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'the request headers are too large']
        : [400, 'BAD_REQUEST', 'malformed HTTP request']
  const body = JSON.stringify({error: {code, message}})
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${code.replaceAll('_', ' ')}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  }

  socket.destroy()
}
