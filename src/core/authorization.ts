import {createHash, randomBytes} from 'node:crypto'

import type {VaultDocument} from '../model/document.js'

import {ClaimsError, NotFoundError, TokenRejectedError} from '../common/errors.js'
import {checkClaimsSize} from '../common/limits.js'
import {
  type Claims,
  decryptJwe,
  ISSUER_SEAL_ALG,
  Keyring,
  parseClaimsJson,
  RESERVED_CLAIMS,
  s256Challenge,
  sealJwe,
  signJws,
  tokenHash,
} from '../jose/index.js'
import {clientSettings} from './clients.js'
import {type Issuer} from './issuer.js'
import {grantedAudiences, grantedScopes, issueTokens, OAuthError, tokenResponse, type TokenResponse} from './oauth.js'
import {rotateSealKey, sealDueAt} from './rotation.js'
import {issuerLimits} from './settings.js'

/**
 * The authorization code flow of `serve --dev-login` (RFC 6749 §4.1, PKCE RFC 7636, OpenID
 * Connect Core §3.1), without the HTTP: what /authorize checks, the login form's and the code's
 * contents, the exchange, userinfo. Nothing new is kept between the steps: the form and the code
 * are sealed by the issuer (JWE A256KW under its key-wrapping key), so any serve worker or
 * instance opens them, and only the code's id reaches the store, claimed once at the exchange.
 */

/** How long a code may wait for its exchange (RFC 6749 §4.1.2: short, 10 minutes at most). */
export const CODE_TTL_MS = 60_000
/** How long the login page may stay open before its form is refused. */
export const LOGIN_FORM_TTL_MS = 15 * 60_000

/**
 * An error of the authorization endpoint, sent back to the client's redirect URI (RFC 6749
 * §4.1.2.1), or of userinfo, sent in WWW-Authenticate (RFC 6750 §3.1): their codes are not the
 * token endpoint's (OAuthError).
 */
export class AuthorizationError extends Error {
  constructor(
    readonly error:
      | 'insufficient_scope'
      | 'invalid_request'
      | 'invalid_token'
      | 'login_required'
      | 'request_not_supported'
      | 'unsupported_response_type',
    readonly description: string,
  ) {
    super(description)
  }
}

/** A failure of /authorize that must not redirect (unknown client, unregistered redirect URI): an error page. */
export class NotRedirectableError extends Error {}

/** A checked authorization request: what the login form carries and the code is bound to. */
export interface AuthorizationRequest {
  client_id: string
  code_challenge: string
  login_hint?: string
  nonce?: string
  redirect_uri: string
  /** The request named its redirect_uri: the exchange must name it too (RFC 6749 §4.1.3). */
  redirect_uri_given: boolean
  scope: string[]
  state?: string
}

/** Who signed in on the login page, and the claims they asked for. */
export interface Login {
  claims: Claims
  subject: string
}

interface CodeContents extends AuthorizationRequest, Login {
  /** When the login happened (s): the ID token's `auth_time`. */
  auth_time: number
  id: string
}

export type Params = Record<string, string | string[] | undefined>

/** Claims the issuer sets on the tokens of this flow: extra claims from the login page may not name them. */
const ISSUED_CLAIMS = new Set<string>([
  'at_hash',
  'aud',
  'auth_time',
  'azp',
  'c_hash',
  'cnf',
  'nonce',
  'scope',
  'sub',
  ...RESERVED_CLAIMS,
])
const MAX_PARAM_CHARS = 2048
/** RFC 7636 §4.1–4.2: a verifier is 43 to 128 unreserved characters; an S256 challenge is 43. */
const VERIFIER = /^[\w.~-]{43,128}$/
const CHALLENGE = /^[\w-]{43}$/

/** One parameter's value; a repeated one is refused (RFC 6749 §3.1). */
function single(params: Params, name: string, fail: (message: string) => Error): string | undefined {
  const value = params[name]
  if (Array.isArray(value)) throw fail(`${name} is given more than once`)
  if (value !== undefined && value.length > MAX_PARAM_CHARS)
    throw fail(`${name} is longer than ${MAX_PARAM_CHARS} characters`)
  return value === '' ? undefined : value
}

const notRedirectable = (message: string) => new NotRedirectableError(message)

