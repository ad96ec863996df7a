import type {FastifyInstance, FastifyRequest} from 'fastify'
import type {AddressInfo} from 'node:net'

import type {Issuer} from '../../core/issuer.js'
import type {TokenResponse} from '../../core/oauth.js'
import type {FailureLimiter} from '../ratelimit.js'
import type {Form} from './form.js'

import {publicBase} from '../public-url.js'
import {jwksFetcher} from './jwks-fetch.js'

/** Where each endpoint is, under the base URL (the metadata tells clients; nothing else should hard-code them). */
export const OAUTH_PATHS = {
  introspection: '/introspect',
  jwks: '/.well-known/jwks.json',
  revocation: '/revoke',
  token: '/token',
} as const

/** The client authentication methods of the token, revocation and introspection endpoints (RFC 8414 names). */
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const
export type AuthMethod = (typeof AUTH_METHODS)[number]

/** What a grant gets: the server's context, the authenticated client, and the form. */
export interface GrantInput {
  client: string
  ctx: OAuthContext
  form: Form
  method: AuthMethod
  request: FastifyRequest
}

/**
 * One grant type of the token endpoint (see ./grants.ts). The endpoint has authenticated the
 * client (./client-auth.ts); a grant refuses with OAuthError. Its answer gets the no-store headers.
 */
export type Grant = (input: GrantInput) => Promise<TokenResponse>

/**
 * What `serve --dev-login` adds (OpenID Discovery 1.0 §3's OP fields: the authorization and
 * userinfo endpoints, response types, subject types, claims...): given the base URL, merged over
 * the metadata documents (./metadata.ts).
 */
export type ProviderMetadata = (base: string) => Record<string, unknown>

/** What the OAuth routes share: one per server. */
export interface OAuthContext {
  /**
   * The absolute base of every endpoint URL: `--public-url`, else the issuer when it is a URL,
   * else the listen address. Never the Host header: see the metadata route.
   */
  base(): string
  /** `serve --dev-login`: the OpenID Provider parts (authorization endpoint, userinfo) are on. */
  devLogin: boolean
  fetchJwks: (uri: string) => Promise<unknown>
  /** The grant types the token endpoint takes, by `grant_type` (see ./grants.ts). */
  grants: Readonly<Record<string, Grant>>
  issuer: Issuer
  /** The failed-authentication limiter every credential check shares (./auth.ts). */
  limiter: FailureLimiter
  /** `--dev-login`'s OpenID Provider fields, merged into both metadata documents. */
  providerMetadata?: ProviderMetadata
  publicUrl?: string
}

/** The address the server listens on, as a URL: a request came in on it, so it is listening. */
function listenBase(address: AddressInfo | null | string): string {
  const {address: host, family, port} = address as AddressInfo
  return `http://${family === 'IPv6' ? `[${host}]` : host}:${port}`
}

export function oauthContext(
  app: FastifyInstance,
  options: Omit<OAuthContext, 'base' | 'devLogin' | 'fetchJwks'> & {devLogin?: boolean},
): OAuthContext {
  const {issuer, publicUrl} = options
  return {
    ...options,
    base: () => publicUrl ?? publicBase(issuer.vault.document.issuer.name) ?? listenBase(app.server.address()),
    devLogin: options.devLogin ?? false,
    fetchJwks: jwksFetcher(),
  }
}

/**
 * The `aud` values an assertion may carry (RFC 7523 §3 item C): the issuer, or the token
 * endpoint's URL (under --public-url, and under the issuer when it is a URL and differs), or
 * the URL of `endpoint`, the one authenticating the client (RFC 7523 §3 lets a revocation or
 * introspection client address its assertion to the endpoint it calls).
 */
export function assertionAudiences(ctx: OAuthContext, endpoint: string = OAUTH_PATHS.token): string[] {
  const {name} = ctx.issuer.vault.document.issuer
  const bases = [ctx.base(), publicBase(name)].filter((b): b is string => b !== undefined)
  const paths = [OAUTH_PATHS.token, endpoint]
  return [...new Set([name, ...bases.flatMap((b) => paths.map((path) => `${b}${path}`))])]
}
