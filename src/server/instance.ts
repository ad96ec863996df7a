import type {Issuer} from '../core/issuer.js'
import type {VaultKey} from '../vault/age.js'
import type {ServerOptions} from './app.js'

import {isLoopbackHost} from '../core/oauth-client.js'
import {serveLog} from './log.js'
import {publicBase} from './public-url.js'
import {DEBUG_PAGE_OFF} from './routes/debug.js'

/**
 * One HTTP server over one issuer, as `jwtis serve` runs it alone or in each worker (./worker.ts):
 * listening, the vault kept fresh, the token store compacted, the ready line, a graceful close.
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

/** One HTTP server over one issuer, with vault reloading and store compaction; returns its closer. */
export async function serveOnce(options: RunOptions, issuer: Issuer, maxAuthFailures?: number) {
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
        if (!reloadFailed) serveLog('error', `cannot reload the vault, keeping the last good one: ${error.message}`)
        reloadFailed = true
      },
    )
  const reloader = setInterval(reload, RELOAD_MS)
  await issuer.vault.watch(reload).catch((error: Error) => {
    serveLog('warn', `no change notices from the vault, checking it every ${RELOAD_MS} ms: ${error.message}`)
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

export function ready(options: RunOptions, port: number, vault: {issuer: string; path: string}, workers = 1): void {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  const listening = `http://${host}:${port}`
  const line = {listening, ...(options.printAdminToken ? {admin_token: options.adminToken} : {})}
  // The generated admin token goes to stdout once (data, not a log line), never to stderr.
  if (options.json) process.stdout.write(`${JSON.stringify(line)}\n`)
  else if (options.printAdminToken) process.stdout.write(`admin token: ${options.adminToken}\n`)
  options.log(`listening on ${listening} (vault ${vault.path}${workers > 1 ? `, ${workers} workers` : ''})`)
  if (options.debugPage) options.log(`token debugger at ${listening}/debug (tokens pasted there stay in the browser)`)
  else options.log(DEBUG_PAGE_OFF)
  if (!isLoopbackHost(options.host))
    serveLog('warn', `plain HTTP on ${listening}: put TLS in front of it (a reverse proxy, with --trust-proxy)`)
  if (options.devLogin) {
    serveLog(
      'warn',
      `--dev-login: the development login at ${listening}/authorize is on; it authenticates nobody (anyone who opens it signs in as any subject): for development on this machine only`,
    )
  }

  if (!publicBase(vault.issuer)) {
    // RFC 8414 §3.3 and OpenID Discovery §4.3: a client checks the metadata's issuer against the URL it was configured with.
    serveLog(
      'info',
      `note: the issuer ${JSON.stringify(vault.issuer)} is not a URL: OAuth 2.0 / OpenID Connect clients need one (a vault made with \`jwtis init --issuer https://…\`)`,
    )
  }

  if (!options.publicUrl && !publicBase(vault.issuer) && ['0.0.0.0', '::'].includes(options.host)) {
    serveLog(
      'warn',
      `the discovery document gives URLs under ${listening}, which other hosts cannot reach: give --public-url (or make the issuer a URL)`,
    )
  }

  if (options.auth === 'none') {
    serveLog('warn', '--auth none: no admin or client token is checked (JWTIS v0.1 compatibility)')
  } else if (options.printAdminToken) {
    serveLog(
      'warn',
      'the admin token printed on stdout is random and changes on every restart: keep one in a file and name it with JWTIS_ADMIN_TOKEN_FILE',
    )
  } else if (options.adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    // The limiter never refuses a valid credential, so it cannot stop guessing: only length can.
    serveLog(
      'warn',
      `the admin token has ${options.adminToken.length} characters; failed guesses are limited per address, not stopped: use at least ${MIN_ADMIN_TOKEN_LENGTH} random ones (openssl rand -hex 32)`,
    )
  }
}

/** 32 hex characters are 128 bits: more than any number of guesses can cover. */
const MIN_ADMIN_TOKEN_LENGTH = 32

export function waitForSignal(log: (message: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      log(`${signal}: finishing requests in flight`)
      resolve()
    }

    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}
