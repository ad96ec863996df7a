import type {FastifyInstance} from 'fastify'

import type {OAuthContext} from '../oauth/context.js'

import {authorizationServerMetadata, openidConfiguration} from '../oauth/metadata.js'

/**
 * RFC 8414 authorization server metadata and OpenID Connect Discovery. Their URLs never come
 * from the request (Host, X-Forwarded-Host): any caller picks those, and one answer kept by a
 * shared cache would send every client to the caller's endpoints and keys. So the answer is the
 * same for everyone, and public caching is safe.
 */
export async function oauthMetadataRoutes(app: FastifyInstance, {ctx}: {ctx: OAuthContext}) {
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return authorizationServerMetadata(ctx)
  })
  app.get('/.well-known/openid-configuration', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return openidConfiguration(ctx)
  })
}
