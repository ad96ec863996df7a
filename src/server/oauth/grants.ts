import {clientCredentialsGrant, JWT_BEARER_GRANT, jwtBearerGrant, refreshTokenGrant} from '../../core/oauth.js'
import {assertionAudiences, type Grant, type OAuthContext} from './context.js'
import {type Form, param, required} from './form.js'

/** `resource` (RFC 8707, repeatable) and `audience` (as Auth0 and others spell it): the `aud` asked for. */
export const resourcesOf = (form: Form): string[] => [...(form.resource ?? []), ...(form.audience ?? [])]

/** The jwt-bearer grant, for the authenticated client or (none authenticated) the assertion's issuer. */
export const jwtBearer = async (ctx: OAuthContext, form: Form, client?: string) =>
  jwtBearerGrant(ctx.issuer, client, {
    assertion: required(form, 'assertion'),
    audiences: assertionAudiences(ctx),
    fetchJwks: ctx.fetchJwks,
    resources: resourcesOf(form),
    scope: param(form, 'scope'),
  })

/**
 * The grant types of the token endpoint, by `grant_type`. `serve --dev-login` adds
 * `authorization_code` to a copy of this table (OAuthContext.grants); the metadata's
 * `grant_types_supported` is read from that same table.
 */
export const GRANTS: Readonly<Record<string, Grant>> = {
  client_credentials: async ({client, ctx, form}) =>
    clientCredentialsGrant(ctx.issuer, client, {resources: resourcesOf(form), scope: param(form, 'scope')}),
  [JWT_BEARER_GRANT]: async ({client, ctx, form}) => jwtBearer(ctx, form, client),
  refresh_token: async ({client, ctx, form}) =>
    refreshTokenGrant(ctx.issuer, client, {
      refreshToken: required(form, 'refresh_token'),
      resources: resourcesOf(form),
      scope: param(form, 'scope'),
    }),
}