/**
 * The client and redirect URI of an authorization request, or NotRedirectableError: an unknown
 * client or a redirect URI it did not register must never be redirected to (RFC 6749 §4.1.2.1).
 */
export function authorizationTarget(
  doc: Readonly<VaultDocument>,
  params: Params,
): {client: string; given: boolean; redirectUri: string} {
  const client = single(params, 'client_id', notRedirectable)
  if (client === undefined) throw notRedirectable('the request has no client_id')
  if (!Object.hasOwn(doc.clients, client)) throw notRedirectable(`no client "${client}" is registered here`)
  const {redirectUris = []} = clientSettings(doc, client)
  if (redirectUris.length === 0)
    throw notRedirectable(`client "${client}" has no registered redirect URI (client update --redirect-uri)`)
  const asked = single(params, 'redirect_uri', notRedirectable)
  if (asked === undefined) {
    if (redirectUris.length === 1) return {client, given: false, redirectUri: redirectUris[0]}
    throw notRedirectable(
      `client "${client}" registered several redirect URIs: the request must name one (redirect_uri)`,
    )
  }

  if (!redirectUris.includes(asked)) throw notRedirectable(`redirect_uri is not one that client "${client}" registered`)
  return {client, given: true, redirectUri: asked}
}

/**
 * The rest of the request (RFC 6749 §4.1.1, RFC 7636 §4.3), whose failures are redirected to
 * the client as OAuthError: `response_type=code`, an S256 PKCE challenge, scopes the client
 * registered (`openid` for any client with a redirect URI).
 */
export function checkAuthorization(
  doc: Readonly<VaultDocument>,
  target: {client: string; given: boolean; redirectUri: string},
  params: Params,
): AuthorizationRequest {
  const invalid = (message: string) => new AuthorizationError('invalid_request', message)
  const get = (name: string) => single(params, name, invalid)
  const responseType = get('response_type')
  // RFC 6749 §4.1.2.1: a missing parameter is invalid_request; only a value we do not serve is unsupported
  if (responseType === undefined) throw invalid('response_type is required: send response_type=code')
  if (responseType !== 'code')
    throw new AuthorizationError(
      'unsupported_response_type',
      'only response_type=code (the authorization code flow) is served',
    )
  const method = get('code_challenge_method')
  const challenge = get('code_challenge')
  if (challenge === undefined) throw invalid('PKCE is required: send code_challenge with code_challenge_method=S256')
  if (method !== 'S256') throw invalid('code_challenge_method must be S256 (plain is refused)')
  if (!CHALLENGE.test(challenge)) throw invalid('code_challenge is not an S256 challenge (43 base64url characters)')
  const mode = get('response_mode')
  if (mode !== undefined && mode !== 'query') throw invalid('only response_mode=query is served')
  if (get('prompt') === 'none')
    throw new AuthorizationError('login_required', 'the development login always shows its page (prompt=none)')
  if (get('request') !== undefined || get('request_uri') !== undefined)
    throw new AuthorizationError('request_not_supported', 'request objects are not supported')
  // (an OAuthError invalid_scope, which the authorization endpoint redirects as well)
  const scope = grantedScopes(doc, target.client, get('scope'))
  return {
    client_id: target.client,
    code_challenge: challenge,
    login_hint: get('login_hint'),
    nonce: get('nonce'),
    redirect_uri: target.redirectUri,
    redirect_uri_given: target.given,
    scope,
    state: get('state'),
  }
}

/** The extra claims typed on the login page: a JSON object that names none of the issued claims. */
export function loginClaims(text: string): Claims {
  if (text.trim() === '') return {}
  const claims = parseClaimsJson(text, 'the extra claims')
  const taken = Object.keys(claims).filter((name) => ISSUED_CLAIMS.has(name))
  if (taken.length > 0) throw new ClaimsError(`the issuer sets ${taken.join(', ')}: leave them out`)
  checkClaimsSize(claims)
  return claims
}

const seconds = (ms: number): number => Math.floor(ms / 1000)
const issuerKeyrings = new WeakMap<Keyring, Keyring>()

