import type {FastifyInstance} from 'fastify'

import type {Issuer} from '../../core/issuer.js'
import type {createAuth} from '../auth.js'

import {HttpError} from '../errors.js'

/**
 * What every request passes before its route (`onRequest`, on the headers alone): its id in
 * the answer's X-Request-Id, a 503 once the server is closing, the newest vault, and authentication. Returns the switch that starts
 * the closing.
 */
export function requestGate(
  app: FastifyInstance,
  {auth, issuer}: {auth: ReturnType<typeof createAuth>; issuer: Issuer},
): {beginClose: () => void} {
  let closing = false
  app.addHook('onRequest', async (request, reply) => {
    ;(request as {startedAt?: bigint}).startedAt = process.hrtime.bigint()
    // The id the log line carries, so that a caller or a proxy can find it there.
    reply.header('x-request-id', request.id)
    if (closing) {
      reply.header('connection', 'close')
      throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down: retry on another instance')
    }

    // Read-your-writes across workers and processes: a client registered or a key rotated a
    // moment ago elsewhere is seen by this request. A vault that fails to re-read keeps the
    // last good snapshot (the reload loop in instance.ts reports it).
    if (issuer.vault.changedElsewhere()) await issuer.vault.reload().catch(() => {})
    auth.authenticate(request)
  })
  return {
    beginClose() {
      closing = true
    },
  }
}
