import type {FastifyInstance} from 'fastify'

import {createHash} from 'node:crypto'

import type {Issuer} from '../../core/issuer.js'

import {clientKeysView, getClient} from '../../core/clients.js'
import {publishedKeys} from '../../core/lifecycle.js'
import {kidParam} from '../schemas.js'

/**
 * The public keys, which anyone may read: one client's (JWTIS's `GET /keys/{kid}`) and the JWKS
 * of all. The discovery documents that tell verifiers where they are: ./oauth-metadata.ts.
 */
export async function keyRoutes(app: FastifyInstance, {issuer}: {issuer: Issuer}) {
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
}
