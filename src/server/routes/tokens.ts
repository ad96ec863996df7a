import type {FastifyInstance} from 'fastify'

import type {Issuer} from '../../core/issuer.js'
import type {RefreshStrategy} from '../../jose/algorithms.js'
import type {Metrics} from '../metrics.js'

import {TokenRejectedError} from '../../common/errors.js'
import {buildClaimSet} from '../../jose/claims.js'
import {requireOwnKid} from '../auth.js'
import {body, duration, fingerprint, kid, ms, strategy, token} from '../schemas.js'

interface IssueBody {
  auth_token_valid_time?: number | string
  claims?: Record<string, unknown>
  encrypt?: boolean
  fingerprint?: string
  kid: string
  refresh_token_valid_time?: number | string
  resresh_token_valid_time?: number | string
}

interface RenewBody {
  fingerprint?: string
  kid: string
  refresh_strategy?: RefreshStrategy
  refresh_token: string
}

/** Token routes: JWTIS's issue, renew and revoke, plus logout and RFC 7662 introspection. */
export async function tokenRoutes(app: FastifyInstance, {issuer, metrics}: {issuer: Issuer; metrics: Metrics}) {
  app.post<{Body: IssueBody}>(
    '/issue_token',
    {
      config: {access: 'client'},
      schema: body(
        {
          auth_token_valid_time: duration,
          claims: {type: 'object'},
          encrypt: {type: 'boolean'},
          fingerprint,
          kid,
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
        encrypt: b.encrypt,
        fingerprint: b.fingerprint,
        refresh: true,
        refreshTtlMs: ms(b.refresh_token_valid_time ?? b.resresh_token_valid_time, 'refresh_token_valid_time'),
        ttlMs: ms(b.auth_token_valid_time, 'auth_token_valid_time'),
      })
      metrics.issued.inc()
      return reply.code(201).send(result)
    },
  )

  app.post<{Body: RenewBody}>(
    '/renew_token',
    {
      config: {access: 'client'},
      schema: body({fingerprint, kid, refresh_strategy: strategy, refresh_token: token}, ['kid', 'refresh_token']),
    },
    async (request, reply) => {
      const b = request.body
      requireOwnKid(request, b.kid)
      const result = await issuer.renew(b.kid, b.refresh_token, {
        fingerprint: b.fingerprint,
        strategy: b.refresh_strategy,
      })
      metrics.renewed.inc()
      return reply.code(201).send(result)
    },
  )

  app.post<{Body: {kid: string; refresh_token: string}}>(
    '/revoke_token',
    {config: {access: 'client'}, schema: body({kid, refresh_token: token}, ['kid', 'refresh_token'])},
    async (request, reply) => {
      requireOwnKid(request, request.body.kid)
      await issuer.revokeRefreshToken(request.body.refresh_token, request.body.kid)
      return reply.code(204).send()
    },
  )

  app.post<{Body: {kid: string; sub: string}}>(
    '/logout',
    {
      config: {access: 'client'},
      schema: body({kid, sub: {maxLength: 1024, minLength: 1, type: 'string'}}, ['kid', 'sub']),
    },
    async (request, reply) => {
      requireOwnKid(request, request.body.kid)
      await issuer.logout(request.body.kid, request.body.sub)
      return reply.code(204).send()
    },
  )

  // RFC 7662: the token comes form-encoded; anything that does not verify, has expired or was
  // logged out is simply inactive. A client learns only about its own tokens (§4): verified with
  // its keys alone, another client's token is inactive, and an encrypted one is never opened.
  // The admin token (and --auth none) may ask about any.
  app.post<{Body: {token: string; token_type_hint?: string}}>(
    '/introspect',
    {
      config: {access: 'admin or client'},
      schema: body({token, token_type_hint: {maxLength: 64, type: 'string'}}, ['token']),
    },
    async (request) => {
      try {
        const {key, payload} = await issuer.verify(request.body.token, {
          checkRevoked: true,
          client: request.client,
          leewayMs: 0,
        })
        // The envelope is the server's: a custom claim named like one of its members (`active`,
        // `token_type`, ...) must not change what the answer says about the token.
        return {...payload, active: true, client_id: key.client, token_type: 'Bearer'}
      } catch (error) {
        if (error instanceof TokenRejectedError) return {active: false}
        throw error
      }
    },
  )
}
