import type {FastifyInstance} from 'fastify'

import type {Metrics} from '../metrics.js'

import {pathOf} from '../log.js'

/**
 * After each response: the request counted and timed in the metrics, and with `accessLog` one
 * JSON line on the log that says only what is safe to keep (the path without its query, the
 * error code of a refused request, never a header or a body). The start time is set by the request gate (./gate.ts).
 */
export function accessLog(app: FastifyInstance, {accessLog, metrics}: {accessLog: boolean; metrics: Metrics}): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({method: request.method, route, status: String(reply.statusCode)})
    const started = (request as {startedAt?: bigint}).startedAt ?? process.hrtime.bigint()
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    metrics.duration.observe({route}, seconds)
    if (accessLog) {
      request.log.info(
        {
          client: request.client,
          // set by the error handler: a REFRESH_REUSED (a theft signal) must not read like any 403
          code: (request as {errorCode?: string}).errorCode,
          method: request.method,
          ms: Math.round(seconds * 1e4) / 10,
          path: pathOf(request.url),
          remote: request.ip,
          route,
          status: reply.statusCode,
        },
        'request',
      )
    }
  })
}
