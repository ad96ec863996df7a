import type {FastifyInstance} from 'fastify'

import type {Issuer} from '../../core/issuer.js'
import type {RefreshStrategy} from '../../jose/algorithms.js'
import type {Metrics} from '../metrics.js'

import {requireOwnKid} from '../auth.js'
import {body, fingerprint, kid, strategy, token} from '../schemas.js'

interface RenewBody {
  fingerprint?: string
  kid: string
  refresh_strategy?: RefreshStrategy
  refresh_token: string
}

/** JWTIS's `POST /renew_token`: a refresh token exchanged for new tokens (rotation and reuse detection in the issuer). */
export async function renewRoutes(app: FastifyInstance, {issuer, metrics}: {issuer: Issuer; metrics: Metrics}) {
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
}
