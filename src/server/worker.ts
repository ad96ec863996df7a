import type {Message, StartFailure} from './ipc.js'
import type {Metrics} from './metrics.js'

import {redact} from '../common/redact.js'
import {SERVER_DEFAULTS} from './app.js'
import {workerMetrics} from './cluster-metrics.js'
import {type RunOptions, serveOnce} from './instance.js'

/** A worker: waits for the key, serves, and stops when told to or when the primary is gone. */
export async function runWorker(options: RunOptions): Promise<void> {
  const start = await startMessage()
  let server: Awaited<ReturnType<typeof serveOnce>>
  let local: Metrics | undefined
  const metricsText = workerMetrics(() => local)
  try {
    const issuer = await options.openIssuer(start.key)
    // Failed authentications are counted per worker: each allows its share, so that an address
    // spread over the workers is still limited to about --max-auth-failures in all.
    const share = Math.max(1, Math.ceil((options.maxAuthFailures ?? 10) / options.workers))
    // The primary hands connections out in turn, so each worker holds its share of the cap.
    const maxConnections = Math.max(
      1,
      Math.ceil((options.maxConnections ?? SERVER_DEFAULTS.maxConnections) / options.workers),
    )
    server = await serveOnce(
      {...options, adminToken: start.adminToken, maxConnections, metricsText, port: start.port},
      issuer,
      share,
    )
    local = server.metrics
  } catch (error) {
    const {address, code, message, port} = error as StartFailure
    process.send!({error: {address, code, message: redact(message), port}, type: 'failed'} satisfies Message)
    // The primary reports the failure (by its code, as the CLI reports any); the worker only goes.
    // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
    process.exit(1)
  }

  process.send!({port: server.port, type: 'listening'} satisfies Message)
  // SIGTERM comes from the primary (or with it, from a process-group kill); SIGINT from a
  // terminal's Ctrl-C goes to the whole group, and the primary turns it into SIGTERMs. A
  // worker whose primary is gone stops too.
  process.on('SIGINT', () => {})
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve())
    process.once('disconnect', () => resolve())
  })
  await server.close()
  // The IPC channel and the fork's handles would keep it alive: a stopped worker exits.
  // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
  process.exit(0)
}

/** Says hello to the primary and waits for its `start`: the key, the admin token and the port. */
function startMessage(): Promise<Extract<Message, {type: 'start'}>> {
  return new Promise((resolve) => {
    const listener = (message: Message) => {
      if (message.type !== 'start') return
      process.off('message', listener)
      resolve(message)
    }

    process.on('message', listener)
    process.send!({type: 'hello'} satisfies Message)
  })
}
