import type {FastifyInstance} from 'fastify'
import type {AddressInfo} from 'node:net'

import {createHash} from 'node:crypto'

import type {Issuer} from '../../core/issuer.js'
import type {Metrics} from '../metrics.js'

import {redact} from '../../common/redact.js'
import {publishedKeys} from '../../core/lifecycle.js'
import {ENC_ALGS, ENCS, SIG_ALGS} from '../../jose/algorithms.js'
import {publicBase} from '../public-url.js'

const up = () => ({error: undefined, state: 'ok'})
const failed = (state: 'degraded' | 'unavailable') => (error: Error & {code?: string}) => ({
  error: {code: error.code ?? 'INTERNAL', message: redact(error.message)},
  state,
})
const down = failed('unavailable')

/** The address the server listens on, as a URL: a request came in on it, so it is listening. */
function listenBase(address: AddressInfo | null | string): string {
  const {address: host, family, port} = address as AddressInfo
  return `http://${family === 'IPv6' ? `[${host}]` : host}:${port}`
}

/** What anyone may read: the JWKS, liveness, health and metrics (public keys and counters only). */
export async function metaRoutes(
  app: FastifyInstance,
  {
    issuer,
    metrics,
    metricsText,
    publicUrl,
  }: {issuer: Issuer; metrics: Metrics; metricsText?: () => Promise<string>; publicUrl?: string},
) {
  app.get('/.well-known/jwks.json', async (request, reply) => {
    const text = JSON.stringify({keys: publishedKeys(issuer.vault.document, issuer.now())})
    const etag = `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`
    // Short-lived: a rotation's new key signs at once, and verifiers refetch on an unknown kid.
    reply.header('cache-control', 'public, max-age=60').header('etag', etag).type('application/json')
    if (request.headers['if-none-match'] === etag) return reply.code(304).send()
    return reply.send(text)
  })

  // Discovery for verifiers (RFC 8414 / OpenID Connect Discovery field names): where the keys and
  // the introspection endpoint are, and which algorithms tokens may be signed and sealed with.
  // Its URLs never come from the request (Host, X-Forwarded-Host): any caller picks those, and one
  // answer kept by a shared cache would send every verifier to the caller's keys. So the answer
  // is the same for everyone, and public caching is safe.
  app.get('/.well-known/openid-configuration', async (_request, reply) => {
    const base = publicUrl ?? publicBase(issuer.vault.document.issuer.name) ?? listenBase(app.server.address())
    reply.header('cache-control', 'public, max-age=300')
    return {
      id_token_signing_alg_values_supported: [...SIG_ALGS],
      introspection_endpoint: `${base}/introspect`,
      introspection_endpoint_auth_methods_supported: ['bearer'],
      issuer: issuer.vault.document.issuer.name,
      jwks_uri: `${base}/.well-known/jwks.json`,
      request_object_encryption_alg_values_supported: [...ENC_ALGS],
      request_object_encryption_enc_values_supported: [...ENCS],
      token_endpoint_auth_methods_supported: ['bearer'],
    }
  })

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
