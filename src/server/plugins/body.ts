import type {FastifyInstance} from 'fastify'

import {textDepth} from '../../common/limits.js'
import {HttpError} from '../errors.js'

/** Request bodies nest no deeper than this: checked on the text, before any parser recurses. */
const MAX_BODY_DEPTH = 40

/**
 * The bodies the API reads: JSON, and form-encoded for RFC 7662 introspection; a text body is
 * refused (415). JSON is checked for depth on its text first; fastify's own parser then refuses
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
  app.addContentTypeParser('application/x-www-form-urlencoded', {parseAs: 'string'}, (_request, text, done) => {
    const form: Record<string, string> = Object.create(null)
    for (const [name, value] of new URLSearchParams(text as string)) form[name] = value
    done(null, form)
  })
}
