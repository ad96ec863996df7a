import type {Worker} from 'node:cluster'

import type {Issuer} from '../core/issuer.js'
import type {VaultKey} from '../vault/age.js'
import type {ServerOptions} from './app.js'

import {exitCodeOf} from '../cli/exit-codes.js'
import {isJwtisError} from '../common/errors.js'
import {redact} from '../common/redact.js'
import {SERVER_DEFAULTS} from './app.js'
import {Metrics, type MetricsSnapshot} from './metrics.js'
import {publicBase} from './public-url.js'

/**
 * The life of `jwtis serve`: listen, watch the vault, compact the token store, stop gracefully;
 * and with several workers (`--workers`, default the core count) the primary that forks them,
 * hands each the vault key over IPC (never the environment), prints one ready line, restarts a
 * worker that dies and forwards SIGTERM. The HTTP API itself is ./app.ts.
 */
export interface RunOptions extends Omit<ServerOptions, 'issuer'> {
  host: string
  /** Printed with the ready line: the admin token when it was generated here. */
  json: boolean
  log: (message: string) => void
  /** Opens the issuer; with a key, the vault is opened with it instead of the unlock sources. */
  openIssuer: (key?: VaultKey) => Promise<Issuer>
  port: number
  printAdminToken: boolean
  workers: number
}

/** How often the vault file is checked for changes made by the CLI or another instance. */
const RELOAD_MS = 500
/** How often expired refresh families are dropped from the store (Redis and files drop them too). */
const COMPACT_MS = 60_000
const SHUTDOWN_GRACE_MS = 10_000

/** Primary ⇄ worker: the worker says hello once it listens for messages, and gets its key. */
type Message =
  | {adminToken: string; key: VaultKey; port: number; type: 'start'}
  | {error: {address?: string; code?: string; exitCode?: number; message: string; port?: number}; type: 'failed'}
  | {id: number; snapshot: MetricsSnapshot; type: 'snapshot'}
  | {id: number; text: string; type: 'metrics'}
  | {id: number; type: 'metrics?'}
  | {id: number; type: 'snapshot?'}
  | {port: number; type: 'listening'}
  | {type: 'hello'}

export async function runServer(options: RunOptions): Promise<void> {
  const cluster = (await import('node:cluster')).default
  if (cluster.isWorker) return runWorker(options)
  if (options.workers > 1) return runPrimary(options)
  const issuer = await options.openIssuer()
  await issuer.store() // fail now, not on the first request, when the store is unreachable
  const stop = waitForSignal(options.log)
  const {close, port} = await serveOnce(options, issuer, options.maxAuthFailures)
  ready(options, port, {issuer: issuer.vault.document.issuer.name, path: issuer.vault.path})
  await stop
  await close()
}

/** One HTTP server over one issuer, with vault reloading and store compaction; returns its closer. */
async function serveOnce(options: RunOptions, issuer: Issuer, maxAuthFailures?: number) {
  const {buildServer} = await import('./app.js')
  const {app, beginClose, metrics} = await buildServer({...options, issuer, maxAuthFailures})
  await app.listen({host: options.host, port: options.port})
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : options.port

  // Pick up vault changes (new clients, rotations) made by the CLI, another worker or another
  // host: a Redis vault announces each write (pub/sub), and the timer below checks the version
  // anyway, for a file vault and for a notice lost while Redis was away.
  let reloadFailed = false
  const reload = () =>
    issuer.vault.reload().then(
      () => {
        reloadFailed = false
      },
      (error: Error) => {
        if (!reloadFailed)
          process.stderr.write(
            `jwtis serve: cannot reload the vault, keeping the last good one: ${redact(error.message)}\n`,
          )
        reloadFailed = true
      },
    )
  const reloader = setInterval(reload, RELOAD_MS)
  await issuer.vault.watch(reload).catch((error: Error) => {
    process.stderr.write(
      `jwtis serve: no change notices from the vault, checking it every ${RELOAD_MS} ms: ${redact(error.message)}\n`,
    )
  })
  const compactor = setInterval(() => {
    issuer
      .store()
      .then((store) => store.compact(issuer.now()))
      .catch(() => {})
  }, COMPACT_MS)
  compactor.unref()

  return {
    async close() {
      clearInterval(reloader)
      clearInterval(compactor)
      beginClose()
      // Requests in flight finish; their keep-alive connections are closed as soon as they go
      // idle (Node closes only the connections idle at the moment close starts), and whatever
      // is still open after the grace is cut.
      const sweeper = setInterval(() => app.server.closeIdleConnections(), 100)
      const deadline = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS)
      await app.close()
      clearInterval(sweeper)
      clearTimeout(deadline)
      await issuer.close()
    },
    metrics,
    port,
  }
}

