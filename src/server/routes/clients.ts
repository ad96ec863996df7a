import type {FastifyInstance} from 'fastify'

import type {Issuer} from '../../core/issuer.js'

import {addClient} from '../../core/clients.js'
import {body, duration, encAlg, kidParam, ms, seal, sigAlg, strategy} from '../schemas.js'

interface RegisterBody {
  aud?: string[]
  auth_ttl?: number | string
  enc_alg?: string
  enc_bits?: number
  encrypt_access?: boolean
  expiry?: number | string
  jwks?: unknown
  jwks_uri?: string
  redirect_uris?: string[]
  refresh_seal?: string
  refresh_strategy?: string
  refresh_ttl?: number | string
  /** RFC 7591 §2: space-separated scope values. */
  scope?: string
  session_ttl?: number | string
  sig_alg?: string
  sig_bits?: number
}

/** JWTIS's `POST /register/{kid}`: a new client with its own keys (admin only). */
export async function clientRoutes(app: FastifyInstance, {issuer}: {issuer: Issuer}): Promise<void> {
  app.post<{Body: RegisterBody; Params: {kid: string}}>(
    '/register/:kid',
    {
      config: {access: 'admin'},
      async preValidation(request) {
        request.body ??= {} // JWTIS clients may send no body at all
      },
      schema: {
        ...kidParam,
        ...body({
          aud: {items: {maxLength: 1024, minLength: 1, type: 'string'}, maxItems: 32, type: 'array'},
          auth_ttl: duration,
          enc_alg: encAlg,
          enc_bits: {minimum: 0, type: 'integer'},
          encrypt_access: {type: 'boolean'},
          expiry: duration,
          jwks: {type: 'object'},
          jwks_uri: {maxLength: 2048, type: 'string'},
          redirect_uris: {items: {maxLength: 2048, minLength: 1, type: 'string'}, maxItems: 64, type: 'array'},
          refresh_seal: seal,
          refresh_strategy: strategy,
          refresh_ttl: duration,
          scope: {maxLength: 4096, type: 'string'},
          session_ttl: duration,
          sig_alg: sigAlg,
          sig_bits: {minimum: 0, type: 'integer'},
        }),
      },
    },
    async (request, reply) => {
      const b = request.body
      const result = await addClient(
        issuer.vault,
        request.params.kid,
        {
          accessTtl: ms(b.auth_ttl, 'auth_ttl'),
          aud: b.aud,
          encAlg: b.enc_alg,
          encBits: b.enc_bits || undefined,
          encryptAccess: b.encrypt_access,
          jwks: b.jwks,
          jwksUri: b.jwks_uri,
          keyTtl: ms(b.expiry, 'expiry'),
          redirectUris: b.redirect_uris,
          refreshSeal: b.refresh_seal,
          refreshStrategy: b.refresh_strategy,
          refreshTtl: ms(b.refresh_ttl, 'refresh_ttl'),
          scopes: b.scope === undefined ? undefined : [b.scope],
          sessionTtl: ms(b.session_ttl, 'session_ttl'),
          sigAlg: b.sig_alg,
          sigBits: b.sig_bits || undefined,
        },
        new Date(issuer.now()),
      )
      return reply.code(201).send(result)
    },
  )
}
