import type {FastifyError, FastifyReply, FastifyRequest} from 'fastify'
import type {Socket} from 'node:net'

import type {Metrics} from './metrics.js'

import {type ErrorCode, JwtisError, TokenRejectedError} from '../common/errors.js'
import {redact} from '../common/redact.js'
import {pathOf, serveLog} from './log.js'

/** Failures that exist only over HTTP (authentication, rate limits, shutdown); never reach the CLI. */
export class HttpError extends JwtisError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message)
  }
}

/** 415 with the header that fixes it: what curl needs to send a JSON body. */
export function unsupportedMediaType(forms: boolean | undefined): HttpError {
  return new HttpError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    forms
      ? "send the body form-encoded (application/x-www-form-urlencoded) or as JSON (-H 'content-type: application/json')"
      : "this route takes a JSON body: send it with -H 'content-type: application/json'",
  )
}

const FORBIDDEN = 403
const UNAVAILABLE = 503

/**
 * The HTTP status of each error code: JWTIS's where it had them (400 bad input, 403 a client that
 * exists or a token that cannot be decrypted or verified, 404 an unknown client, 409 expired, 422
 * bad claims), 503 for what passes (retry later), 500 for a vault that cannot be used at all. The
 * type makes a code without an entry a compile error.
 */
/* eslint-disable perfectionist/sort-objects -- grouped by status */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  ALG_NOT_ALLOWED: FORBIDDEN,
  AUDIENCE_MISMATCH: FORBIDDEN,
  BAD_SIGNATURE: FORBIDDEN,
  CLAIM_INVALID: FORBIDDEN,
  DECRYPT_FAILED: FORBIDDEN,
  FINGERPRINT_MISMATCH: FORBIDDEN,
  ISSUER_MISMATCH: FORBIDDEN,
  MALFORMED_TOKEN: FORBIDDEN,
  REFRESH_REUSED: FORBIDDEN,
  SUBJECT_MISMATCH: FORBIDDEN,
  TOKEN_EXPIRED: 409,
  TOKEN_NOT_YET_VALID: FORBIDDEN,
  TOKEN_REVOKED: FORBIDDEN,
  TOKEN_TOO_LARGE: FORBIDDEN,
  TOKEN_TOO_OLD: FORBIDDEN,
  UNKNOWN_KID: FORBIDDEN,
  UNSUPPORTED_CRIT: FORBIDDEN,
  WRONG_CLIENT: FORBIDDEN,
  WRONG_TYPE: FORBIDDEN,

  BAD_KEY: 400,
  USAGE: 400,
  AUDIENCE_NOT_ALLOWED: 422,
  SCOPE_NOT_ALLOWED: 422,
  BAD_CLAIMS: 422,

  // another process holds the lock, or Redis, the store or a JWKS URL is away for now
  JWKS_UNAVAILABLE: UNAVAILABLE,
  STORE_UNAVAILABLE: UNAVAILABLE,
  VAULT_LOCKED: UNAVAILABLE,
  VAULT_UNAVAILABLE: UNAVAILABLE,
  // serve keeps the last authentic document; what it cannot do meanwhile (a write) waits for a holder
  VAULT_NOT_AUTHENTIC: UNAVAILABLE,
  // (to serve, which opened it at start: its storage lost it, e.g. a FLUSHALL)
  VAULT_NOT_FOUND: UNAVAILABLE,
  // a full disk or a read-only one: the service cannot take writes now, not a bug
  VAULT_UNWRITABLE: UNAVAILABLE,
  VAULT_BAD_KEY: 500,
  VAULT_CORRUPT: 500,
  VAULT_TOO_NEW: 500,
  VAULT_UNSAFE: 500,

  CLIENT_NOT_FOUND: 404,
  FAMILY_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  SETTING_NOT_FOUND: 404,

  CLIENT_EXISTS: FORBIDDEN,
  IDENTITY_EXISTS: FORBIDDEN,
  KEY_EXISTS: FORBIDDEN,
  VAULT_EXISTS: FORBIDDEN,
}
/* eslint-enable perfectionist/sort-objects */

