import {Flags} from '@oclif/core'
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {availableParallelism} from 'node:os'

import {VaultCommand} from '../cli/base.js'
import {durationFlag, storeFlag} from '../cli/flags.js'
import {CONFIG, env, type VariableName} from '../common/config.js'
import {UsageError} from '../common/errors.js'
import {registerSecret} from '../common/redact.js'
import {isLoopbackHost} from '../core/oauth-client.js'
import {serveLog} from '../server/log.js'
import {publicBase} from '../server/public-url.js'
import {LOG_LEVELS, type LogLevel} from '../server/schemas.js'
import {storeChoice} from '../store/index.js'

export default class Serve extends VaultCommand<typeof Serve> {
  static override summary = 'Serve the HTTP API (JWTIS v0.1 routes) over the vault.'
  static override description = `Registration needs the admin token: from the file JWTIS_ADMIN_TOKEN_FILE names (preferred: it stays out of the environment and the journal), or JWTIS_ADMIN_TOKEN (not both); without either, a random one is printed once on stdout at start, and it changes on every restart. Client routes need "Authorization: Bearer <client_token>". Vault changes made by the CLI while the server runs (new clients, key rotation) are picked up within a second. SIGTERM or SIGINT stops it gracefully: requests in flight finish, the token store is flushed.

A request must arrive whole within --request-timeout (408 otherwise); client routes are authenticated from the Authorization header before any body is read.

Routes: POST /register/{kid}, GET /keys/{kid}, POST /issue_token, POST /renew_token, POST /revoke_token, POST /logout, POST /introspect (RFC 7662), GET /.well-known/jwks.json, GET /.well-known/openid-configuration, GET /ping, GET /health, GET /metrics, and GET /debug: a token debugger page that verifies tokens in the browser, on by default only when listening on loopback (--debug-page).

Bodies are JSON (send -H 'content-type: application/json'); POST /introspect and the OAuth endpoints (/token, /revoke, the login form) take form-encoded ones, as their RFCs say. stderr carries JSON lines, one per event, unless it is a terminal, where the lines are text. Each answer carries X-Request-Id (the caller's, when it sends a plain one of up to 128 characters) and the request's log line the same id. Plain HTTP only: on an address other than loopback, put TLS in front (a reverse proxy, with --trust-proxy).

--dev-login adds the OAuth authorization code flow (GET/POST /authorize, GET/POST /userinfo) with a login page that signs anyone in as any subject typed into it: for developing and testing applications on this machine; refused unless every listen address is loopback.

--auth none serves existing JWTIS v0.1 clients unchanged (they send no credentials): refused unless every listen address is loopback, or --allow-insecure-remote is given; announced on stderr.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    'JWTIS_ADMIN_TOKEN_FILE=/etc/jwtis/admin-token <%= config.bin %> <%= command.id %> --listen 0.0.0.0:8080 --store redis://127.0.0.1:6379',
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
    'debug-page': Flags.string({
      default: 'auto',
      description: 'the token debugger at /debug; auto: on when listening on loopback only',
      options: ['auto', 'on', 'off'],
    }),
    'dev-login': Flags.boolean({
      description:
        'the OAuth authorization code flow with a development login page that authenticates nobody (/authorize, /userinfo); loopback only',
    }),
    'keep-alive-timeout': durationFlag({
      default: 5000,
      description: 'how long an idle keep-alive connection stays open (Go duration)',
    }),
    listen: Flags.string({
      default: CONFIG.JWTIS_ADDRESS.default,
      description: 'address:port to listen on',
      env: 'JWTIS_ADDRESS' satisfies VariableName,
    }),
    'log-level': Flags.string({
      default: CONFIG.JWTIS_LOG_LEVEL.default,
      description: 'stderr log: info writes one JSON line per request (never a token); error only failures',
      env: 'JWTIS_LOG_LEVEL' satisfies VariableName,
      options: [...LOG_LEVELS],
    }),
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
    'public-url': Flags.string({
      description:
        'where verifiers reach this server (http(s) URL, no query): the base of the URLs in /.well-known/openid-configuration; default: the issuer when it is a URL, else the listen address',
      env: 'JWTIS_PUBLIC_URL' satisfies VariableName,
    }),
    'request-timeout': durationFlag({
      default: 10_000,
      description: 'time a client has to send a whole request, headers and body (Go duration); 408 past it',
    }),
    store: storeFlag,
    'trust-proxy': Flags.boolean({
      description:
        'take client addresses from the last X-Forwarded-For entry, the one your reverse proxy appends (only behind it)',
    }),
    workers: Flags.integer({
      description: 'processes serving requests (default: the number of cores; 1 with --store memory)',
      max: 256,
      min: 1,
    }),
  }

  /** Runs until SIGTERM/SIGINT; its output is the ready line (with --json, one JSON object). */
  async run(): Promise<void> {
    const {flags} = this
    const {host, port} = parseListen(flags.listen)
    if (flags.auth === 'none' && !isLoopbackHost(host) && !flags['allow-insecure-remote']) {
      throw new UsageError(
        `--auth none lets anyone who reaches ${flags.listen} register clients and mint tokens: listen on loopback (127.0.0.1, ::1), or add --allow-insecure-remote`,
      )
    }

    const exposed = flags['dev-login'] ? devLoginExposure(host, flags) : undefined
    if (exposed !== undefined) {
      throw new UsageError(
        `--dev-login signs anyone in as any subject: it is served on loopback only (127.0.0.1, ::1, localhost), not ${exposed}`,
      )
    }

    if (flags['request-timeout'] <= 0 || flags['keep-alive-timeout'] <= 0)
      throw new UsageError('--request-timeout and --keep-alive-timeout must be longer than 0s')
    const publicUrl = flags['public-url'] === undefined ? undefined : publicBase(flags['public-url'])
    if (flags['public-url'] !== undefined && publicUrl === undefined) {
      throw new UsageError(
        `--public-url ${flags['public-url']}: expected an absolute http(s) URL without credentials, query or fragment, e.g. https://auth.example.com`,
      )
    }

    const store = storeChoice(flags.store)
    let workers = flags.workers ?? availableParallelism()
    if (store === 'memory' && workers > 1) {
      // A memory store lives in one process: workers would each see only their own families.
      if (flags.workers !== undefined) serveLog('warn', '--store memory cannot be shared: running 1 worker')
      workers = 1
    }

    const given = givenAdminToken()
    const adminToken = given || `jwtis_admin_${randomBytes(32).toString('base64url')}`
    registerSecret(adminToken)
    const {runServer} = await import('../server/run.js')
    await runServer({
      adminToken,
      auth: flags.auth as 'none' | 'token',
      bodyLimit: flags['body-limit'],
      debugPage: flags['debug-page'] === 'on' || (flags['debug-page'] === 'auto' && isLoopbackHost(host)),
      devLogin: flags['dev-login'],
      host,
      json: this.jsonEnabled(),
      keepAliveTimeoutMs: flags['keep-alive-timeout'],
      log: (message) => {
        // (with --json the ready line on stdout says it)
        if (!this.jsonEnabled()) serveLog('info', message)
      },
      logLevel: flags['log-level'] as LogLevel,
      maxAuthFailures: flags['max-auth-failures'],
      maxConnections: flags['max-connections'],
      openIssuer: (key) => this.openIssuer(flags.store, key, {groupCommit: true}),
      port,
      printAdminToken: !given,
      publicUrl,
      requestTimeoutMs: flags['request-timeout'],
      trustProxy: flags['trust-proxy'],
      workers,
    })
    if (!this.jsonEnabled()) serveLog('info', 'stopped')
  }
}

