import type {VaultDocument} from '../model/document.js'
import type {IssuedTokens, Issuer} from './issuer.js'

import {JwtisError, TokenRejectedError, UsageError} from '../common/errors.js'
import {
  checkPublicJwks,
  decodeToken,
  DEFAULT_LEEWAY_MS,
  isHmac,
  type JWK,
  Keyring,
  SIG_ALGS,
  verifyJws,
} from '../jose/index.js'
import {allowedAudiences, clientSettings, getClient, refusedScopes} from './clients.js'
import {parseScope} from './oauth-client.js'

/**
 * OAuth 2.0 grants over the Issuer, without HTTP: what the token endpoint decides (scopes,
 * audiences, assertions) and the tokens it answers with. The routes in src/server/routes/oauth-*
 * read the form and authenticate the client; everything they refuse here is an OAuthError.
 */

/** RFC 6749 §5.2 error codes, RFC 8707's `invalid_target`. */
export type OAuthErrorCode =
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_request'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_token_type'

export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description)
  }
}

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
/** Assertions are signed with the client's own asymmetric key: never HMAC, whose key would be the vault's. */
export const ASSERTION_ALGS: readonly string[] = SIG_ALGS.filter((alg) => !isHmac(alg))
/** The longest an assertion may live (authlib signs for an hour by default; openid-client for a minute). */
export const ASSERTION_MAX_LIFETIME_MS = 3_600_000
const MAX_JTI = 256

/** The token endpoint's answer (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string
  expires_in: number
  /** OpenID Connect Core §3.1.3.3: the authorization code grant's, with `openid` in scope. */
  id_token?: string
  refresh_token?: string
  scope?: string
  token_type: 'Bearer'
}

export function tokenResponse(tokens: IssuedTokens, scopes: string[]): TokenResponse {
  return {
    access_token: tokens.access_token,
    expires_in: tokens.expires_in,
    ...(tokens.refresh_token === undefined ? {} : {refresh_token: tokens.refresh_token}),
    ...(scopes.length > 0 ? {scope: scopes.join(' ')} : {}),
    token_type: 'Bearer',
  }
}

/**
 * The scopes to grant: those asked for, each registered for the client (`openid` only for a
 * client with a redirect URI, which the OpenID flows need); without `scope`, all it registered
 * (RFC 6749 §3.3 lets the server pick a default).
 */
export function grantedScopes(doc: Readonly<VaultDocument>, client: string, requested: string | undefined): string[] {
  if (requested === undefined) return clientSettings(doc, client).scopes ?? []
  let wanted: string[]
  try {
    wanted = parseScope(requested)
  } catch (error) {
    throw new OAuthError('invalid_scope', (error as Error).message)
  }

  const refused = refusedScopes(doc, client, wanted)
  if (refused.length > 0) {
    const why = refused.includes('openid') ? ' (openid needs a registered redirect URI and a non-HMAC sig_alg)' : ''
    throw new OAuthError(
      'invalid_scope',
      `client ${client} is not registered for scope ${refused.join(' ')}${why}: see \`jwtis client update ${client} --scope ...\``,
    )
  }

  return wanted
}

/**
 * The `aud` of the token: the `resource` (RFC 8707) and `audience` values asked for, each one
 * the client is registered for; none asked: all of them, as `token issue` does.
 */
export function grantedAudiences(doc: Readonly<VaultDocument>, client: string, requested: string[]): string[] {
  const allowed = allowedAudiences(doc, client)
  if (requested.length === 0) return allowed
  const refused = requested.filter((a) => !allowed.includes(a))
  if (refused.length > 0) {
    throw new OAuthError(
      'invalid_target',
      `client ${client} may not get tokens for ${refused.map((a) => JSON.stringify(a)).join(', ')}: see \`jwtis client update ${client} --aud ...\``,
    )
  }

  return [...new Set(requested)]
}

/**
 * The keys a client signs its assertions with: its registered `jwks`, or the JWK Set at its
 * `jwks_uri` (fetched by the caller, which may cache it). Undefined when it registered neither.
 */
export async function assertionKeys(
  doc: Readonly<VaultDocument>,
  client: string,
  fetchJwks: (uri: string) => Promise<unknown>,
): Promise<Keyring | undefined> {
  const {jwks, jwksUri} = clientSettings(doc, client)
  let set = jwks
  if (set === undefined && jwksUri !== undefined) {
    const fetched = await fetchJwks(jwksUri)
    try {
      set = checkPublicJwks(fetched, jwksUri)
    } catch (error) {
      // the client's own keys are unusable: it cannot authenticate (RFC 6749 §5.2), the request is fine
      if (error instanceof UsageError) throw new OAuthError('invalid_client', error.message)
      throw error
    }
  }

  return set && new Keyring(set.keys.map((jwk: JWK) => ({alg: jwk.alg, jwk, kid: jwk.kid, use: 'sig'})))
}

