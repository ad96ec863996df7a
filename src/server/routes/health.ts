import type {FastifyInstance} from 'fastify'

import type {Issuer} from '../../core/issuer.js'
import type {Metrics} from '../metrics.js'

import {redact} from '../../common/redact.js'

const up = () => ({error: undefined, state: 'ok'})
const failed = (state: 'degraded' | 'unavailable') => (error: Error & {code?: string}) => ({
  error: {code: error.code ?? 'INTERNAL', message: redact(error.message)},
  state,
})
const down = failed('unavailable')

/** The server's own state, which anyone may read: liveness, health and metrics (counters only). */
export async function healthRoutes(
  app: FastifyInstance,
  {issuer, metrics, metricsText}: {issuer: Issuer; metrics: Metrics; metricsText?: () => Promise<string>},
) {
  app.get('/ping', async (_request, reply) => reply.type('text/plain').send('pong'))
  // Which part is down, if any: the token store, or the vault's storage (a Redis vault; the
  // document in memory keeps serving meanwhile), or the stored vault is one serve refused (not
  // authentic, an older copy, gone, damaged: it keeps the last good one). 503 with the first
  // failure as the error.
  app.get('/health', async (_request, reply) => {
    const [store, vault] = await Promise.all([
      issuer
        .store()
        .then((s) => s.ping())
        .then(up, down),
      issuer.vault.ping().then(() => (issuer.vault.failure ? failed('degraded')(issuer.vault.failure) : up()), down),
    ])
    const failure = store.error ?? vault.error
    return reply.code(failure ? 503 : 200).send({
      clients: Object.keys(issuer.vault.document.clients).length,
      ...(failure ? {error: failure} : {}),
      status: failure ? 'degraded' : 'ok',
      store: store.state,
      uptime_seconds: Math.round(process.uptime()),
      vault: vault.state,
    })
  })
  // With several workers, metricsText asks the primary for the sum over all of them.
  app.get('/metrics', async (_request, reply) =>
    reply.type('text/plain; version=0.0.4').send(metricsText ? await metricsText() : metrics.render()),
  )
}
