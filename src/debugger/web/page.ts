/**
 * The debugger page: decodes what is pasted, verifies signatures in the browser against this
 * server's JWKS (or a pasted key), and shows every check with `jwtis token verify`'s reason codes.
 * Edited claims are signed here with a pasted private key or secret. The only requests it makes
 * are the two key documents at load; the token and any pasted key are never sent.
 */
import {isHmac} from '../../jose/algorithms.js'
import {
  chooseKey,
  type Finding,
  type Json,
  type KeyInfo,
  parsePastedKey,
  pastedSigningKey,
  signCompact,
  verifySignature,
} from '../../jose/webcrypto.js'
import {checkClaims, decode, type Decoded, describeTime, encodeUnsigned, parseClaims} from '../inspect.js'

interface KeyMeta {
  alg: string
  /** null for the issuer's own key-wrapping keys, which seal refresh tokens. */
  client: null | string
  kid: string
  state: string
  until: null | string
  use: string
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.querySelector<T>(`#${id}`)!

const el = {
  aud: $<HTMLInputElement>('aud'),
  checks: $<HTMLUListElement>('checks'),
  claims: $<HTMLTextAreaElement>('claims'),
  claimsError: $('claims-error'),
  copyToken: $<HTMLButtonElement>('copy-token'),
  decryptCommand: $('decrypt-command'),
  edited: $('edited'),
  editedToken: $('edited-token'),
  header: $('header'),
  iss: $<HTMLInputElement>('iss'),
  jwe: $('jwe'),
  jweHeader: $('jwe-header'),
  jws: $('jws'),
  key: $<HTMLTextAreaElement>('key'),
  keysStatus: $('keys-status'),
  parts: $('parts'),
  signEdited: $<HTMLButtonElement>('sign-edited'),
  signStatus: $('sign-status'),
  size: $('size'),
  times: $('times').querySelector('tbody')!,
  token: $<HTMLTextAreaElement>('token'),
  verdict: $('verdict'),
}

/** This server's keys, fetched once at load: what lets the page work with the network cut. */
const server: {issuer?: string; keys: KeyInfo[]; meta: Map<string, KeyMeta>} = {keys: [], meta: new Map()}
/** What the copy buttons copy, by name. */
const copyable = new Map<string, string>()
let current: Decoded | undefined
let run = 0

async function loadServerKeys(): Promise<void> {
  try {
    const [jwks, meta] = await Promise.all([
      fetch('/.well-known/jwks.json', {cache: 'no-store'}).then((r) => r.json() as Promise<{keys: Json[]}>),
      fetch('/debug/keys.json', {cache: 'no-store'}).then(
        (r) => r.json() as Promise<{issuer: string; keys: KeyMeta[]}>,
      ),
    ])
    server.issuer = meta.issuer
    server.meta = new Map(meta.keys.map((k) => [k.kid, k]))
    server.keys = jwks.keys.map((jwk) => {
      const m = server.meta.get(String(jwk.kid))
      return {client: m?.client ?? undefined, jwk, source: 'jwks', state: m?.state, until: m?.until}
    })
    el.iss.placeholder = `not checked (this server issues as ${meta.issuer})`
    const clients = new Set(meta.keys.map((k) => k.client)).size
    el.keysStatus.textContent = `${plural(server.keys.length, 'public key')} of ${plural(clients, 'client')} loaded from this server.`
  } catch {
    el.keysStatus.textContent = "This server's keys could not be loaded: paste a key to verify with."
  }
}

function keySource(): 'pasted' | 'server' {
  return document.querySelector<HTMLInputElement>('input[name="keysource"]:checked')?.value === 'pasted'
    ? 'pasted'
    : 'server'
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`
const pretty = (value: unknown) => JSON.stringify(value, null, 2)

/**
 * Colours the token in place: the box's own text is transparent, and the layer under it draws
 * the same text, part by part (whatever surrounds the token, such as "Bearer ", uncoloured).
 */
function paint(decoded: Decoded): void {
  const text = el.token.value
  el.parts.replaceChildren()
  el.parts.classList.toggle('jwe', decoded.kind === 'jwe')
  const token = decoded.kind === 'invalid' ? '' : decoded.parts.join('.')
  const at = token ? text.indexOf(token) : -1
  if (decoded.kind === 'invalid' || at < 0) {
    el.parts.append(text)
  } else {
    el.parts.append(text.slice(0, at))
    for (const [i, part] of decoded.parts.entries()) {
      if (i > 0) el.parts.append('.')
      const span = document.createElement('span')
      span.className = `p${i}`
      span.textContent = part
      el.parts.append(span)
    }

    el.parts.append(text.slice(at + token.length))
  }

  // (a final newline makes a line in the box, and in the layer only when something follows it)
  el.parts.append(' ')
  fit()
}

/** The token box grows with the token, so that the layer under it never has to scroll along. */
function fit(): void {
  el.token.style.height = 'auto'
  el.token.style.height = `${el.token.scrollHeight + el.token.offsetHeight - el.token.clientHeight}px`
}

function showChecks(findings: Array<Finding | {message: string; note: true}>): void {
  el.checks.replaceChildren(
    ...findings.map((f) => {
      const li = document.createElement('li')
      if ('note' in f) {
        li.className = 'note'
        li.textContent = f.message
        return li
      }

      li.className = f.ok ? 'ok' : 'bad'
      li.dataset.check = f.name
      if (f.code && !f.ok) {
        const code = document.createElement('code')
        code.textContent = f.code
        li.append(code, ': ')
      }

      li.append(f.message)
      return li
    }),
  )
}

function verdict(kind: 'bad' | 'empty' | 'info' | 'ok', text: string, code?: string): void {
  el.verdict.className = `verdict ${kind}`
  el.verdict.replaceChildren()
  if (code) {
    const reason = document.createElement('code')
    reason.className = 'reason'
    reason.textContent = code
    el.verdict.append(reason, ': ')
  }

  el.verdict.append(text)
}

/** While the claims differ from the token's, the verdict is about the token as pasted, not the edit. */
function markStale(stale: boolean): void {
  el.verdict.querySelector('.stale-label')?.remove()
  el.verdict.classList.toggle('stale', stale)
  el.checks.classList.toggle('stale', stale)
  if (!stale) return
  const label = document.createElement('strong')
  label.className = 'stale-label'
  label.textContent = 'Stale: the claims were edited; this verdict is for the token as pasted. '
  el.verdict.prepend(label)
}

function choosePastedKey(): void {
  document.querySelector<HTMLInputElement>('input[name="keysource"][value="pasted"]')!.checked = true
  el.key.hidden = false
  el.key.focus()
}

function keyLabel(key: KeyInfo, use = 'signing'): string {
  const kid = typeof key.jwk.kid === 'string' ? key.jwk.kid : '(no kid)'
  if (key.secret) return 'the secret you pasted'
  if (key.source === 'pasted') return `the key you pasted (${kid})`
  const until = key.until ? `${key.state === 'retired' ? ' until' : ', rotates'} ${key.until}` : ''
  return `${use} key ${kid} of client ${key.client ?? '?'} (${key.state ?? 'unknown state'}${until})`
}

function showTimes(payload: Json | undefined): void {
  el.times.replaceChildren()
  const now = Date.now()
  for (const name of ['iat', 'nbf', 'exp'] as const) {
    const value = payload?.[name]
    if (value === undefined) continue
    const row = el.times.insertRow()
    const th = document.createElement('th')
    th.scope = 'row'
    th.textContent = name
    row.append(th)
    row.insertCell().textContent = String(value)
    row.insertCell().textContent = describeTime(value, now) ?? 'not a time'
  }

  $('times').hidden = el.times.rows.length === 0
}

/**
 * Shows what the token box holds. `body[data-state]` is "pending" from an edit until the result
 * for it is on screen, then "done" (what a test, or a script driving the page, waits for).
 */
async function render(): Promise<void> {
  const mine = ++run
  try {
    await show(mine)
  } finally {
    if (mine === run) document.body.dataset.state = 'done'
  }
}

async function show(mine: number): Promise<void> {
  const text = el.token.value
  copyable.set('token', text.trim())
  el.copyToken.disabled = text.trim() === ''
  el.edited.hidden = true
  el.jws.hidden = true
  el.jwe.hidden = true
  markStale(false)
  el.size.textContent = text.trim() ? `${text.trim().length} characters` : ''
  const decoded = decode(text)
  paint(decoded)
  if (text.trim() === '') {
    current = undefined
    showChecks([])
    verdict('empty', 'Paste a token to see what it says.')
    return
  }

  current = decoded
  if (decoded.kind === 'invalid') {
    showChecks([decoded.error])
    verdict('bad', decoded.error.message, decoded.error.code)
    return
  }

  if (decoded.kind === 'jwe') renderJwe(decoded)
  else await renderJws(decoded, mine)
}

async function renderJws(decoded: Extract<Decoded, {kind: 'jws'}>, mine: number): Promise<void> {
  el.jws.hidden = false
  el.header.textContent = pretty(decoded.header)
  copyable.set('header', pretty(decoded.header))
  const claimsText = decoded.payload ? pretty(decoded.payload) : decoded.payloadText
  // An edit stays while the token does (a key being pasted, iss or aud typed); a new token replaces it.
  const token = decoded.parts.join('.')
  if (el.claims.dataset.token !== token) el.claims.value = claimsText
  el.claims.dataset.token = token
  el.claims.dataset.original = claimsText
  copyable.set('claims', claimsText)
  showTimes(decoded.payload)

  const {findings, hmac, key, signed} = await checkSignature(decoded)
  if (mine !== run) return // a newer input took over while WebCrypto worked
  const aud = el.aud.value.trim()
  findings.push(
    ...checkClaims(decoded.payload, {
      audience: aud ? [aud] : undefined,
      issuer: el.iss.value.trim() || undefined,
      now: Date.now(),
    }),
  )
  const notes: Array<{message: string; note: true}> = hmac ? [{message: hmac, note: true}] : []
  if (!el.aud.value.trim()) notes.push({message: 'the audience was not checked: type the aud you expect', note: true})
  if (typeof decoded.header.typ === 'string' && decoded.header.typ.toLowerCase() !== 'at+jwt')
    notes.push({message: `typ ${JSON.stringify(decoded.header.typ)}: jwtis access tokens are at+jwt`, note: true})
  showChecks([...findings, ...notes])

  const failed = findings.find((f) => !f.ok)
  if (failed) verdict('bad', failed.message, failed.code)
  else if (signed && key) verdict('ok', `Valid: signature verified with ${keyLabel(key)}.`)
  else if (hmac) {
    verdict('info', 'HMAC: paste the secret, it stays in this page.')
    if (keySource() === 'server') {
      const button = document.createElement('button')
      button.type = 'button'
      button.textContent = 'Paste the secret'
      button.addEventListener('click', () => {
        choosePastedKey()
        later()
      })
      el.verdict.append(' ', button)
    }
  }

  renderEdited()
}

/**
 * The signature findings. An HMAC token with no secret to try is not called forged: its secret
 * is never published (the JWKS leaves it out), so the page asks for it instead (`hmac`).
 */
async function checkSignature(
  decoded: Extract<Decoded, {kind: 'jws'}>,
): Promise<{findings: Finding[]; hmac?: string; key?: KeyInfo; signed: boolean}> {
  const findings: Finding[] = []
  let {keys} = server
  if (keySource() === 'pasted') {
    try {
      keys = el.key.value.trim() ? await parsePastedKey(el.key.value, decoded.header.alg) : []
    } catch (error) {
      keys = []
      findings.push({code: 'BAD_KEY', message: (error as Error).message, name: 'key', ok: false})
    }
  }

  const {alg, kid} = decoded.header
  if (findings.length === 0 && typeof alg === 'string' && isHmac(alg) && !keys.some((k) => k.jwk.kty === 'oct')) {
    const meta = typeof kid === 'string' ? server.meta.get(kid) : undefined
    const whose = meta?.client ? `the ${alg} secret of client ${meta.client} (kid ${meta.kid})` : `an ${alg} secret`
    return {
      findings,
      hmac: `signed with ${whose}, which is never published: paste the secret (text or an oct JWK) under "a key I paste" to verify it; it stays in this page`,
      signed: false,
    }
  }

  const {finding, key} = chooseKey(decoded.header, keys)
  findings.push(finding)
  if (!finding.ok || !key) return {findings, key, signed: false}
  const checked = await verifySignature(decoded, key)
  findings.push(checked.ok ? {...checked, message: `${checked.message} with ${keyLabel(key)}`} : checked)
  return {findings, key, signed: checked.ok}
}

function renderJwe(decoded: Extract<Decoded, {kind: 'jwe'}>): void {
  el.jwe.hidden = false
  const {alg, enc, kid} = decoded.header
  el.jweHeader.textContent = pretty(decoded.header)
  copyable.set('jwe-header', pretty(decoded.header))
  const meta = typeof kid === 'string' ? server.meta.get(kid) : undefined
  const sealedTo = meta
    ? meta.client === null
      ? `this server's key-wrapping key ${meta.kid} (${meta.state})`
      : `encryption key ${meta.kid} of client ${meta.client} (${meta.state})`
    : typeof kid === 'string'
      ? `key ${kid}, which is not one of this server's`
      : 'a key it does not name (no kid)'
  // The command reads the token from stdin: pasted there, it stays out of the shell's history.
  const command = 'jwtis jwe decrypt -'
  el.decryptCommand.textContent = command
  copyable.set('command', command)
  const nested = String(decoded.header.cty).toUpperCase() === 'JWT'
  showChecks([
    {message: `alg ${String(alg)}, enc ${String(enc)}`, note: true},
    {message: `sealed to ${sealedTo}`, note: true},
    ...(decoded.header.cty
      ? [{message: `cty ${String(decoded.header.cty)}: a nested JWT inside`, note: true as const}]
      : []),
  ])
  // The issuer's key-wrapping keys seal refresh tokens and nothing else.
  if (nested && meta?.client === null)
    verdict('info', `Refresh token, sealed: under ${sealedTo}; only this server opens it (command below).`)
  else if (nested && meta)
    verdict(
      'info',
      `Encrypted JWT, sealed to ${sealedTo}: an encrypted access token, or a refresh token sealed to the client. Decrypt it with jwtis jwe decrypt (command below).`,
    )
  else verdict('info', `Encrypted (JWE) to ${sealedTo}. Decrypt it with jwtis jwe decrypt (command below).`)
}

/** The claims as edited, re-encoded without a signature; shown only when they differ. */
function renderEdited(): void {
  if (current?.kind !== 'jws') return
  const text = el.claims.value
  const edited = text !== el.claims.dataset.original
  markStale(edited)
  el.edited.hidden = !edited
  el.signStatus.textContent = ''
  const parsed = edited ? parseClaims(text) : undefined
  const error = parsed && 'error' in parsed ? `The claims are not valid JSON: ${parsed.error}` : ''
  el.claimsError.textContent = error
  el.claimsError.hidden = !error
  el.claims.setAttribute('aria-invalid', String(Boolean(error)))
  el.signEdited.disabled = !parsed || 'error' in parsed
  if (!parsed || 'error' in parsed) {
    el.editedToken.textContent = parsed ? 'Fix the claims (see above) to see the token.' : ''
    copyable.delete('edited')
    return
  }

  const token = encodeUnsigned(current.header, parsed.claims)
  el.editedToken.textContent = token
  copyable.set('edited', token)
}

/**
 * Signs the edited claims under the same header with the key in the key box (WebCrypto, in this
 * page), puts the result in the token box and verifies it again from there.
 */
async function signEdited(): Promise<void> {
  if (current?.kind !== 'jws') return
  const parsed = parseClaims(el.claims.value)
  if ('error' in parsed) return
  if (keySource() !== 'pasted' || !el.key.value.trim()) {
    el.signStatus.textContent =
      'Paste the private key (JWK or PEM) or the HMAC secret in the key box first: it stays in this page.'
    choosePastedKey()
    return
  }

  try {
    const key = await pastedSigningKey(el.key.value, current.header)
    el.token.value = await signCompact(current.header, parsed.claims, key)
  } catch (error) {
    el.signStatus.textContent = (error as Error).message
    return
  }

  document.body.dataset.state = 'pending'
  await render()
}

async function copy(name: string, button: HTMLButtonElement): Promise<void> {
  const text = copyable.get(name)
  if (text === undefined) return
  try {
    await navigator.clipboard.writeText(text)
  } catch {
    // no clipboard permission (an insecure context, a test browser): select it for Ctrl+C instead
    const area = document.createElement('textarea')
    area.value = text
    document.body.append(area)
    area.select()
    document.execCommand('copy')
    area.remove()
  }

  const label = button.textContent
  button.textContent = 'Copied'
  setTimeout(() => {
    button.textContent = label
  }, 1200)
}

let timer: ReturnType<typeof setTimeout> | undefined
const later = () => {
  document.body.dataset.state = 'pending'
  clearTimeout(timer)
  timer = setTimeout(() => render(), 120)
}

el.token.addEventListener('input', later)
el.iss.addEventListener('input', later)
el.aud.addEventListener('input', later)
el.key.addEventListener('input', later)
el.claims.addEventListener('input', renderEdited)
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="keysource"]')) {
  radio.addEventListener('change', () => {
    el.key.hidden = keySource() !== 'pasted'
    if (!el.key.hidden) el.key.focus()
    later()
  })
}

el.token.addEventListener('input', () => paint(decode(el.token.value)))
window.addEventListener('resize', fit)
el.signEdited.addEventListener('click', signEdited)
for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-copy]')) {
  button.addEventListener('click', () => copy(button.dataset.copy!, button))
}

el.token.addEventListener('dragover', (event) => event.preventDefault())
el.token.addEventListener('drop', async (event) => {
  const file = event.dataTransfer?.files[0]
  if (!file) return
  event.preventDefault()
  el.token.value = (await file.text()).trim()
  await render()
})

document.addEventListener('keydown', (event) => {
  const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement
  if (event.key === '/' && !typing) {
    event.preventDefault()
    el.token.focus()
    el.token.select()
  } else if (event.key === 'Escape' && event.target === el.token) {
    el.token.value = ''
    render()
  }
})

await loadServerKeys()
await render()
