/**
 * The debugger page: decodes what is pasted, verifies signatures in the browser against this
 * server's JWKS (or a pasted key), and shows every check with `jwtis token verify`'s reason codes.
 * The only requests it makes are the two key documents at load; the token is never sent.
 */
import {
  chooseKey,
  type Finding,
  type Json,
  type KeyInfo,
  parsePastedKey,
  verifySignature,
} from '../../jose/webcrypto.js'
import {checkClaims, decode, type Decoded, describeTime, encodeUnsigned} from '../inspect.js'

interface KeyMeta {
  alg: string
  client: string
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
      return {client: m?.client, jwk, source: 'jwks', state: m?.state, until: m?.until}
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

function showParts(parts: string[] | undefined, jwe: boolean): void {
  el.parts.replaceChildren()
  el.parts.hidden = !parts
  el.parts.classList.toggle('jwe', jwe)
  if (!parts) return
  for (const [i, part] of parts.entries()) {
    if (i > 0) el.parts.append('.')
    const span = document.createElement('span')
    span.className = `p${i}`
    span.textContent = part
    el.parts.append(span)
  }
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

function keyLabel(key: KeyInfo, use = 'signing'): string {
  const kid = typeof key.jwk.kid === 'string' ? key.jwk.kid : '(no kid)'
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
  el.size.textContent = text.trim() ? `${text.trim().length} characters` : ''
  if (text.trim() === '') {
    current = undefined
    showParts(undefined, false)
    showChecks([])
    verdict('empty', 'Paste a token to see what it says.')
    return
  }

  const decoded = decode(text)
  current = decoded
  if (decoded.kind === 'invalid') {
    showParts(undefined, false)
    showChecks([decoded.error])
    verdict('bad', decoded.error.message, decoded.error.code)
    return
  }

  showParts(decoded.parts, decoded.kind === 'jwe')
  if (decoded.kind === 'jwe') renderJwe(decoded)
  else await renderJws(decoded, mine)
}

async function renderJws(decoded: Extract<Decoded, {kind: 'jws'}>, mine: number): Promise<void> {
  el.jws.hidden = false
  el.header.textContent = pretty(decoded.header)
  copyable.set('header', pretty(decoded.header))
  const claimsText = decoded.payload ? pretty(decoded.payload) : decoded.payloadText
  if (document.activeElement !== el.claims) el.claims.value = claimsText
  el.claims.dataset.original = claimsText
  copyable.set('claims', claimsText)
  showTimes(decoded.payload)

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

  const {finding, key} = chooseKey(decoded.header, keys)
  findings.push(finding)
  let signed = false
  if (finding.ok && key) {
    const checked = await verifySignature(decoded, key)
    signed = checked.ok
    findings.push(checked.ok ? {...checked, message: `${checked.message} with ${keyLabel(key)}`} : checked)
  }

  if (mine !== run) return // a newer input took over while WebCrypto worked
  const aud = el.aud.value.trim()
  findings.push(
    ...checkClaims(decoded.payload, {
      audience: aud ? [aud] : undefined,
      issuer: el.iss.value.trim() || undefined,
      now: Date.now(),
    }),
  )
  const notes: Array<{message: string; note: true}> = []
  if (!el.aud.value.trim()) notes.push({message: 'the audience was not checked: type the aud you expect', note: true})
  if (typeof decoded.header.typ === 'string' && decoded.header.typ.toLowerCase() !== 'at+jwt')
    notes.push({message: `typ ${JSON.stringify(decoded.header.typ)}: jwtis access tokens are at+jwt`, note: true})
  showChecks([...findings, ...notes])

  const failed = findings.find((f) => !f.ok)
  if (failed) verdict('bad', failed.message, failed.code)
  else if (signed && key) verdict('ok', `Valid: signature verified with ${keyLabel(key)}.`)
}

function renderJwe(decoded: Extract<Decoded, {kind: 'jwe'}>): void {
  el.jwe.hidden = false
  const {alg, enc, kid} = decoded.header
  el.jweHeader.textContent = pretty(decoded.header)
  copyable.set('jwe-header', pretty(decoded.header))
  const meta = typeof kid === 'string' ? server.meta.get(kid) : undefined
  const sealedTo = meta
    ? `encryption key ${meta.kid} of client ${meta.client} (${meta.state})`
    : typeof kid === 'string'
      ? `key ${kid}, which is not one of this server's`
      : 'a key it does not name (no kid)'
  const command = `jwtis jwe decrypt '${decoded.parts.join('.')}'`
  el.decryptCommand.textContent = command
  copyable.set('command', command)
  showChecks([
    {message: `alg ${String(alg)}, enc ${String(enc)}`, note: true},
    {message: `sealed to ${sealedTo}`, note: true},
    ...(decoded.header.cty
      ? [{message: `cty ${String(decoded.header.cty)}: a nested JWT inside`, note: true as const}]
      : []),
  ])
  verdict('info', `Encrypted (JWE) to ${sealedTo}. Decrypt it with jwtis jwe decrypt (command below).`)
}

/** The claims as edited, re-encoded without a signature; shown only when they differ. */
function renderEdited(): void {
  if (current?.kind !== 'jws') return
  const text = el.claims.value
  if (text === el.claims.dataset.original) {
    el.edited.hidden = true
    return
  }

  el.edited.hidden = false
  let claims: unknown
  try {
    claims = JSON.parse(text)
  } catch {
    el.editedToken.textContent = 'The claims are not valid JSON yet.'
    copyable.delete('edited')
    return
  }

  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    el.editedToken.textContent = 'The claims must be a JSON object.'
    copyable.delete('edited')
    return
  }

  const token = encodeUnsigned(current.header, claims as Json)
  el.editedToken.textContent = token
  copyable.set('edited', token)
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
