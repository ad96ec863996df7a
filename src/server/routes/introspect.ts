import type {FastifyInstance} from 'fastify'

import type {Issuer} from '../../core/issuer.js'

import {TokenRejectedError} from '../../common/errors.js'
import {body, token} from '../schemas.js'

/**
 * RFC 7662 `POST /introspect`: the token comes form-encoded; anything that does not verify, has
 * expired or was logged out is simply inactive. A client learns only about its own tokens (§4):
 * verified with its keys alone, another client's token is inactive, and an encrypted one is never
 * opened. The admin token (and --auth none) may ask about any.
 */
export async function introspectRoutes(app: FastifyInstance, {issuer}: {issuer: Issuer}) {
  app.post<{Body: {token: string; token_type_hint?: string}}>(
    '/introspect',
    {
      config: {access: 'admin or client', forms: true},
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