/** The status a failure answers with: an HttpError's own, else its code's (a code not in the table is a bug's). */
export const statusOf = (error: JwtisError): number =>
  error instanceof HttpError
    ? error.status
    : Object.hasOwn(HTTP_STATUS, error.code)
      ? HTTP_STATUS[error.code as ErrorCode]
      : 500

const send = (reply: FastifyReply, status: number, code: string, message: string) => {
  // the code goes in the request's log line too (./plugins/access-log.ts)
  if (reply.request) (reply.request as {errorCode?: string}).errorCode = code
  return reply.code(status).send({error: {code, message}})
}

/**
 * Every failure of a route in the contract's shape, `{"error":{"code","message"}}`: the
 * issuer's own errors with their status, fastify's (validation, body size, media type) mapped,
 * and anything else a 500 with nothing but "internal error" for the client.
 */
export function errorHandler(metrics: Metrics, logged: boolean) {
  return async (error: FastifyError & {validation?: unknown}, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof TokenRejectedError) {
      metrics.rejected.inc({reason: error.code})
      if (error.code === 'REFRESH_REUSED') metrics.reuse.inc()
    }

    if (error instanceof HttpError) return send(reply.headers(error.headers), error.status, error.code, error.message)
    if (error instanceof JwtisError) return send(reply, statusOf(error), error.code, error.message)
    if (error.validation) return send(reply, 400, 'USAGE', validationMessage(error))
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return send(reply, 413, 'BODY_TOO_LARGE', 'request body is too large')
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const refused = unsupportedMediaType(request.routeOptions.config.forms)
      return send(reply, refused.status, refused.code, refused.message)
    }

    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)
      return send(reply, error.statusCode, 'BAD_REQUEST', error.message)
    // A stack overflow or any other bug: one redacted line on stderr (in the log when there is
    // one), never details to the client.
    if (logged) request.log.error({error: redact(error.message)}, 'internal error')
    else serveLog('error', `internal error: ${error.message}`)
    return send(reply, 500, 'INTERNAL', 'internal error')
  }
}

/** Router-level failures (bad %-encoding, an over-long kid) answer in the contract's shape too. */
export function frameworkErrors(error: FastifyError, _request: unknown, reply: unknown): void {
  const answer = reply as FastifyReply
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH')
    send(answer, 414, 'URI_TOO_LONG', 'a path parameter is longer than 128 characters')
  else send(answer, 400, 'BAD_REQUEST', 'malformed request URL (bad %-encoding?)')
}

/**
 * 405 with `Allow` for a path that has routes under other methods (RFC 9110 §15.5.6), else 404.
 * The answer names the path without its query: a credential sent there is not echoed back.
 */
export function notFound(methodsOf: (path: string) => string[]) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const path = pathOf(request.url)
    const allowed = methodsOf(path)
    if (allowed.length === 0) return send(reply, 404, 'NOT_FOUND', `no route ${request.method} ${path}`)
    const allow = allowed.join(', ')
    return send(
      reply.header('allow', allow),
      405,
      'METHOD_NOT_ALLOWED',
      `${request.method} is not allowed on ${path}: use ${allow}`,
    )
  }
}

/**
 * Answers what the HTTP parser refused (malformed request, headers too large, a request not
 * received in time) in the contract's error shape, then closes the connection.
 */
export function clientErrorHandler(error: Error & {code?: string}, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'the request was not received in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'the request headers are too large']
        : [400, 'BAD_REQUEST', 'malformed HTTP request']
  const body = JSON.stringify({error: {code, message}})
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${code.replaceAll('_', ' ')}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  }

  socket.destroy()
}

/** ajv's first complaint, naming the field: "body must NOT have additional properties" says which one is not. */
function validationMessage(error: FastifyError & {validation?: unknown}): string {
  const [first] = (error.validation ?? []) as Array<{
    instancePath?: string
    keyword?: string
    params?: Record<string, unknown>
  }>
  const at = first?.instancePath ? ` ${first.instancePath.slice(1).replaceAll('/', '.')}` : ''
  if (first?.keyword === 'additionalProperties')
    return `unknown field "${String(first.params?.additionalProperty)}" in the body${at ? ` (in${at})` : ''}`
  if (first?.keyword === 'required') return `the body needs "${String(first.params?.missingProperty)}"`
  return error.message
}