/** The issuer's own key-wrapping keys (which also seal refresh tokens), the active one made when missing or due. */
async function sealKeys(issuer: Issuer): Promise<Keyring> {
  if (sealDueAt(issuer.vault.document) <= issuer.now())
    await rotateSealKey(issuer.vault, {ifDue: true, now: issuer.now()})
  const all = issuer.keyring()
  let own = issuerKeyrings.get(all)
  if (!own) {
    own = new Keyring(all.entries.filter((e) => e.issuer))
    issuerKeyrings.set(all, own)
  }

  return own
}

/** `body` sealed by the issuer for `purpose`, to be opened by it alone before `ttlMs` passes. */
async function seal(issuer: Issuer, purpose: string, body: object, ttlMs: number): Promise<string> {
  const keys = await sealKeys(issuer)
  const key = keys.entries.find((e) => e.use === 'enc' && e.state === 'active')!
  const plaintext = JSON.stringify({...body, exp: issuer.now() + ttlMs, purpose})
  return sealJwe(plaintext, {alg: ISSUER_SEAL_ALG, enc: 'A256GCM', jwk: key.privateJwk!, kid: key.kid})
}

/** What `seal` sealed for `purpose`; undefined when it was altered, sealed for another purpose or has expired. */
async function open<T>(issuer: Issuer, purpose: string, sealed: string): Promise<T | undefined> {
  let body: {exp?: unknown; purpose?: unknown}
  try {
    const {plaintext} = await decryptJwe(sealed, {keyring: await sealKeys(issuer)})
    body = JSON.parse(new TextDecoder().decode(plaintext))
  } catch (error) {
    if (error instanceof TokenRejectedError || error instanceof SyntaxError) return undefined
    throw error
  }

  if (body.purpose !== purpose || typeof body.exp !== 'number' || body.exp <= issuer.now()) return undefined
  return body as T
}

/** The login form's hidden field: the checked request, sealed so it cannot change between the page and its POST. */
export const sealLoginForm = (issuer: Issuer, request: AuthorizationRequest): Promise<string> =>
  seal(issuer, 'login form', request, LOGIN_FORM_TTL_MS)

export const openLoginForm = (issuer: Issuer, sealed: string): Promise<AuthorizationRequest | undefined> =>
  open<AuthorizationRequest>(issuer, 'login form', sealed)

/** The authorization code for a login: the request and the login, sealed, with an id claimed once at the exchange. */
export async function issueCode(issuer: Issuer, request: AuthorizationRequest, login: Login): Promise<string> {
  const code: CodeContents = {
    ...request,
    ...login,
    auth_time: seconds(issuer.now()),
    id: randomBytes(16).toString('base64url'),
  }
  return seal(issuer, 'authorization code', code, CODE_TTL_MS)
}

/**
 * The ids of what a code's exchange issues, its refresh family's and its access token's: derived
 * from the code's id, so that a reused code finds them.
 */
const codeId = (what: 'access' | 'family', id: string): string =>
  createHash('sha256').update(`jwtis code ${what}\u0000${id}`).digest('base64url').slice(0, 22)

export interface CodeExchange {
  /** The authenticated client. */
  client: string
  code: string
  redirectUri?: string
  /** `resource` and `audience` values (RFC 8707 §2.2): the `aud` asked for. */
  resources: string[]
  verifier?: string
}

/** The token response of the code grant: with `openid`, an ID token too. */
export interface CodeTokens extends TokenResponse {
  id_token?: string
}

/**
 * The `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.6): the code must be this
 * client's, for this redirect URI, match the verifier, and never have been used; a reused one
 * also revokes the refresh family its first exchange started (§4.1.2). Failures are
 * `invalid_grant` (`invalid_request` for a missing or malformed parameter).
 */
