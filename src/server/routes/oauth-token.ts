import type {FastifyInstance} from 'fastify'

import type {OAuthContext} from '../oauth/context.js'

import {JWT_BEARER_GRANT, OAuthError, revokeToken} from '../../core/oauth.js'
import {authenticateClient, carriesCredentials} from '../oauth/client-auth.js'
import {OAUTH_PATHS} from '../oauth/context.js'
import {noStore, oauthErrorHandler} from '../oauth/errors.js'
import {formOf, formParser, param, required} from '../oauth/form.js'
import {jwtBearer} from '../oauth/grants.js'

/**
 * The OAuth 2.0 token endpoint (RFC 6749 §3.2) and revocation endpoint (RFC 7009): form-encoded
 * requests, the client authenticated first (./oauth/client-auth.ts), answers never cached, and
 * failures in RFC 6749 §5.2's shape (./oauth/errors.ts). The grant types are ctx.grants.
 */
export async function oauthTokenRoutes(app: FastifyInstance, {ctx}: {ctx: OAuthContext}) {
  formParser(app)
  app.setErrorHandler(oauthErrorHandler)

  app.post(OAUTH_PATHS.token, {config: {forms: true}}, async (request, reply) => {
    const form = formOf(request)
    const grantType = required(form, 'grant_type')
    // RFC 7523 §3.1: client authentication is optional with a jwt-bearer assertion, which its client signed
    if (grantType === JWT_BEARER_GRANT && !carriesCredentials(request, form)) {
      // a public client's client_id, if sent, must name the assertion's issuer
      return noStore(reply).send(await jwtBearer(ctx, form, param(form, 'client_id')))
    }

    const {client, method} = await authenticateClient(ctx, request, form)
    const grant = Object.hasOwn(ctx.grants, grantType) ? ctx.grants[grantType] : undefined
    if (!grant) {
      throw new OAuthError(
        'unsupported_grant_type',
        `grant_type ${JSON.stringify(grantType.slice(0, 100))} is not supported here: use ${Object.keys(ctx.grants).join(', ')}`,
      )
    }

    return noStore(reply).send(await grant({client, ctx, form, method, request}))
  })

  app.post(OAUTH_PATHS.revocation, {config: {forms: true}}, async (request, reply) => {
    const form = formOf(request)
    const token = required(form, 'token')
    // token_type_hint is only a hint (§2.1): the token's own form says what it is
    param(form, 'token_type_hint')
    const {client} = await authenticateClient(ctx, request, form)
    const outcome = await revokeToken(ctx.issuer, client, token)
    if (outcome === 'other_client')
      throw new OAuthError('invalid_request', 'client is not authorized to revoke the presented token')
    if (outcome === 'access_token') {
      throw new OAuthError(
        'unsupported_token_type',
        'this access token has no jti or exp to revoke it by: log the subject out (POST /logout) to end every token of it',
      )
    }

    return noStore(reply).code(200).send()
  })
}
