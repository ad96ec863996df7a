import type {FastifyInstance} from 'fastify'

import type {Issuer} from '../../core/issuer.js'
import type {Metrics} from '../metrics.js'

import {buildClaimSet} from '../../jose/claims.js'
import {requireOwnKid} from '../auth.js'
import {body, duration, fingerprint, kid, ms} from '../schemas.js'

interface IssueBody {
  auth_token_valid_time?: number | string
  claims?: Record<string, unknown>
  encrypt?: boolean
  fingerprint?: string
  kid: string
  refresh_token_valid_time?: number | string
  resresh_token_valid_time?: number | string
}

/** JWTIS's `POST /issue_token`: an access token and a refresh token for the client's own kid. */
export async function issueRoutes(app: FastifyInstance, {issuer, metrics}: {issuer: Issuer; metrics: Metrics}) {
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
}
