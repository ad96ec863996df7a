import type {FastifyRequest} from 'fastify'

import type {Issuer} from '../core/issuer.js'

import {clientForToken} from '../core/clients.js'
import {hashesEqual, hashSecret} from '../core/secrets.js'
import {HttpError} from './errors.js'
import {FailureLimiter} from './ratelimit.js'

/**
 * Who may call a route: the admin token holder, a registered client, or either (introspection,
 * where the admin may ask about any client's tokens).
 */
export type Access = 'admin' | 'admin or client' | 'client'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
    /**
     * The route also takes the OAuth client authentications (client_secret_basic and _post,
     * private_key_jwt): without a bearer token, they are checked once the form is read
     * (`clientAuthPending`), by ./oauth/client-auth.ts.
     */
    oauthClients?: boolean
  }

  interface FastifyRequest {
    /** The client whose token authenticated this request (absent with `--auth none` or the admin token). */
    client?: string
    /** No bearer token on a route with `oauthClients`: the route authenticates the client from its form. */
    clientAuthPending?: boolean
  }
}

export interface AuthOptions {
  adminToken: string
  issuer: Issuer
  maxAuthFailures: number
  /** `none`: JWTIS v0.1's unauthenticated API, for its existing clients (loopback only). */
  mode: 'none' | 'token'
}

/**
 * Authentication from the request headers alone, run before any body is read: the admin token
 * for registration, a client token for the client routes. A valid credential always passes;
 * failures count per address (IPv6: per /64) and past the limit answer 429.
 */
export function createAuth(options: AuthOptions) {
  const limiter = new FailureLimiter(options.maxAuthFailures)
  const adminHash = hashSecret(options.adminToken)
  const {issuer} = options

  return {
    /** The `onRequest` check of a route with `config.access`. */
    authenticate(request: FastifyRequest): void {
      const {access} = request.routeOptions.config
      if (access === undefined || options.mode === 'none') return
      const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
      if (presented === undefined && request.routeOptions.config.oauthClients) {
        request.clientAuthPending = true
        return
      }

      // Checked before the limiter: one caller's failures must not lock out the valid clients
      // that share its address (all of them, behind a reverse proxy). A check is one SHA-256,
      // so a flood of bad credentials stays cheap.
      if (presented !== undefined) {
        const client = access === 'admin' ? undefined : clientForToken(issuer.vault.document, presented)
        const admin = client === undefined && access !== 'client' && hashesEqual(hashSecret(presented), adminHash)
        request.client = client
        if (client !== undefined || admin) return
      }

      throw failedAuthentication(limiter, request.ip) ?? refusal(access, presented !== undefined)
    },
    limiter,
  }
}

/**
 * One failed authentication from `address`, whichever route and method: counted, or, past the
 * limit, the 429 to answer instead.
 */
export function failedAuthentication(limiter: FailureLimiter, address: string): HttpError | undefined {
  const wait = limiter.blockedFor(address)
  if (wait > 0) {
    return new HttpError(429, 'RATE_LIMITED', 'too many failed authentications from this address: retry later', {
      'retry-after': String(wait),
    })
  }

  limiter.fail(address)
}

function refusal(access: Access, presented: boolean): HttpError {
  if (access === 'admin') {
    const message = presented
      ? 'the admin token is required to register clients'
      : 'registering a client needs Authorization: Bearer <admin token>'
    return new HttpError(401, 'UNAUTHORIZED', message, {'www-authenticate': 'Bearer'})
  }

  if (presented) {
    return new HttpError(401, 'UNAUTHORIZED', 'invalid client token', {
      'www-authenticate': 'Bearer error="invalid_token"',
    })
  }

  return new HttpError(
    401,
    'UNAUTHORIZED',
    'missing Authorization: Bearer <client_token> (the token `jwtis client add` or POST /register printed); JWTIS v0.1 clients that send none need `jwtis serve --auth none`',
    {'www-authenticate': 'Bearer'},
  )
}

/** A client acts only as itself: its token must be the one registered for `kid`. */
export function requireOwnKid(request: FastifyRequest, kid: string): void {
  if (request.client !== undefined && request.client !== kid) {
    throw new HttpError(403, 'FORBIDDEN', `this client token is not ${kid}'s: a client acts only with its own kid`)
  }
}
