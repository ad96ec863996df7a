import type {FastifyInstance, FastifyReply, FastifyRequest} from 'fastify'

import type {Issuer} from '../../core/issuer.js'

import {AuthorizationError, userInfo} from '../../core/authorization.js'

/**
 * OpenID Connect Core §5.3 `GET`/`POST /userinfo` (with `serve --dev-login`): the claims of the
 * user a Bearer access token was issued for. Failures answer as RFC 6750 §3 says: 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"`, 403 `insufficient_scope` without `openid`.
 */
export async function userinfoRoutes(app: FastifyInstance, {issuer}: {issuer: Issuer}): Promise<void> {
  const answer = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store')
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
    // RFC 6750 §3.1: a request without credentials is told how to authenticate, without an error code.
    if (token === undefined) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({error: 'invalid_request', error_description: 'send the access token as Authorization: Bearer'})
    }

    try {
      return await userInfo(issuer, token)
    } catch (error) {
      if (!(error instanceof AuthorizationError)) throw error
      // A header value takes printable ASCII only (Node throws on anything else), and the message
      // may quote the unverified token's kid or alg; in a quoted-string, " and \ would end it.
      const description = error.description.replaceAll(/[^\u0020-\u007E]/g, '?').replaceAll(/["\\]/g, "'")
      return reply
        .code(error.error === 'insufficient_scope' ? 403 : 401)
        .header('www-authenticate', `Bearer error="${error.error}", error_description="${description}"`)
        .send({error: error.error, error_description: error.description})
    }
  }

  app.get('/userinfo', answer)
  app.post('/userinfo', {config: {forms: true}}, answer)
}
