import type {FastifyInstance} from 'fastify'

import type {Issuer} from '../../core/issuer.js'

import {requireOwnKid} from '../auth.js'
import {body, kid, token} from '../schemas.js'

/** Ending sessions: `POST /revoke_token` (one refresh family) and `POST /logout` (every family of a subject). */
export async function revokeRoutes(app: FastifyInstance, {issuer}: {issuer: Issuer}) {
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
}
