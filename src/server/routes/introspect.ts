import type {FastifyError, FastifyInstance} from 'fastify'

import type {OAuthContext} from '../oauth/context.js'

import {TokenRejectedError} from '../../common/errors.js'
import {HttpError} from '../errors.js'
import {introspectionClient} from '../oauth/client-auth.js'
import {oauthErrorHandler} from '../oauth/errors.js'
import {body, token} from '../schemas.js'

const NO_CREDENTIAL =
  'introspection needs the client token (Authorization: Bearer) or client credentials (client_secret_basic, client_secret_post, private_key_jwt)'

/** The form parameters of the OAuth client authentications (RFC 6749 §2.3.1, RFC 7523 §2.2). */
const clientAuthFields = {
  client_assertion: token,
  client_assertion_type: {maxLength: 256, type: 'string'},
  client_id: {maxLength: 256, type: 'string'},
  client_secret: {maxLength: 1024, type: 'string'},
}

/**
 * RFC 7662 `POST /introspect`: the token comes form-encoded, an access token or a refresh token
 * (active while it would renew); anything that does not verify, has expired, was spent, revoked
 * or logged out is simply inactive. A client learns only about its own tokens (§4):
 * verified with its keys alone, another client's token is inactive, and an encrypted one is never
 * opened. The admin token (and --auth none) may ask about any. A client authenticates with its
 * bearer token or as at the token endpoint (client_secret_basic, _post, private_key_jwt).
 */
export async function introspectRoutes(app: FastifyInstance, {ctx}: {ctx: OAuthContext}) {
  const {issuer} = ctx
  app.post<{Body: {token: string; token_type_hint?: string}}>(
    '/introspect',
    {
      config: {access: 'admin or client', forms: true, oauthClients: true},
      // RFC 7662 §2.3: a client that authenticated as at the token endpoint is told of its
      // failure as there (RFC 6749 §5.2); the bearer and admin tokens keep the API's own errors.
      async preHandler(request, reply) {
        if (!request.clientAuthPending) return
        let client: string | undefined
        try {
          client = await introspectionClient(ctx, request)
        } catch (error) {
          return oauthErrorHandler(error as FastifyError, request, reply)
        }

        // no credential of any kind: the API's own answer, as for every other client route
        if (client === undefined)
          throw new HttpError(401, 'UNAUTHORIZED', NO_CREDENTIAL, {'www-authenticate': 'Bearer'})
        request.client = client
      },
      schema: body({...clientAuthFields, token, token_type_hint: {maxLength: 64, type: 'string'}}, ['token']),
    },
    async (request) => {
      const {token: given, token_type_hint: hint} = request.body
      // The envelope is the server's: a custom claim named like one of its members (`active`,
      // `token_type`, ...) must not change what the answer says about the token.
      const access = async () => {
        const {key, payload} = await issuer.verify(given, {checkRevoked: true, client: request.client, leewayMs: 0})
        return {...payload, active: true, client_id: key.client, token_type: 'Bearer'}
      }

      // (a refresh token is a JWE; read as its family stands, never spent by being asked about)
      const refresh = async () => ({
        ...(await issuer.introspectRefresh(given, request.client)),
        active: true,
        token_type: 'refresh_token',
      })
      // RFC 7662 §2.1: the hint orders the search, and a token not found as hinted is looked for as the other kind
      const kinds =
        given.split('.').length === 5 ? (hint === 'refresh_token' ? [refresh, access] : [access, refresh]) : [access]
      for (const kind of kinds) {
        try {
          return await kind()
        } catch (error) {
          if (!(error instanceof TokenRejectedError)) throw error
        }
      }

      return {active: false}
    },
  )
}