function ready(options: RunOptions, port: number, vault: {issuer: string; path: string}, workers = 1): void {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  const listening = `http://${host}:${port}`
  const line = {listening, ...(options.printAdminToken ? {admin_token: options.adminToken} : {})}
  // The generated admin token goes to stdout once (data, not a log line), never to stderr.
  if (options.json) process.stdout.write(`${JSON.stringify(line)}\n`)
  else if (options.printAdminToken) process.stdout.write(`admin token: ${options.adminToken}\n`)
  options.log(
    `jwtis serve: listening on ${listening} (vault ${vault.path}${workers > 1 ? `, ${workers} workers` : ''})`,
  )
  if (options.debugPage)
    options.log(`jwtis serve: token debugger at ${listening}/debug (tokens pasted there stay in the browser)`)
  if (!options.publicUrl && !publicBase(vault.issuer) && ['0.0.0.0', '::'].includes(options.host)) {
    process.stderr.write(
      `jwtis serve: WARNING: the discovery document gives URLs under ${listening}, which other hosts cannot reach: give --public-url (or make the issuer a URL)\n`,
    )
  }

  if (options.auth === 'none') {
    process.stderr.write(
      'jwtis serve: WARNING: --auth none: no admin or client token is checked (JWTIS v0.1 compatibility)\n',
    )
  } else if (!options.printAdminToken && options.adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    // The limiter never refuses a valid credential, so it cannot stop guessing: only length can.
    process.stderr.write(
      `jwtis serve: WARNING: JWTIS_ADMIN_TOKEN has ${options.adminToken.length} characters; failed guesses are limited per address, not stopped: use at least ${MIN_ADMIN_TOKEN_LENGTH} random ones (openssl rand -hex 32)\n`,
    )
  }
}

/** 32 hex characters are 128 bits: more than any number of guesses can cover. */
const MIN_ADMIN_TOKEN_LENGTH = 32

function waitForSignal(log: (message: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      log(`jwtis serve: ${signal}: finishing requests in flight`)
      resolve()
    }

    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}

/**
 * The primary: opens the vault once (so a wrong key or an unreachable store fails at once, in
 * this process, with its usual exit code), forks the workers and hands each the key.
 */
