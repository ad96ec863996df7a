import type {FastifyInstance, FastifyReply, FastifyRequest} from 'fastify'

import type {Issuer} from '../../core/issuer.js'

import {ClaimsError} from '../../common/errors.js'
import {
  AuthorizationError,
  type AuthorizationRequest,
  authorizationTarget,
  checkAuthorization,
  issueCode,
  loginClaims,
  NotRedirectableError,
  openLoginForm,
  type Params,
  sealLoginForm,
} from '../../core/authorization.js'
import {isLoopbackHost} from '../../core/oauth-client.js'
import {OAuthError} from '../../core/oauth.js'
import {cspSource, errorPage, loginCsp, loginPage} from '../oauth/login-page.js'

interface LoginForm {
  action?: 'cancel' | 'sign-in'
  claims?: string
  request: string
  subject?: string
}

const text = {maxLength: 16 * 1024, type: 'string'}
const loginFormSchema = {
  body: {
    additionalProperties: false,
    properties: {action: {enum: ['sign-in', 'cancel'], type: 'string'}, claims: text, request: text, subject: text},
    required: ['request'],
    type: 'object',
  },
}

/** `redirectUri` with the response parameters added to its query (RFC 6749 §4.1.2), those given only. */
function withParams(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri)
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value)
  return url.href
}

const html = (reply: FastifyReply, status: number, body: string, redirectUri?: string) =>
  reply
    .code(status)
    .header('content-security-policy', loginCsp(redirectUri === undefined ? undefined : cspSource(redirectUri)))
    .type('text/html; charset=utf-8')
    .send(body)

/** What cannot be sent back to the client is shown here instead (RFC 6749 §4.1.2.1). */
const fatal = (reply: FastifyReply, message: string) => html(reply, 400, errorPage(message))

/** The Host of a request: loopback, or the issuer URL's own host name (mapped to loopback by the developer). */
function servedName(hostname: string, issuer: Issuer): boolean {
  const own = URL.canParse(issuer.vault.document.issuer.name) ? new URL(issuer.vault.document.issuer.name) : undefined
  return isLoopbackHost(hostname) || hostname === own?.hostname
}

/**
 * `serve --dev-login` (loopback only): the authorization endpoint of the code flow with a
 * development login page. GET /authorize checks the request (src/core/authorization.ts) and
 * shows the page; its form POSTs back here and is answered with a redirect to the client with
 * the code (RFC 6749 §4.1.2, and `iss` as RFC 9207 adds). Every answer is no-store and unframeable.
 */
export async function authorizeRoutes(app: FastifyInstance, {issuer}: {issuer: Issuer}): Promise<void> {
  // (this plugin's routes only: fastify scopes a plugin's hooks to it)
  app.addHook('onSend', async (_request, reply) => {
    reply
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer')
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', loginCsp())
  })
  // DNS rebinding: a page of another site whose name now resolves to 127.0.0.1 must not drive the login
  app.addHook('onRequest', async (request, reply) => {
    if (!servedName(request.hostname, issuer)) {
      return html(reply, 421, errorPage('the development login answers only to a loopback name or the issuer’s own'))
    }
  })
  const back = (reply: FastifyReply, status: 302 | 303, to: string, params: Record<string, string | undefined>) =>
    reply.redirect(withParams(to, {...params, iss: issuer.vault.document.issuer.name}), status)

  app.get<{Querystring: Params}>('/authorize', async (request, reply) => {
    const doc = issuer.vault.document
    let target
    try {
      target = authorizationTarget(doc, request.query)
    } catch (error) {
      if (error instanceof NotRedirectableError) return fatal(reply, error.message)
      throw error
    }

    let checked
    try {
      checked = checkAuthorization(doc, target, request.query)
    } catch (error) {
      if (!(error instanceof AuthorizationError || error instanceof OAuthError)) throw error
      const state = typeof request.query.state === 'string' ? request.query.state : undefined
      return back(reply, 302, target.redirectUri, {error: error.error, error_description: error.description, state})
    }

    const page = loginPage({
      client: checked.client_id,
      redirectUri: checked.redirect_uri,
      scope: checked.scope,
      sealed: await sealLoginForm(issuer, checked),
      subject: checked.login_hint,
    })
    return html(reply, 200, page, checked.redirect_uri)
  })

  app.post<{Body: LoginForm}>(
    '/authorize',
    {config: {forms: true}, schema: loginFormSchema},
    async (request: FastifyRequest<{Body: LoginForm}>, reply) => {
      const form = request.body
      const checked = await openLoginForm(issuer, form.request)
      if (!checked)
        return fatal(reply, 'The login form has expired or was altered: start the sign-in again from the application.')
      const {redirect_uri: redirectUri, state} = checked
      if (form.action === 'cancel') {
        const description = 'the user cancelled the sign-in'
        return back(reply, 303, redirectUri, {error: 'access_denied', error_description: description, state})
      }

      const login = signedIn(form)
      if ('error' in login) return html(reply, 400, formAgain(form, checked, login.error), redirectUri)
      return back(reply, 303, redirectUri, {code: await issueCode(issuer, checked, login), state})
    },
  )
}

/** The subject and claims of a posted login form, or what to ask the user to correct. */
function signedIn(form: LoginForm): {claims: Record<string, unknown>; subject: string} | {error: string} {
  const subject = form.subject?.trim() ?? ''
  if (subject === '') return {error: 'Type the subject to sign in as.'}
  try {
    return {claims: loginClaims(form.claims ?? ''), subject}
  } catch (error) {
    if (error instanceof ClaimsError) return {error: error.message}
    throw error
  }
}

/** The login page again, with what the user typed and what to correct. */
const formAgain = (form: LoginForm, checked: AuthorizationRequest, error: string): string =>
  loginPage({
    claims: form.claims,
    client: checked.client_id,
    error,
    redirectUri: checked.redirect_uri,
    scope: checked.scope,
    sealed: form.request,
    subject: form.subject,
  })