function parseListen(value: string): {host: string; port: number} {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value)
  if (!m) throw new UsageError(`--listen ${value}: expected HOST:PORT, e.g. 127.0.0.1:4456`)
  const port = Number(m[3])
  if (port > 65_535)
    throw new UsageError(`--listen ${value}: port ${m[3]} is out of range: a port is 0–65535 (0: any free one)`)
  return {host: m[1] ?? (m[2] || '0.0.0.0'), port}
}

/**
 * The admin token the operator chose: JWTIS_ADMIN_TOKEN_FILE's first line, or JWTIS_ADMIN_TOKEN.
 * Both at once is refused: after moving to the file, a stale variable left in a unit or a shell
 * would otherwise keep a token alive that the operator believes replaced.
 */
function givenAdminToken(): string | undefined {
  const file = env('JWTIS_ADMIN_TOKEN_FILE')
  const variable = env('JWTIS_ADMIN_TOKEN')
  if (!file) return variable
  if (variable)
    throw new UsageError('JWTIS_ADMIN_TOKEN and JWTIS_ADMIN_TOKEN_FILE are both set: keep one (the file is preferred)')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new UsageError(
      `JWTIS_ADMIN_TOKEN_FILE ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    )
  }

  const token = text.replace(/\r?\n$/, '')
  if (!token.trim() || /[\r\n]/.test(token))
    throw new UsageError(
      `JWTIS_ADMIN_TOKEN_FILE ${file}: expected the admin token on one line, found ${token.trim() ? 'several lines' : 'none'}`,
    )
  return token
}

/**
 * What would put --dev-login's page within reach of other machines: a listen address off
 * loopback, a reverse proxy in front (--trust-proxy), or a --public-url elsewhere.
 */
function devLoginExposure(host: string, flags: {listen: string; 'public-url'?: string; 'trust-proxy': boolean}) {
  if (!isLoopbackHost(host)) return flags.listen
  if (flags['trust-proxy']) return 'behind a proxy (--trust-proxy)'
  const url = flags['public-url']
  const publicHost =
    url !== undefined && URL.canParse(url) ? new URL(url).hostname.replace(/^\[(.*)\]$/, '$1') : undefined
  return publicHost === undefined || isLoopbackHost(publicHost) ? undefined : `under --public-url ${url}`
}