export interface AssertionCheck {
  /** Accepted `aud` values: the issuer and the token endpoint's URL. */
  audiences: string[]
  /** `invalid_client` (client authentication, RFC 7523 §3.2) or `invalid_grant` (the jwt-bearer grant, §3.1). */
  failAs: 'invalid_client' | 'invalid_grant'
  fetchJwks: (uri: string) => Promise<unknown>
  /** Client authentication: `sub` must be the client too (RFC 7523 §3 item B). */
  subjectIsClient: boolean
}

/**
 * An RFC 7523 assertion checked: `iss` a client with registered keys, one of which signed it
 * (asymmetric algorithms only), `aud` the issuer or the token endpoint, `exp` present and at
 * most ASSERTION_MAX_LIFETIME_MS away, a `jti` not seen before (claimed in the store until the
 * assertion expires, so a replay is refused by every worker). Returns the client and subject.
 */
export async function verifyAssertion(
  issuer: Issuer,
  assertion: string,
  check: AssertionCheck,
): Promise<{client: string; sub: string}> {
  const fail = (message: string) => new OAuthError(check.failAs, message)
  let claims: Record<string, unknown>
  try {
    claims = (decodeToken(assertion).payload ?? {}) as Record<string, unknown>
  } catch (error) {
    throw fail(`the assertion is not a signed JWT: ${(error as Error).message}`)
  }

  const client = claims.iss
  const doc = issuer.vault.document
  if (typeof client !== 'string' || !Object.hasOwn(doc.clients, client)) {
    throw fail('the assertion\'s "iss" is not a registered client')
  }

  const keyring = await assertionKeys(doc, client, check.fetchJwks)
  if (!keyring) {
    throw new OAuthError(
      check.failAs === 'invalid_client' ? 'invalid_client' : 'unauthorized_client',
      `client ${client} has no registered keys for assertions: \`jwtis client update ${client} --jwks FILE|URL\``,
    )
  }

  const now = issuer.now()
  let payload: Record<string, unknown>
  try {
    ;({payload} = await verifyJws(assertion, {
      algorithms: [...ASSERTION_ALGS],
      audience: check.audiences,
      issuer: client,
      keyring,
      leewayMs: DEFAULT_LEEWAY_MS,
      now,
      subject: check.subjectIsClient ? client : undefined,
    }))
  } catch (error) {
    if (error instanceof TokenRejectedError || error instanceof UsageError) throw fail(`assertion: ${error.message}`)
    throw error
  }

  const {exp, jti, sub} = payload
  if (typeof sub !== 'string' || sub === '') throw fail('the assertion has no "sub"')
  // (with the leeway: a client whose clock is ahead signs exp = its now + the maximum)
  if ((exp as number) * 1000 - now > ASSERTION_MAX_LIFETIME_MS + DEFAULT_LEEWAY_MS) {
    throw fail(`the assertion expires more than ${ASSERTION_MAX_LIFETIME_MS / 60_000} minutes from now`)
  }

  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI) throw fail('the assertion needs a "jti"')
  if (!(await issuer.claimOnce('assertion', `${client}\u0000${jti}`, (exp as number) * 1000 + DEFAULT_LEEWAY_MS))) {
    throw fail('this assertion was already used (its "jti" was seen before)')
  }

  return {client, sub}
}

/** What a grant was asked for, beside its own parameters. */
export interface GrantRequest {
  /** `resource` and `audience` values: the `aud` asked for. */
  resources: string[]
  scope?: string
}

/** RFC 6749 §4.4: a token for the client itself (no refresh token: §4.4.3). */
export async function clientCredentialsGrant(
  issuer: Issuer,
  client: string,
  request: GrantRequest,
): Promise<TokenResponse> {
  const doc = issuer.vault.document
  const scopes = grantedScopes(doc, client, request.scope)
  const aud = grantedAudiences(doc, client, request.resources)
  const tokens = await issueTokens(issuer, client, {aud, refresh: false, scopes, sub: client})
  return tokenResponse(tokens, scopes)
}

/**
 * RFC 7523 §2.1: the client names the user in an assertion signed with its own key. Client
 * authentication is optional (§3.1): without it (`authenticated` undefined) the assertion's `iss`,
 * whose registered key signed it, is the client; with it, the two must agree.
 */
