import type {FastifyInstance} from 'fastify'

import type {Issuer} from '../core/issuer.js'
import type {LogLevel} from './schemas.js'

import {createAuth} from './auth.js'
import {clientErrorHandler, errorHandler, frameworkErrors, notFound} from './errors.js'
import {requestIds, textLog, textStream} from './log.js'
import {Metrics} from './metrics.js'
import {oauthContext} from './oauth/context.js'
import {GRANTS} from './oauth/grants.js'
import {accessLog} from './plugins/access-log.js'
import {bodyParsers} from './plugins/body.js'
import {requestGate} from './plugins/gate.js'
import {clientRoutes} from './routes/clients.js'
import {healthRoutes} from './routes/health.js'
import {introspectRoutes} from './routes/introspect.js'
import {issueRoutes} from './routes/issue.js'
import {keyRoutes} from './routes/keys.js'
import {oauthMetadataRoutes} from './routes/oauth-metadata.js'
import {oauthTokenRoutes} from './routes/oauth-token.js'
import {renewRoutes} from './routes/renew.js'
import {revokeRoutes} from './routes/revoke.js'

export interface ServerOptions {
  /** Compared in constant time; registration needs it. */
  adminToken: string
  /** `none`: JWTIS v0.1's unauthenticated API for its existing clients (the command allows it on loopback only). */
  auth?: 'none' | 'token'
  /** Largest request body accepted (413 past it). */
  bodyLimit?: number
  /** Serve the token debugger page at /debug (the command turns it on for loopback listeners). */
  debugPage?: boolean
  /**
   * The authorization code flow with a development login page that authenticates nobody
   * (/authorize, /userinfo; the command allows it on loopback only).
   */
  devLogin?: boolean
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
  /** With several workers: the text of /metrics summed over all of them (see cluster-metrics.ts). */
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

/**
 * The HTTP API of `jwtis serve`: JWTIS v0.1's routes and bodies over the same Issuer the CLI
 * uses. Every route has a JSON schema; unknown fields are rejected; authentication happens on
 * the headers, before any body is read; every error is `{"error":{"code","message"}}` without
 * a stack. What every request goes through is in ./plugins, one route plugin per resource in
 * ./routes, authentication in ./auth.ts; starting and stopping it is ./instance.ts (with workers: ./run.ts,
 * ./supervisor.ts, ./worker.ts).
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
  const logLevel = options.logLevel ?? 'silent'
  const app = fastify({
    ...fastifyOptions(options, logLevel),
    // fastify's own request lines would be two per request and carry the query string: ours
    // (./plugins/access-log.ts) is one, and says only what is safe to keep.
    logController: new LogController({disableRequestLogging: true}),
  })
  app.server.maxConnections = options.maxConnections ?? SERVER_DEFAULTS.maxConnections

  bodyParsers(app)
  const {beginClose} = requestGate(app, {auth, issuer})
  accessLog(app, {accessLog: logLevel === 'info' || logLevel === 'debug' || logLevel === 'trace', metrics})
  app.setNotFoundHandler(notFound(routeMethods(app)))
  app.setErrorHandler(errorHandler(metrics, logLevel !== 'silent'))

  await app.register(clientRoutes, {issuer})
  const oauth = oauthContext(app, {
    ...(options.devLogin ? await devLoginSeams(issuer) : {grants: GRANTS}),
    issuer,
    limiter: auth.limiter,
    publicUrl: options.publicUrl,
  })
  await app.register(keyRoutes, {issuer})
  await app.register(oauthMetadataRoutes, {ctx: oauth})
  await app.register(oauthTokenRoutes, {ctx: oauth})
  await app.register(issueRoutes, {issuer, metrics})
  await app.register(renewRoutes, {issuer, metrics})
  await app.register(revokeRoutes, {issuer})
  await app.register(introspectRoutes, {ctx: oauth})
  const {metricsText} = options
  await app.register(healthRoutes, {issuer, metrics, metricsText: metricsText && (() => metricsText(metrics))})
  const {debugOffRoutes, debugRoutes} = await import('./routes/debug.js')
  await (options.debugPage ? app.register(debugRoutes, {issuer}) : app.register(debugOffRoutes))

  if (options.devLogin) {
    const {authorizeRoutes} = await import('./routes/authorize.js')
    const {userinfoRoutes} = await import('./routes/userinfo.js')
    await app.register(authorizeRoutes, {issuer})
    await app.register(userinfoRoutes, {issuer})
  }

  return {
    app,
    /** From now on every new request answers 503 SHUTTING_DOWN (requests in flight finish). */
    beginClose,
    limiter: auth.limiter,
    metrics,
  }
}

/**
 * The methods each path is routed for, as routes are added (so registered before them): a path
 * matches a route's URL with each `:param` standing for one segment and `*` for the rest.
 */
function routeMethods(app: FastifyInstance) {
  const routes: Array<{methods: string[]; pattern: RegExp}> = []
  app.addHook('onRoute', ({method, url}) => {
    const source = url
      .split('/')
      .map((part) =>
        part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replaceAll(/[.*+?^${}()|[\]\\]/g, String.raw`\$&`),
      )
      .join('/')
    routes.push({methods: [method].flat(), pattern: new RegExp(`^${source}$`)})
  })
  return (path: string) => [
    ...new Set(routes.filter((route) => route.pattern.test(path)).flatMap((route) => route.methods)),
  ]
}

/**
 * What `--dev-login` adds to the OAuth endpoints: the `authorization_code` grant and the OpenID
 * Provider's metadata (its routes, /authorize and /userinfo, are registered apart).
 */
async function devLoginSeams(issuer: Issuer) {
  const {authorizationCodeGrant} = await import('./oauth/code-grant.js')
  const {codeFlowMetadata} = await import('./oauth/provider-metadata.js')
  return {
    devLogin: true,
    grants: {...GRANTS, authorization_code: authorizationCodeGrant},
    providerMetadata: (base: string) => codeFlowMetadata(base, issuer.vault.document),
  }
}

/** The fastify instance's own settings: timeouts, limits, logger, proxy trust. */
function fastifyOptions(options: ServerOptions, logLevel: LogLevel) {
  const requestTimeout = options.requestTimeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs
  return {
    ajv: {customOptions: {coerceTypes: false, removeAdditional: false}},
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    clientErrorHandler,
    frameworkErrors,
    genReqId: requestIds(),
    http: {
      // Node checks its timeouts on this interval (30 s by default): check often enough that
      // a slow client is cut off close to its deadline.
      connectionsCheckingInterval: Math.min(1000, requestTimeout),
      headersTimeout: requestTimeout,
      requestTimeout,
    },
    keepAliveTimeout: options.keepAliveTimeoutMs ?? SERVER_DEFAULTS.keepAliveTimeoutMs,
    logger:
      logLevel === 'silent'
        ? false
        : {base: {pid: process.pid}, level: logLevel, stream: textLog() ? textStream : process.stderr},
    // (the incoming X-Request-Id is read by genReqId, which checks it first)
    requestIdHeader: false as const,
    requestTimeout,
    // Our own 503 on closing (./plugins/gate.ts), so that it has the contract's shape.
    return503OnClosing: false,
    routerOptions: {maxParamLength: 128},
    // One hop: the address the reverse proxy appended (the last X-Forwarded-For entry). Entries
    // before it are whatever the caller sent, and would let one caller pass for many.
    trustProxy: options.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
  }
}