async function runPrimary(options: RunOptions): Promise<void> {
  const cluster = (await import('node:cluster')).default
  const issuer = await options.openIssuer()
  await issuer.store()
  const key = issuer.vault.unlockKey()
  const vault = {issuer: issuer.vault.document.issuer.name, path: issuer.vault.path}
  await issuer.close()

  let stopping = false
  let {port} = options
  let listenPort = port
  const live = new Set<Worker>()
  const listening = new Set<Worker>()
  // One scrape of /metrics: every worker's snapshot, summed (a worker that does not answer
  // within a second is left out rather than stalling the scrape).
  const snapshots = new Map<number, (snapshot: MetricsSnapshot) => void>()
  let nextId = 0
  const collectMetrics = async (workers: Worker[]): Promise<string> => {
    const parts = await Promise.all(
      workers.map(
        (worker) =>
          new Promise<MetricsSnapshot | undefined>((resolve) => {
            const id = nextId++
            const timer = setTimeout(() => {
              snapshots.delete(id)
              // eslint-disable-next-line unicorn/no-useless-undefined -- no snapshot from this worker
              resolve(undefined)
            }, 1000)
            snapshots.set(id, (snapshot) => {
              clearTimeout(timer)
              snapshots.delete(id)
              resolve(snapshot)
            })
            worker.send({id, type: 'snapshot?'} satisfies Message)
          }),
      ),
    )
    return Metrics.merged(parts.filter((p): p is MetricsSnapshot => p !== undefined)).render()
  }

  const fork = (): Promise<void> =>
    new Promise((resolve, reject) => {
      // Each worker's own libuv pool serves its file store: more threads keep more I/O in flight.
      const worker = cluster.fork({UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '16'})
      live.add(worker)
      let failed = false
      worker.on('message', (message: Message) => {
        switch (message.type) {
          case 'failed': {
            failed = true // it could not start: starting another would fail the same way
            reject(Object.assign(new Error(message.error.message), message.error))

            break
          }

          case 'hello': {
            // Workers share the primary's socket only while they ask for the same address: with
            // `:0`, one started when no other is left listening would get a port of its own, so
            // from then on they ask for the port the first one was given.
            if (listening.size === 0) listenPort = port
            worker.send({adminToken: options.adminToken, key, port: listenPort, type: 'start'} satisfies Message)

            break
          }

          case 'listening': {
            if (port !== 0 && message.port !== port) {
              // (the last other worker died between this one's start and its listen)
              worker.kill()
              break
            }

            port = message.port
            listening.add(worker)
            resolve()

            break
          }

          case 'metrics?': {
            collectMetrics([...live]).then((text) =>
              worker.send({id: message.id, text, type: 'metrics'} satisfies Message),
            )

            break
          }

          case 'snapshot': {
            snapshots.get(message.id)?.(message.snapshot)

            break
          }
          // No default
        }
      })
      worker.on('exit', (code, signal) => {
        live.delete(worker)
        listening.delete(worker)
        if (stopping || failed) return
        process.stderr.write(`jwtis serve: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`)
        fork().catch((error: Error) =>
          process.stderr.write(`jwtis serve: cannot restart a worker: ${redact(error.message)}\n`),
        )
      })
    })

  const stop = waitForSignal(options.log)
  try {
    await fork() // the first one binds the port (a fixed one, or the one the kernel chose for 0)
    await Promise.all(Array.from({length: options.workers - 1}, () => fork()))
  } catch (error) {
    stopping = true
    for (const worker of live) worker.kill()
    throw error
  }

  ready(options, port, vault, options.workers)
  await stop
  stopping = true
  await Promise.all(
    [...live].map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.once('exit', () => resolve())
          worker.process.kill('SIGTERM')
        }),
    ),
  )
}

/** A worker: waits for the key, serves, and stops when told to or when the primary is gone. */
async function runWorker(options: RunOptions): Promise<void> {
  const start = await new Promise<Extract<Message, {type: 'start'}>>((resolve) => {
    const listener = (message: Message) => {
      if (message.type !== 'start') return
      process.off('message', listener)
      resolve(message)
    }

    process.on('message', listener)
    process.send!({type: 'hello'} satisfies Message)
  })
  let server: Awaited<ReturnType<typeof serveOnce>>
  let local: Metrics | undefined
  const pending = new Map<number, (text: string) => void>()
  let nextId = 0
  process.on('message', (message: Message) => {
    if (message.type === 'snapshot?' && local)
      process.send!({id: message.id, snapshot: local.snapshot(), type: 'snapshot'} satisfies Message)
    else if (message.type === 'metrics') pending.get(message.id)?.(message.text)
  })
  const metricsText = () =>
    new Promise<string>((resolve) => {
      const id = nextId++
      pending.set(id, (text) => {
        pending.delete(id)
        resolve(text)
      })
      process.send!({id, type: 'metrics?'} satisfies Message)
    })

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
    const {address, code, message, port} = error as {address?: string; code?: string; message: string; port?: number}
    const exitCode = isJwtisError(error) ? exitCodeOf(error.code) : undefined
    process.send!({error: {address, code, exitCode, message: redact(message), port}, type: 'failed'} satisfies Message)
    // A worker is a process of its own: its exit code is what the primary sees.
    // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
    process.exit(exitCode ?? 70)
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
