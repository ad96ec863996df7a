import {ASSERTION_ALGS} from '../../core/oauth.js'
import {ENC_ALGS, ENCS, isHmac, SIG_ALGS} from '../../jose/algorithms.js'
import {AUTH_METHODS, OAUTH_PATHS, type OAuthContext} from './context.js'

/**
 * RFC 8414 §2 authorization server metadata: every field that applies to what this server does.
 * `issuer` is the vault's issuer exactly (a client compares it with the one it configured);
 * the endpoints are absolute URLs under ctx.base().
 */
export function authorizationServerMetadata(ctx: OAuthContext): Record<string, unknown> {
  const base = ctx.base()
  const doc = ctx.issuer.vault.document
  const clientAuth: Record<string, string[]> = {
    auth_methods_supported: [...AUTH_METHODS],
    auth_signing_alg_values_supported: [...ASSERTION_ALGS],
  }
  const endpoint = (name: keyof typeof OAUTH_PATHS, auth = clientAuth) =>
    Object.fromEntries([
      [`${name}_endpoint`, `${base}${OAUTH_PATHS[name]}`],
      ...Object.entries(auth).map(([key, value]) => [`${name}_endpoint_${key}`, value]),
    ]) as Record<string, unknown>
  const scopes = new Set(Object.values(doc.clients).flatMap((c) => c.settings.scopes ?? []))
  return {
    issuer: doc.issuer.name,
    ...endpoint('token'),
    ...endpoint('revocation'),
    // the client's own bearer token (and the admin token) are taken too, as before these methods
    ...endpoint('introspection', {...clientAuth, auth_methods_supported: [...AUTH_METHODS, 'bearer']}),
    grant_types_supported: Object.keys(ctx.grants),
    jwks_uri: `${base}${OAUTH_PATHS.jwks}`,
    // no authorization endpoint without --dev-login: no response type either
    response_types_supported: [],
    scopes_supported: [...scopes].sort(),
    ...(ctx.devLogin ? {code_challenge_methods_supported: ['S256']} : {}),
    ...ctx.providerMetadata?.(base),
  }
}

/**
 * `/.well-known/openid-configuration`: the same, plus what verifiers of this issuer's tokens
 * have always read here (the signing and sealing algorithms). Without --dev-login it is no
 * OpenID Provider's: the OP's required fields come with ctx.providerMetadata.
 */
export function openidConfiguration(ctx: OAuthContext): Record<string, unknown> {
  return {
    // (grantedScopes refuses openid to HMAC clients: nobody else could verify their ID tokens)
    id_token_signing_alg_values_supported: SIG_ALGS.filter((alg) => !isHmac(alg)),
    request_object_encryption_alg_values_supported: [...ENC_ALGS],
    request_object_encryption_enc_values_supported: [...ENCS],
    ...authorizationServerMetadata(ctx),
  }
}
