import type {Issuer} from '../core/issuer.js'
import type {LogLevel} from './schemas.js'

import {textDepth} from '../common/limits.js'
import {createAuth} from './auth.js'
import {clientErrorHandler, errorHandler, frameworkErrors, HttpError, notFound} from './errors.js'
import {Metrics} from './metrics.js'
import {clientRoutes} from './routes/clients.js'
import {metaRoutes} from './routes/meta.js'
import {tokenRoutes} from './routes/tokens.js'

export interface ServerOptions {
  /** Compared in constant time; registration needs it. */
  adminToken: string
  /** `none`: JWTIS v0.1's unauthenticated API for its existing clients (the command allows it on loopback only). */
  auth?: 'none' | 'token'
  /** Largest request body accepted (413 past it). */
  bodyLimit?: number
  /** Serve the token debugger page at /debug (the command turns it on for loopback listeners). */
  debugPage?: boolean
  issuer: Issuer
  /** How long an idle keep-alive connection stays open (ms). */
  keepAliveTimeoutMs?: number
  /**
   * The access log on stderr: one JSON line per request at `info` (method, path without its
   * query, route, status, time, address, client), never a header or a body, so never a token.
   * Internal errors at `error`. Default `silent`.
   */
  logLevel?: LogLevel
  /** Failed authentications per address per minute before 429. */
  maxAuthFailures?: number
  /** Connections open at once; further ones are closed at once. */
  maxConnections?: number
  /** With several workers: the text of /metrics summed over all of them (see run.ts). */
  metricsText?: (local: Metrics) => Promise<string>
  /**
   * Where verifiers reach this server (`--public-url`, checked by `publicBase`): the base of the
   * discovery document's URLs. Without it: the issuer when it is a URL, else the listen address.
   */
  publicUrl?: string
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

/**
 * The HTTP API of `jwtis serve`: JWTIS v0.1's routes and bodies over the same Issuer the CLI
 * uses. Every route has a JSON schema; unknown fields are rejected; authentication happens on
 * the headers, before any body is read; every error is `{"error":{"code","message"}}` without
 * a stack. Route groups live in ./routes, authentication in ./auth.ts.
 */
export async function buildServer(options: ServerOptions) {
  const {fastify, LogController} = await import('fastify')
  const {issuer} = options
  const metrics = new Metrics()
  const auth = createAuth({
    adminToken: options.adminToken,
    issuer,
    maxAuthFailures: options.maxAuthFailures ?? 10,
    mode: options.auth ?? 'token',
  })
  metrics.sample = () => metrics.limited.set(auth.limiter.size)
  const requestTimeout = options.requestTimeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs
  const logLevel = options.logLevel ?? 'silent'
  const accessLog = logLevel === 'info' || logLevel === 'debug' || logLevel === 'trace'
  const app = fastify({
    ajv: {customOptions: {coerceTypes: false, removeAdditional: false}},
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    clientErrorHandler,
    frameworkErrors,
    http: {
      // Node checks its timeouts on this interval (30 s by default): check often enough that
      // a slow client is cut off close to its deadline.
      connectionsCheckingInterval: Math.min(1000, requestTimeout),
      headersTimeout: requestTimeout,
      requestTimeout,
    },
    keepAliveTimeout: options.keepAliveTimeoutMs ?? SERVER_DEFAULTS.keepAliveTimeoutMs,
    // fastify's own request lines would be two per request and carry the query string: ours
    // (onResponse) is one, and says only what is safe to keep.
    logController: new LogController({disableRequestLogging: true}),
    logger: logLevel === 'silent' ? false : {base: {pid: process.pid}, level: logLevel, stream: process.stderr},
    requestTimeout,
    // Our own 503 on closing (below), so that it has the contract's shape.
    return503OnClosing: false,
    routerOptions: {maxParamLength: 128},
    // One hop: the address the reverse proxy appended (the last X-Forwarded-For entry). Entries
    // before it are whatever the caller sent, and would let one caller pass for many.
    trustProxy: options.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
  })
  app.server.maxConnections = options.maxConnections ?? SERVER_DEFAULTS.maxConnections
  let closing = false

  // JSON, and form-encoded for RFC 7662 introspection; a text body is refused (415). JSON is
  // checked for depth on its text first; fastify's own parser then refuses __proto__ and
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
  app.addContentTypeParser('application/x-www-form-urlencoded', {parseAs: 'string'}, (_request, text, done) => {
    const form: Record<string, string> = Object.create(null)
    for (const [name, value] of new URLSearchParams(text as string)) form[name] = value
    done(null, form)
  })

  app.addHook('onRequest', async (request, reply) => {
    ;(request as {startedAt?: bigint}).startedAt = process.hrtime.bigint()
    if (closing) {
      reply.header('connection', 'close')
      throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down: retry on another instance')
    }

    // Read-your-writes across workers and processes: a client registered or a key rotated a
    // moment ago elsewhere is seen by this request. A vault that fails to re-read keeps the
    // last good snapshot (the reload loop in run.ts reports it).
    if (issuer.vault.changedElsewhere()) await issuer.vault.reload().catch(() => {})
    auth.authenticate(request)
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({method: request.method, route, status: String(reply.statusCode)})
    const started = (request as {startedAt?: bigint}).startedAt ?? process.hrtime.bigint()
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    metrics.duration.observe({route}, seconds)
    if (accessLog) {
      const query = request.url.indexOf('?')
      request.log.info(
        {
          client: request.client,
          method: request.method,
          ms: Math.round(seconds * 1e4) / 10,
          path: (query === -1 ? request.url : request.url.slice(0, query)).slice(0, 200),
          remote: request.ip,
          route,
          status: reply.statusCode,
        },
        'request',
      )
    }
  })
  app.setNotFoundHandler(notFound)
  app.setErrorHandler(errorHandler(metrics, logLevel !== 'silent'))

  await app.register(clientRoutes, {issuer})
  await app.register(tokenRoutes, {issuer, metrics})
  const {metricsText} = options
  await app.register(metaRoutes, {
    issuer,
    metrics,
    metricsText: metricsText && (() => metricsText(metrics)),
    publicUrl: options.publicUrl,
  })
  if (options.debugPage) {
    const {debugRoutes} = await import('./routes/debug.js')
    await app.register(debugRoutes, {issuer})
  }

  return {
    app,
    /** From now on every new request answers 503 SHUTTING_DOWN (requests in flight finish). */
    beginClose() {
      closing = true
    },
    limiter: auth.limiter,
    metrics,
  }
}
