import type {FastifyRequest} from 'fastify'

import {clientForToken} from '../../core/clients.js'
import {CLIENT_ASSERTION_TYPE, OAuthError, verifyAssertion} from '../../core/oauth.js'
import {failedAuthentication} from '../auth.js'
import {assertionAudiences, AUTH_METHODS, type AuthMethod, type OAuthContext} from './context.js'
import {type Form, param} from './form.js'

/** RFC 6749 §5.2: a 401 names the scheme the client may use; every method we take can be retried with Basic. */
export const INVALID_CLIENT_HEADERS = {'www-authenticate': 'Basic realm="jwtis", charset="UTF-8"'}

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined for Basic. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replaceAll('+', ' '))
}

interface Presented {
  assertion?: string
  id?: string
  method: AuthMethod
  secret?: string
}

/** Which credentials the request carries; more than one method is refused (RFC 6749 §2.3). */
function presented(request: FastifyRequest, form: Form): Presented | undefined {
  const basic = /^Basic\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1]
  const secret = param(form, 'client_secret')
  const assertion = param(form, 'client_assertion')
  const id = param(form, 'client_id')
  const count = [basic, secret, assertion].filter((v) => v !== undefined).length
  if (count > 1) throw new OAuthError('invalid_request', 'use one client authentication method, not several')
  if (basic !== undefined) {
    const text = Buffer.from(basic, 'base64').toString('utf8')
    const colon = text.indexOf(':')
    if (colon === -1) return {method: 'client_secret_basic'}
    try {
      const [basicId, basicSecret] = [formDecode(text.slice(0, colon)), formDecode(text.slice(colon + 1))]
      // a client_id in the body too must name the same client
      return {
        id: id === undefined || id === basicId ? basicId : undefined,
        method: 'client_secret_basic',
        secret: basicSecret,
      }
    } catch {
      return {method: 'client_secret_basic'} // bad %-encoding
    }
  }

  if (assertion !== undefined) {
    if (param(form, 'client_assertion_type') !== CLIENT_ASSERTION_TYPE) {
      throw new OAuthError('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`)
    }

    return {assertion, id, method: 'private_key_jwt'}
  }

  return secret === undefined ? undefined : {id, method: 'client_secret_post', secret}
}

/** Whether the request carries client credentials of any method. */
export const carriesCredentials = (request: FastifyRequest, form: Form): boolean =>
  presented(request, form) !== undefined

/**
 * Authenticates the client of an OAuth endpoint: client_secret_basic, client_secret_post (id =
 * the client's name, secret = its client token, found by its hash as every client token is) or
 * private_key_jwt (RFC 7523 §2.2). A valid credential always passes; a failure counts in the
 * failed-authentication limiter like any other credential's and is `invalid_client` (401).
 */
export async function authenticateClient(
  ctx: OAuthContext,
  request: FastifyRequest,
  form: Form,
): Promise<{client: string; method: AuthMethod}> {
  const given = presented(request, form)
  let client: string | undefined
  let reason = 'client authentication failed'
  if (given?.assertion !== undefined) {
    try {
      ;({client} = await verifyAssertion(ctx.issuer, given.assertion, {
        audiences: assertionAudiences(ctx, request.routeOptions.url),
        failAs: 'invalid_client',
        fetchJwks: ctx.fetchJwks,
        subjectIsClient: true,
      }))
      if (given.id !== undefined && given.id !== client) client = undefined
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error
      reason = error.description
    }
  } else if (given?.secret !== undefined && given.id !== undefined) {
    const owner = clientForToken(ctx.issuer.vault.document, given.secret)
    client = owner === given.id ? owner : undefined
  } else if (given === undefined) {
    reason = `no client authentication: use one of ${AUTH_METHODS.join(', ')}`
  }

  if (client !== undefined) return {client, method: given!.method}
  throw refuse(ctx, request, reason)
}

/** A failed client authentication: counted, and past the limit a 429. */
export function refuse(ctx: OAuthContext, request: FastifyRequest, reason: string): Error {
  return failedAuthentication(ctx.limiter, request.ip) ?? new OAuthError('invalid_client', reason)
}

/**
 * RFC 7662 §2.1: introspection takes the token endpoint's client authentications beside the
 * client's bearer token (and the admin token). `body` is what the app's parsers made of it (one
 * value per parameter). Failures are OAuthErrors, for the caller to answer as RFC 6749 §5.2 does;
 * undefined when the request carries no client credential at all.
 */
export async function introspectionClient(ctx: OAuthContext, request: FastifyRequest): Promise<string | undefined> {
  const body = (request.body ?? {}) as Record<string, unknown>
  const form: Form = Object.create(null)
  for (const [name, value] of Object.entries(body)) if (typeof value === 'string') form[name] = [value]
  if (!carriesCredentials(request, form)) return undefined
  return (await authenticateClient(ctx, request, form)).client
}