export async function redeemCode(issuer: Issuer, exchange: CodeExchange): Promise<CodeTokens> {
  const invalid = (message: string) => new OAuthError('invalid_grant', message)
  if (exchange.verifier === undefined) throw new OAuthError('invalid_request', 'code_verifier is required (PKCE)')
  if (!VERIFIER.test(exchange.verifier))
    throw new OAuthError('invalid_request', 'code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)')
  // checked before the code is spent: a wrong resource leaves the code usable
  const aud = grantedAudiences(issuer.vault.document, exchange.client, exchange.resources)
  const code = await open<CodeContents & {exp: number}>(issuer, 'authorization code', exchange.code)
  if (!code) throw invalid('the code is invalid or has expired')
  if (code.client_id !== exchange.client) throw invalid('the code was issued to another client')
  if ((exchange.redirectUri !== undefined || code.redirect_uri_given) && exchange.redirectUri !== code.redirect_uri)
    throw invalid('redirect_uri differs from the authorization request’s')
  if (s256Challenge(exchange.verifier) !== code.code_challenge)
    throw invalid('code_verifier does not match the code_challenge')
  if (!(await issuer.claimOnce('code', code.id, code.exp))) {
    await issuer.revokeFamily(codeId('family', code.id)).catch((error: unknown) => {
      if (!(error instanceof NotFoundError)) throw error
    })
    // The access token was issued before the code expired, for at most the longest access lifetime.
    const exp = Math.ceil((code.exp + issuerLimits(issuer.vault.document).maxAccessTtlMs) / 1000)
    await issuer.revokeAccessToken(code.client_id, {exp, jti: codeId('access', code.id)})
    throw invalid('the code was already used: the tokens issued for it are revoked')
  }

  const doc = issuer.vault.document
  const tokens = await issueTokens(issuer, code.client_id, {
    aud,
    claims: code.claims,
    family: codeId('family', code.id),
    jti: codeId('access', code.id),
    refresh: clientSettings(doc, code.client_id).refreshStrategy !== 'noRefresh',
    scopes: code.scope,
    sub: code.subject,
  })
  const response = tokenResponse(tokens, code.scope)
  if (!code.scope.includes('openid')) return response
  return {...response, id_token: signIdToken(issuer, code, tokens.access_token)}
}

/**
 * The ID token (OpenID Connect Core §2, §3.1.3.6): `iss sub aud exp iat auth_time nonce
 * at_hash` and the login's extra claims, signed by the client's active signing key (`typ: JWT`),
 * which its JWKS publishes.
 */
function signIdToken(issuer: Issuer, code: CodeContents, accessToken: string): string {
  const s = clientSettings(issuer.vault.document, code.client_id)
  const key = issuer
    .keyring()
    .entries.find((e) => e.client === code.client_id && e.use === 'sig' && e.state === 'active')
  // (the access token was just signed with it: only a rotation in between leaves none)
  if (!key?.privateJwk) throw new NotFoundError('KEY_NOT_FOUND', `client ${code.client_id} has no active sig key`)
  const alg = key.alg ?? s.sigAlg
  const now = issuer.now()
  return signJws(
    {
      at_hash: tokenHash(alg, accessToken),
      aud: code.client_id,
      auth_time: code.auth_time,
      exp: seconds(now + s.accessTtlMs),
      iat: seconds(now),
      iss: issuer.vault.document.issuer.name,
      ...(code.nonce === undefined ? {} : {nonce: code.nonce}),
      sub: code.subject,
      ...code.claims,
    },
    {alg, jwk: key.privateJwk, kid: key.kid, typ: 'JWT'},
  )
}

/** The claims an ID token of this flow carries (the extra claims of the login besides). */
export const ID_TOKEN_CLAIMS = ['at_hash', 'aud', 'auth_time', 'exp', 'iat', 'iss', 'nonce', 'sub'] as const

/** Members of an access token that are about the token, not the user: userinfo leaves them out. */
const TOKEN_CLAIMS = new Set(['aud', 'client_id', 'cnf', 'exp', 'iat', 'iss', 'jti', 'nbf', 'scope'])

/**
 * OpenID Connect Core §5.3: the claims of the user an access token was issued for (`sub` and
 * the login's extra claims), if the token verifies as any access token of this issuer, is not
 * revoked by a logout, and carries the `openid` scope.
 */
export async function userInfo(issuer: Issuer, accessToken: string): Promise<Claims> {
  let payload: Claims
  try {
    ;({payload} = await issuer.verify(accessToken, {checkRevoked: true, leewayMs: 0}))
  } catch (error) {
    if (error instanceof TokenRejectedError) throw new AuthorizationError('invalid_token', error.message)
    throw error
  }

  const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : []
  if (!scope.includes('openid'))
    throw new AuthorizationError('insufficient_scope', 'the access token was not issued with the openid scope')
  return Object.fromEntries(Object.entries(payload).filter(([name]) => !TOKEN_CLAIMS.has(name)))
}
