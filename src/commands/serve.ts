import {Flags} from '@oclif/core'
import {randomBytes} from 'node:crypto'

import {VaultCommand} from '../cli/base.js'
import {durationFlag, storeFlag} from '../cli/flags.js'
import {UsageError} from '../core/errors.js'
import {redact, registerSecret} from '../core/redact.js'

export default class Serve extends VaultCommand<typeof Serve> {
  static override description = `Serve the HTTP API (JWTIS v0.1 routes) over the vault.

Registration needs the admin token: JWTIS_ADMIN_TOKEN, or a random one printed once on stdout at
start. Client routes need "Authorization: Bearer <client_token>". Vault changes made by the CLI
while the server runs (new clients, key rotation) are picked up within a second. SIGTERM or
SIGINT stops it gracefully: requests in flight finish, the token store is flushed.

A request must arrive whole within --request-timeout (408 otherwise); client routes are
authenticated from the Authorization header before any body is read.

Routes: POST /register/{kid}, GET /keys/{kid}, POST /issue_token, POST /renew_token,
POST /revoke_token, POST /logout, POST /introspect (RFC 7662), GET /.well-known/jwks.json,
GET /ping, GET /health, GET /metrics.

--auth none serves existing JWTIS v0.1 clients unchanged (they send no credentials): refused
unless every listen address is loopback, or --allow-insecure-remote is given; announced on stderr.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    'JWTIS_ADMIN_TOKEN=$(cat admin.txt) <%= config.bin %> <%= command.id %> --listen 0.0.0.0:8080 --store redis://127.0.0.1:6379',
    '<%= config.bin %> <%= command.id %> --auth none --listen 127.0.0.1:4343',
  ]
  static override flags = {
    'allow-insecure-remote': Flags.boolean({
      description: 'allow --auth none on an address other than loopback (anyone who reaches it can mint tokens)',
    }),
    auth: Flags.string({
      default: 'token',
      description:
        'token: admin and client tokens required; none: JWTIS v0.1 behaviour, no credentials (loopback only)',
      options: ['token', 'none'],
    }),
    'body-limit': Flags.integer({
      default: 64 * 1024,
      description: 'largest request body in bytes (413 past it)',
      min: 1024,
    }),
    'keep-alive-timeout': durationFlag({
      default: 5000,
      description: 'how long an idle keep-alive connection stays open (Go duration)',
    }),
    listen: Flags.string({default: '127.0.0.1:4456', description: 'address:port to listen on', env: 'JWTIS_ADDRESS'}),
    'max-auth-failures': Flags.integer({
      default: 10,
      description: 'failed authentications per address (IPv6: per /64) per minute before 429',
      min: 1,
    }),
    'max-connections': Flags.integer({
      default: 4096,
      description: 'connections open at once; further ones are closed at once',
      min: 1,
    }),
    'request-timeout': durationFlag({
      default: 10_000,
      description: 'time a client has to send a whole request, headers and body (Go duration); 408 past it',
    }),
    store: storeFlag,
    'trust-proxy': Flags.boolean({
      description: 'take client addresses from X-Forwarded-For (only behind your own reverse proxy)',
    }),
  }

  /** Runs until SIGTERM/SIGINT; its output is the ready line (with --json, one JSON object). */
  async run(): Promise<void> {
    const {flags} = this
    const {buildServer} = await import('../server/app.js')
    const {host, port} = parseListen(flags.listen)
    if (flags.auth === 'none' && !isLoopback(host) && !flags['allow-insecure-remote']) {
      throw new UsageError(
        `--auth none lets anyone who reaches ${flags.listen} register clients and mint tokens: listen on loopback (127.0.0.1, ::1), or add --allow-insecure-remote`,
      )
    }

    const issuer = await this.openIssuer(flags.store)
    await issuer.store() // fail now, not on the first request, when the store is unreachable
    const given = process.env.JWTIS_ADMIN_TOKEN
    const adminToken = given || `jwtis_admin_${randomBytes(32).toString('base64url')}`
    registerSecret(adminToken)
    if (flags['request-timeout'] <= 0 || flags['keep-alive-timeout'] <= 0)
      throw new UsageError('--request-timeout and --keep-alive-timeout must be longer than 0s')
    const {app, beginClose} = await buildServer({
      adminToken,
      auth: flags.auth as 'none' | 'token',
      bodyLimit: flags['body-limit'],
      issuer,
      keepAliveTimeoutMs: flags['keep-alive-timeout'],
      maxAuthFailures: flags['max-auth-failures'],
      maxConnections: flags['max-connections'],
      requestTimeoutMs: flags['request-timeout'],
      trustProxy: flags['trust-proxy'],
    })
    await app.listen({host, port})
    const address = app.server.address()
    const listening =
      typeof address === 'object' && address
        ? `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`
        : flags.listen
    const ready = {listening, ...(given ? {} : {admin_token: adminToken})}
    // The generated admin token goes to stdout once (data, not a log line), never to stderr.
    if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(ready)}\n`)
    else if (!given) process.stdout.write(`admin token: ${adminToken}\n`)
    this.logErr(`jwtis serve: listening on ${listening} (vault ${issuer.vault.path})`)
    if (flags.auth === 'none') {
      process.stderr.write(
        'jwtis serve: WARNING: --auth none: no admin or client token is checked (JWTIS v0.1 compatibility)\n',
      )
    }

    // Pick up changes the CLI makes to the vault file (new clients, rotations) within a second.
    let reloadFailed = false
    const reloader = setInterval(() => {
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
    }, 500)

    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        process.stderr.write(`jwtis serve: ${signal}: finishing requests in flight\n`)
        resolve()
      }

      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
    })
    clearInterval(reloader)
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
    this.logErr('jwtis serve: stopped')
  }
}

const SHUTDOWN_GRACE_MS = 10_000

/** Whether a listen host is reachable from this machine only. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

function parseListen(value: string): {host: string; port: number} {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value)
  const port = Number(m?.[3])
  if (!m || port > 65_535) throw new UsageError(`--listen ${value}: expected HOST:PORT, e.g. 127.0.0.1:4456`)
  return {host: m[1] ?? (m[2] || '0.0.0.0'), port}
}
