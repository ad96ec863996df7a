import type {FastifyInstance} from 'fastify'

import {textDepth} from '../../common/limits.js'
import {HttpError, unsupportedMediaType} from '../errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes form-encoded bodies too, as a standard asks (RFC 7662, RFC 6749). */
    forms?: boolean
  }
}

/** Request bodies nest no deeper than this: checked on the text, before any parser recurses. */
const MAX_BODY_DEPTH = 40

/**
 * The bodies the API reads: JSON, and form-encoded only on the routes whose standard asks for it
 * (`config: {forms: true}`); anything else is refused with 415 (./errors.ts says what to send).
 * A form body on a JSON route is what `curl -d` sends without a content type: read as a form, its
 * fields would be mistaken for the JSON ones, so it is refused rather than guessed at. JSON is checked for depth on its text first; fastify's own parser then refuses
 * __proto__ and constructor.prototype keys.
 */
export function bodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain')
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('application/json', {parseAs: 'string'}, (request, text, done) => {
    if (textDepth(text as string, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
      done(new HttpError(400, 'USAGE', `the JSON body nests deeper than ${MAX_BODY_DEPTH} levels`))
      return
    }

    parseJson(request, text as string, done)
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', {parseAs: 'string'}, (request, text, done) => {
    if (!request.routeOptions.config.forms) {
      done(unsupportedMediaType(false))
      return
    }

    const form: Record<string, string> = Object.create(null)
    for (const [name, value] of new URLSearchParams(text as string)) form[name] = value
    done(null, form)
  })
}