export async function jwtBearerGrant(
  issuer: Issuer,
  authenticated: string | undefined,
  request: GrantRequest & Pick<AssertionCheck, 'audiences' | 'fetchJwks'> & {assertion: string},
): Promise<TokenResponse> {
  const {audiences, fetchJwks} = request
  const check = {audiences, failAs: 'invalid_grant', fetchJwks, subjectIsClient: false} as const
  const asserted = await verifyAssertion(issuer, request.assertion, check)
  const client = authenticated ?? asserted.client
  if (asserted.client !== client) {
    throw new OAuthError('invalid_grant', `the assertion was issued by ${asserted.client}, not by ${client}`)
  }

  const doc = issuer.vault.document
  const scopes = grantedScopes(doc, client, request.scope)
  const aud = grantedAudiences(doc, client, request.resources)
  const refresh = clientSettings(doc, client).refreshStrategy !== 'noRefresh'
  return tokenResponse(await issueTokens(issuer, client, {aud, refresh, scopes, sub: asserted.sub}), scopes)
}

/**
 * Tokens for a grant: `scope` as a claim (RFC 9068 §2.2.3), carried into renewals with the
 * refresh family. A refresh token only when asked and the client's strategy renews at all.
 */
export async function issueTokens(
  issuer: Issuer,
  client: string,
  grant: {
    aud: string[]
    claims?: Record<string, unknown>
    /** The refresh family's id (an authorization code's, which a reuse of the code revokes). */
    family?: string
    /** The access token's id (an authorization code's, likewise). */
    jti?: string
    refresh: boolean
    scopes: string[]
    sub: string
  },
): Promise<IssuedTokens> {
  getClient(issuer.vault.document, client)
  const custom = {...grant.claims, ...(grant.scopes.length > 0 ? {scope: grant.scopes.join(' ')} : {})}
  const {aud, family, jti, refresh, sub} = grant
  return issuer.issue(client, {aud, custom, family, jti, refresh, sub})
}

/**
 * RFC 6749 §6, by the issuer's rotation and reuse detection (a spent token revokes its family:
 * `invalid_grant`). A `scope` or `resource` may only name what the family already has; the
 * tokens keep the family's (a narrower token would need a new family).
 */
export async function refreshTokenGrant(
  issuer: Issuer,
  client: string,
  request: GrantRequest & {refreshToken: string},
): Promise<TokenResponse> {
  let wanted: string[] = []
  try {
    wanted = request.scope === undefined ? [] : parseScope(request.scope)
  } catch (error) {
    throw new OAuthError('invalid_scope', (error as Error).message)
  }

  let scopes: string[] = []
  const check = ({aud, custom}: {aud: string[]; custom: Record<string, unknown>}) => {
    scopes = typeof custom.scope === 'string' ? custom.scope.split(' ') : []
    const extra = wanted.filter((s) => !scopes.includes(s))
    if (extra.length > 0) throw new OAuthError('invalid_scope', `the refresh token was not granted ${extra.join(' ')}`)
    const outside = request.resources.filter((a) => !aud.includes(a))
    if (outside.length > 0) {
      throw new OAuthError('invalid_target', `the refresh token was not granted for ${outside.join(', ')}`)
    }
  }

  try {
    return tokenResponse(await issuer.renew(client, request.refreshToken, {check}), scopes)
  } catch (error) {
    // A token that is not this client's, spent, revoked or expired, or for an audience taken
    // away from the client since: all the same to the client.
    const rejected = error instanceof TokenRejectedError
    if (rejected || (error instanceof JwtisError && error.code === 'AUDIENCE_NOT_ALLOWED')) {
      throw new OAuthError('invalid_grant', error.message)
    }

    throw error
  }
}

/**
 * RFC 7009 §2.1: revokes `client`'s refresh token, with its whole family, or its access token
 * (online checks refuse it until it expires). A token of another client is left as it is and
 * answered `other_client`, which the caller refuses (the client is told, as §2.1 asks; every
 * client here authenticates, so this tells nothing to someone guessing tokens). Anything else
 * (garbage, expired) is left as it is and, as §2.2 asks, not reported. Answers `access_token` for
 * a valid access token of the client without `jti` or `exp` to revoke it by, which the caller
 * reports as `unsupported_token_type`.
 */
export async function revokeToken(
  issuer: Issuer,
  client: string,
  token: string,
): Promise<'access_token' | 'done' | 'other_client'> {
  try {
    await issuer.revokeRefreshToken(token, client)
    return 'done'
  } catch (error) {
    if (!(error instanceof TokenRejectedError)) throw error
    if (error.code === 'WRONG_CLIENT') return 'other_client'
  }

  let verified
  try {
    // with every key of the vault: another client's token is told apart from garbage
    verified = await issuer.verify(token, {leewayMs: 0})
  } catch (error) {
    if (error instanceof TokenRejectedError) return 'done'
    throw error
  }

  if (verified.key.client !== client) return 'other_client'
  return (await issuer.revokeAccessToken(client, verified.payload)) ? 'done' : 'access_token'
}
