import {ready, type RunOptions, serveOnce, waitForSignal} from './instance.js'

export type {RunOptions} from './instance.js'

/**
 * The life of `jwtis serve`: listen, watch the vault, compact the token store, stop gracefully
 * (./instance.ts); and with several workers (`--workers`, default the core count) the primary
 * that forks them, hands each the vault key over IPC (never the environment), prints one ready
 * line, restarts a worker that dies and forwards SIGTERM (./supervisor.ts, ./worker.ts). The
 * HTTP API itself is ./app.ts.
 */
export async function runServer(options: RunOptions): Promise<void> {
  const cluster = (await import('node:cluster')).default
  if (cluster.isWorker) {
    const {runWorker} = await import('./worker.js')
    return runWorker(options)
  }

  if (options.workers > 1) {
    const {runPrimary} = await import('./supervisor.js')
    return runPrimary(options)
  }

  const issuer = await options.openIssuer()
  await issuer.store() // fail now, not on the first request, when the store is unreachable
  const stop = waitForSignal(options.log)
  const {close, port} = await serveOnce(options, issuer, options.maxAuthFailures)
  ready(options, port, {issuer: issuer.vault.document.issuer.name, path: issuer.vault.path})
  await stop
  await close()
}
