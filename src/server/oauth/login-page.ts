import {createHash} from 'node:crypto'

/** Text for HTML content and attribute values. */
const escape = (text: string): string => text.replaceAll(/[&<>"']/g, (c) => `&#${c.codePointAt(0)};`)

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
.warn{background:#fff4ce;border:1px solid #e0b400;padding:.75rem 1rem;border-radius:6px}
.error{background:#fde7e9;border:1px solid #c50f1f;padding:.75rem 1rem;border-radius:6px}
label{display:block;margin-top:1rem;font-weight:600}
input[type=text],textarea{width:100%;box-sizing:border-box;font:inherit;padding:.4rem}
textarea{font-family:ui-monospace,monospace;min-height:6rem}
.buttons{margin-top:1.5rem;display:flex;gap:.75rem}
button{font:inherit;padding:.5rem 1.25rem}
code{word-break:break-all}`

/**
 * The pages allow nothing but their own inline style (by its hash): no script, no other
 * resource, no framing; the form posts only here, and its answer redirects only to the client
 * (`redirectTarget`), which form-action must allow as well since browsers check redirects too.
 */
export function loginCsp(redirectTarget?: string): string {
  const styleHash = createHash('sha256').update(STYLE).digest('base64')
  const formAction = redirectTarget === undefined ? "'self'" : `'self' ${redirectTarget}`
  return `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action ${formAction}; frame-ancestors 'none'`
}

/** What form-action names for a redirect URI: its origin (http, https), else its scheme (a native app's). */
export function cspSource(redirectUri: string): string {
  const url = new URL(redirectUri)
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escape(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`
}

const NOTICE =
  '<p class="warn" id="notice"><strong>Development login.</strong> This page authenticates nobody: whoever opens it signs in as any subject they type. It is for developing and testing applications on this machine only (<code>jwtis serve --dev-login</code>).</p>'

export interface LoginPage {
  claims?: string
  client: string
  error?: string
  redirectUri: string
  scope: string[]
  sealed: string
  subject?: string
}

/** The login form: a Subject, optional extra claims (a JSON object), Sign in or Cancel. */
export function loginPage(p: LoginPage): string {
  const scope = p.scope.length > 0 ? p.scope.map((s) => `<code>${escape(s)}</code>`).join(' ') : 'none'
  return page(
    'Sign in (development login)',
    `<h1>Sign in</h1>
${NOTICE}
<p>Client <code>${escape(p.client)}</code> asks for scope ${scope}; you will be sent back to <code>${escape(p.redirectUri)}</code>.</p>
${p.error === undefined ? '' : `<p class="error" id="error" role="alert">${escape(p.error)}</p>`}
<form method="post" action="/authorize">
<input type="hidden" name="request" value="${escape(p.sealed)}">
<label for="subject">Subject</label>
<input type="text" id="subject" name="subject" value="${escape(p.subject ?? '')}" required autofocus autocomplete="username">
<label for="claims">Extra claims (optional JSON object, e.g. {"email": "alice@example.com"})</label>
<textarea id="claims" name="claims" spellcheck="false">${escape(p.claims ?? '')}</textarea>
<div class="buttons"><button type="submit" name="action" value="sign-in">Sign in</button><button type="submit" name="action" value="cancel" formnovalidate>Cancel</button></div>
</form>`,
  )
}

/** The page for what cannot be sent back to the client (RFC 6749 §4.1.2.1): an unknown client or redirect URI. */
export function errorPage(message: string): string {
  return page(
    'Authorization error',
    `<h1>This sign-in cannot continue</h1>
<p class="error" id="error" role="alert">${escape(message)}</p>
<p>The application sent an authorization request this server does not accept, so it is not sent back to it. The application's developer can fix its registration with <code>jwtis client add --redirect-uri</code>.</p>
${NOTICE}`,
  )
}
