import type {FastifyInstance, FastifyRequest} from 'fastify'

import {OAuthError} from '../../core/oauth.js'
import {HttpError} from '../errors.js'

/** A form-encoded body with every value of every parameter, in order (RFC 8707 repeats `resource`). */
export type Form = Record<string, string[]>

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes form-encoded bodies (see the body parsers). */
    forms?: boolean
  }
}

/**
 * The form parser of the OAuth routes' scope: unlike the app's (last value wins, which is all
 * RFC 7662 needs), it keeps repeated parameters, so that a route can refuse repeats (RFC 6749
 * §3.1) or take them (`resource`).
 */
export function formParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/x-www-form-urlencoded')
  app.addContentTypeParser('application/x-www-form-urlencoded', {parseAs: 'string'}, (_request, text, done) => {
    const form: Form = Object.create(null)
    for (const [name, value] of new URLSearchParams(text as string)) (form[name] ??= []).push(value)
    done(null, form)
  })
}

/** The request's form; RFC 6749 §3.2: the token endpoint takes nothing else. */
export function formOf(request: FastifyRequest): Form {
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') {
    throw new HttpError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'send the parameters form-encoded (application/x-www-form-urlencoded)',
    )
  }

  return (request.body as Form | undefined) ?? Object.create(null)
}

/** One parameter: absent, or given once (RFC 6749 §3.1: "MUST NOT be included more than once"). */
export function param(form: Form, name: string): string | undefined {
  const values = form[name]
  if (values === undefined) return undefined
  if (values.length > 1) throw new OAuthError('invalid_request', `"${name}" is given more than once`)
  return values[0]
}

export function required(form: Form, name: string): string {
  const value = param(form, name)
  if (value === undefined || value === '') throw new OAuthError('invalid_request', `"${name}" is required`)
  return value
}
