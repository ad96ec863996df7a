import type {FastifyInstance, FastifyReply, FastifyRequest} from 'fastify'

import {readFile} from 'node:fs/promises'

import type {Issuer} from '../../core/issuer.js'

import {keyRows} from '../../core/lifecycle.js'

/**
 * The page may load its own files and fetch from this server, nothing else: no inline script,
 * no other origin, no framing. The token pasted into it is never sent anywhere (the page only
 * ever fetches the JWKS and /debug/keys.json).
 */
export const DEBUG_CSP =
  "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"

const FILES = {
  'app.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
  'index.html': 'text/html; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
} as const

/**
 * `GET /debug`: the token debugger page (static files built by esbuild into dist/debugger/web),
 * and `GET /debug/keys.json`: which client owns each published key and in which state, so the
 * page can say whose key verified a token. Public keys and client names only, as GET /keys/{kid}
 * already gives them.
 */
export async function debugRoutes(app: FastifyInstance, {issuer}: {issuer: Issuer}): Promise<void> {
  const dir = new URL('../../debugger/web/', import.meta.url)
  const files = new Map<string, Buffer>()
  for (const name of Object.keys(FILES)) files.set(name, await readFile(new URL(name, dir)))

  // (this plugin's routes only: fastify scopes a plugin's hooks to it)
  app.addHook('onSend', async (_request, reply) => {
    reply
      .header('content-security-policy', DEBUG_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cross-origin-opener-policy', 'same-origin')
  })

  const send = (name: keyof typeof FILES) => async (_request: unknown, reply: FastifyReply) =>
    reply.type(FILES[name]).header('cache-control', 'no-cache').send(files.get(name))
  app.get('/debug', send('index.html'))
  app.get('/debug/', send('index.html'))
  app.get('/debug/app.js', send('app.js'))
  app.get('/debug/favicon.svg', send('favicon.svg'))
  app.get('/debug/style.css', send('style.css'))
  app.get('/debug/keys.json', async (_request, reply) => {
    const now = issuer.now()
    reply.header('cache-control', 'no-store')
    return {
      issuer: issuer.vault.document.issuer.name,
      keys: keyRows(issuer.vault.document, now)
        .filter((row) => row.state !== 'expired')
        .map((row) => ({
          alg: row.alg,
          client: row.client,
          kid: row.kid,
          state: row.state,
          until: row.state === 'retired' ? row.retire_after : row.rotate_after,
          use: row.use,
        })),
    }
  })
}

/** Why /debug answers 404 where the page is off, and how to turn it on: said on start-up too. */
export const DEBUG_PAGE_OFF =
  'the token debugger page is off: serve turns it on by default only when listening on loopback; start serve with --debug-page on to serve it here'

const OFF_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>jwtis: token debugger off</title></head>
<body>
<h1>The token debugger is off on this server</h1>
<p><code>jwtis serve</code> serves the page at <code>/debug</code> by default only when it listens on loopback
(127.0.0.1, ::1). To serve it on this listener, start it with <code>--debug-page on</code>, or run one on loopback
for yourself: <code>jwtis serve --listen 127.0.0.1:4456</code>.</p>
</body>
</html>
`

/**
 * Where the page is off (`--debug-page off`, or a listener that is not loopback), `/debug`
 * answers 404 saying so and how to turn it on: an HTML page to a browser, the contract's JSON
 * error shape to anything else.
 */
export async function debugOffRoutes(app: FastifyInstance): Promise<void> {
  app.get('/debug', debugPageOff)
  app.get('/debug/*', debugPageOff)
}

async function debugPageOff(request: FastifyRequest, reply: FastifyReply) {
  reply.code(404).header('cache-control', 'no-store')
  if (/\btext\/html\b/.test(request.headers.accept ?? ''))
    return reply.type('text/html; charset=utf-8').header('content-security-policy', DEBUG_CSP).send(OFF_PAGE)
  return reply.send({error: {code: 'NOT_FOUND', message: DEBUG_PAGE_OFF}})
}
