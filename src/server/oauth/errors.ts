import type {FastifyError, FastifyReply, FastifyRequest} from 'fastify'

import {JwtisError} from '../../common/errors.js'
import {OAuthError} from '../../core/oauth.js'
import {HttpError, statusOf} from '../errors.js'
import {INVALID_CLIENT_HEADERS} from './client-auth.js'

/** RFC 6749 §5.1: token responses, errors included, are never cached. */
export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

const send = (reply: FastifyReply, status: number, error: string, description: string) =>
  noStore(reply).code(status).send({error, error_description: description})

/**
 * The OAuth routes' failures as RFC 6749 §5.2 has them, `{"error","error_description"}`:
 * `invalid_client` is 401 with WWW-Authenticate, the others (any fault of the request) 400 (a body
 * past the limit 413); what passes (a store or a jwks_uri away, the server closing)
 * `temporarily_unavailable` with its 503. Anything else (a bug) goes on to the app's handler,
 * which logs it and answers 500.
 */
export async function oauthErrorHandler(
  error: FastifyError & {validation?: unknown},
  _request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof OAuthError) {
    if (error.error === 'invalid_client') reply.headers(INVALID_CLIENT_HEADERS)
    return send(reply, error.error === 'invalid_client' ? 401 : 400, error.error, error.description)
  }

  if (error instanceof HttpError && error.status === 429) {
    return send(reply.headers(error.headers), 429, 'invalid_client', error.message)
  }

  const status = error instanceof JwtisError ? statusOf(error) : (error.statusCode ?? 500)
  if (status === 503)
    return send(
      reply.headers((error as Partial<HttpError>).headers ?? {}),
      503,
      'temporarily_unavailable',
      error.message,
    )
  // A body past the limit was never read whole: that is HTTP's 413, not a request OAuth judged
  if (status === 413) return send(reply, 413, 'invalid_request', error.message)
  // RFC 6749 §5.2: invalid_request is 400, whatever HTTP status the request's fault has elsewhere
  if (error.validation || (status >= 400 && status < 500)) return send(reply, 400, 'invalid_request', error.message)
  throw error
}
