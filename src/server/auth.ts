import type {FastifyRequest} from 'fastify'

import type {Issuer} from '../core/issuer.js'

import {clientForToken} from '../core/clients.js'
import {hashesEqual, hashSecret} from '../core/secrets.js'
import {HttpError} from './errors.js'
import {FailureLimiter} from './ratelimit.js'

/** Who may call a route: the admin token holder, a registered client, or anyone. */
export type Access = 'admin' | 'client'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
  }

  interface FastifyRequest {
    /** The client whose token authenticated this request (absent with `--auth none`). */
    client?: string
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
 * for registration, a client token for the client routes. Failures count per address (IPv6: per
 * /64) and past the limit answer 429.
 */
export function createAuth(options: AuthOptions) {
  const limiter = new FailureLimiter(options.maxAuthFailures)
  const adminHash = hashSecret(options.adminToken)
  const {issuer} = options

  function bearer(request: FastifyRequest, missing: string): string {
    const wait = limiter.blockedFor(request.ip)
    if (wait > 0) {
      throw new HttpError(429, 'RATE_LIMITED', 'too many failed authentications: retry later', {
        'retry-after': String(wait),
      })
    }

    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')
    if (match) return match[1]
    limiter.fail(request.ip)
    throw new HttpError(401, 'UNAUTHORIZED', missing, {'www-authenticate': 'Bearer'})
  }

  function admin(request: FastifyRequest): void {
    const presented = bearer(request, 'registering a client needs Authorization: Bearer <admin token>')
    if (hashesEqual(hashSecret(presented), adminHash)) return
    limiter.fail(request.ip)
    throw new HttpError(401, 'UNAUTHORIZED', 'the admin token is required to register clients', {
      'www-authenticate': 'Bearer',
    })
  }

  function client(request: FastifyRequest): string {
    const presented = bearer(
      request,
      'missing Authorization: Bearer <client_token> (the token `jwtis client add` or POST /register printed); JWTIS v0.1 clients that send none need `jwtis serve --auth none`',
    )
    const name = clientForToken(issuer.vault.document, presented)
    if (name !== undefined) return name
    limiter.fail(request.ip)
    throw new HttpError(401, 'UNAUTHORIZED', 'invalid client token', {
      'www-authenticate': 'Bearer error="invalid_token"',
    })
  }

  return {
    /** The `onRequest` check of a route with `config.access`. */
    authenticate(request: FastifyRequest): void {
      const {access} = request.routeOptions.config
      if (access === undefined || options.mode === 'none') return
      if (access === 'admin') admin(request)
      else request.client = client(request)
    },
    limiter,
  }
}

/** A client acts only as itself: its token must be the one registered for `kid`. */
export function requireOwnKid(request: FastifyRequest, kid: string): void {
  if (request.client !== undefined && request.client !== kid) {
    throw new HttpError(403, 'FORBIDDEN', `this client token is not ${kid}'s: a client acts only with its own kid`)
  }
}
