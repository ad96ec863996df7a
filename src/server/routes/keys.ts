import type {FastifyInstance} from 'fastify'
import type {AddressInfo} from 'node:net'

import {createHash} from 'node:crypto'

import type {Issuer} from '../../core/issuer.js'

import {clientKeysView, getClient} from '../../core/clients.js'
import {publishedKeys} from '../../core/lifecycle.js'
import {ENC_ALGS, ENCS, SIG_ALGS} from '../../jose/algorithms.js'
import {publicBase} from '../public-url.js'
import {kidParam} from '../schemas.js'

/** The address the server listens on, as a URL: a request came in on it, so it is listening. */
function listenBase(address: AddressInfo | null | string): string {
  const {address: host, family, port} = address as AddressInfo
  return `http://${family === 'IPv6' ? `[${host}]` : host}:${port}`
}

/**
 * The public keys, which anyone may read: one client's (JWTIS's `GET /keys/{kid}`), the JWKS of
 * all, and the discovery document that tells verifiers where they are.
 */
export async function keyRoutes(app: FastifyInstance, {issuer, publicUrl}: {issuer: Issuer; publicUrl?: string}) {
  app.get<{Params: {kid: string}}>('/keys/:kid', {schema: kidParam}, async (request) => {
    const doc = issuer.vault.document
    const view = clientKeysView(doc, request.params.kid, new Date(issuer.now()))
    const {refreshStrategy} = {...doc.issuer.defaults, ...getClient(doc, request.params.kid).settings}
    return {
      enc: view.pub_enc_key,
      expiry: view.expiry,
      jwks: {keys: publishedKeys(doc, issuer.now(), {client: request.params.kid})},
      refresh_strategy: refreshStrategy,
      sig: view.pub_sig_key,
      valid: view.valid,
    }
  })

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
}
