/**
 * The /debug page in a real browser: Debian's headless Chromium driven by playwright-core (no
 * browser download), against a real `jwtis serve` on loopback. Every request the page makes is
 * recorded, to prove that the token never leaves it. Screenshots of each state are written to
 * test/artifacts/ for a person to look at.
 */
import {spawn} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {type Browser, chromium, type Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, cleanEnv, hasTool, jwtis, jwtisOk, NODE, ROOT, scratch} from '../helpers/cli.js'
import {serve, type Served} from '../helpers/serve.js'

const CHROMIUM = '/usr/bin/chromium'
const HAS_CHROMIUM = hasTool(CHROMIUM, ['--version'], 'the debugger page in a browser (apt-get install chromium)')
const ARTIFACTS = join(ROOT, 'test', 'artifacts')
const LONG_KID = `urn:example:kms:${'0123456789abcdef'.repeat(12)}:signing-key-v2`

interface Seen {
  body: string
  headers: string
  method: string
  url: string
}

describe.skipIf(!HAS_CHROMIUM)('the /debug page in Chromium', () => {
  const s = scratch()
  const vault = join(s.dir, 'vault.age')
  let server: Served
  let browser: Browser
  let page: Page
  const seen: Seen[] = []
  const consoleErrors: string[] = []
  const tokens: Record<string, string> = {}
  /** What the tests paste in the key box: it must never leave the page either. */
  const pastedKeys: Record<string, string> = {secret: 'a text secret for HS256, 32 bytes or more'}
  let privateJwk: Record<string, string>
  let cspHeader: string | undefined

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, {recursive: true})
    await jwtisOk(['init', '--vault', vault, '--name', 'https://issuer.test'], {env: s.env})
    await jwtisOk(['client', 'add', 'web', '--aud', 'api', '--vault', vault], {env: s.env})
    const issue = async (env: Record<string, string> = {}) =>
      (
        await jwtisOk(['token', 'issue', '--client', 'web', '--sub', 'alice', '--vault', vault], {
          env: {...s.env, ...env},
        })
      ).stdout.trim()
    tokens.valid = await issue()
    tokens.expired = await issue({JWTIS_NOW: new Date(Date.now() - 3 * 3_600_000).toISOString()})
    const [h, p, sig] = tokens.valid.split('.')
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString())
    tokens.tampered = `${h}.${Buffer.from(JSON.stringify({...claims, sub: 'mallory'})).toString('base64url')}.${sig}`
    tokens.jwe = (
      await jwtisOk(['jwe', 'encrypt', '-', '--to', 'web', '--vault', vault], {env: s.env, input: 'hello, debugger'})
    ).stdout.trim()

    // an HS256 client whose secret is text a person can paste
    const secretFile = join(s.dir, 'hs.secret')
    writeFileSync(secretFile, pastedKeys.secret)
    await jwtisOk(['client', 'add', 'hs', '--sig-alg', 'HS256', '--secret-file', secretFile, '--vault', vault], {
      env: s.env,
    })
    tokens.hs = (
      await jwtisOk(['token', 'issue', '--client', 'hs', '--sub', 'alice', '--vault', vault], {env: s.env})
    ).stdout.trim()
    await jwtisOk(['client', 'add', 'legacy', '--refresh-seal', 'client', '--vault', vault], {env: s.env})
    const refresh = async (client: string) =>
      JSON.parse(
        (
          await jwtisOk(
            ['token', 'issue', '--client', client, '--sub', 'alice', '--refresh', '--json', '--vault', vault],
            {
              env: s.env,
            },
          )
        ).stdout,
      ).refresh_token as string
    tokens.refresh = await refresh('web')
    tokens.refreshToClient = await refresh('legacy')

    // a key of one's own, and a token with a very long kid
    privateJwk = JSON.parse((await jwtisOk(['jwk', 'create', '--alg', 'ES256'], {env: s.env})).stdout)
    pastedKeys.d = privateJwk.d
    const keyFile = join(s.dir, 'own.jwk')
    writeFileSync(keyFile, JSON.stringify(privateJwk))
    tokens.longKid = (
      await jwtisOk(['token', 'sign', '--key', keyFile, '--kid', LONG_KID, '--sub', 'alice'], {env: s.env})
    ).stdout.trim()

    server = await serve(vault, s.env, ['--workers', '1'])
    browser = await chromium.launch({
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      executablePath: CHROMIUM,
    })
    const context = await browser.newContext({viewport: {height: 900, width: 1280}})
    page = await context.newPage()
    page.on('request', (request) =>
      seen.push({
        body: request.postData() ?? '',
        headers: JSON.stringify(request.headers()),
        method: request.method(),
        url: request.url(),
      }),
    )
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text())
    })
    const response = await page.goto(`${server.url}/debug`)
    cspHeader = response?.headers()['content-security-policy']
    await page.waitForFunction(() => document.querySelector('#keys-status')?.textContent?.includes('loaded'))
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  /** Fills a field and waits until the page shows the result for it. */
  async function type(selector: string, text: string): Promise<void> {
    await page.fill(selector, text)
    await page.waitForFunction(() => document.body.dataset.state === 'done')
  }

  const paste = (token: string) => type('#token', token)

  const verdict = () => page.locator('#verdict')

  it('a vault token verifies in the browser and names its client and key', async () => {
    await paste(tokens.valid)
    await page.waitForSelector('#verdict.ok')
    const {kid} = JSON.parse(Buffer.from(tokens.valid.split('.')[0], 'base64url').toString())
    const text = await verdict().textContent()
    expect(text).toContain(`signature verified with signing key ${kid} of client web (active`)
    expect(await page.locator('#checks li.ok[data-check="exp"]').textContent()).toMatch(
      /expires .*\(in 1[45] minutes\)/,
    )
    expect(await page.locator('#header').textContent()).toContain('"typ": "at+jwt"')
    expect(await page.locator('#claims').inputValue()).toContain('"sub": "alice"')
    // colour-coded parts, the token whole
    expect(await page.locator('#parts span').count()).toBe(3)
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-valid.png')})

    // iss and aud against what the user types
    await type('#iss', 'https://issuer.test')
    await type('#aud', 'api')
    await page.waitForSelector('#checks li.ok[data-check="aud"]')
    await type('#aud', 'billing')
    await page.waitForSelector('#verdict.bad')
    expect(await page.locator('#verdict .reason').textContent()).toBe('AUDIENCE_MISMATCH')
    expect(await verdict().textContent()).toContain('the token is for audience "api", expected "billing"')
    await type('#aud', '')
  })

  it('a tampered token fails with BAD_SIGNATURE', async () => {
    await paste(tokens.tampered)
    await page.waitForSelector('#verdict.bad')
    expect(await page.locator('#verdict .reason').textContent()).toBe('BAD_SIGNATURE')
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-tampered.png')})
  })

  it('an expired token shows TOKEN_EXPIRED and how long ago', async () => {
    await paste(tokens.expired)
    await page.waitForSelector('#verdict.bad')
    expect(await page.locator('#verdict .reason').textContent()).toBe('TOKEN_EXPIRED')
    expect(await verdict().textContent()).toMatch(/the token expired at \S+ \(\d+ hours ago\)/)
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-expired.png')})
  })

  it('a JWE shows its header, the client it is sealed to, and a decrypt command that works', async () => {
    await paste(tokens.jwe)
    await page.waitForSelector('#verdict.info')
    expect(await verdict().textContent()).toMatch(
      /sealed to encryption key \S+ of client web \(active\)|to encryption key \S+ of client web \(active\)/,
    )
    expect(await page.locator('#jwe-header').textContent()).toContain('"alg": "ECDH-ES+A256KW"')
    expect(await page.locator('#jwe-header').textContent()).toContain('"epk"')
    expect(await page.locator('#parts span').count()).toBe(5)
    // the token is pasted on stdin, so it stays out of the shell's history
    const command = (await page.locator('#decrypt-command').textContent())!
    expect(command).toBe('jwtis jwe decrypt -')
    const [bin, ...args] = command.split(' ')
    expect(bin).toBe('jwtis')
    const opened = await jwtis([...args, '--vault', vault], {env: s.env, input: `${tokens.jwe}\n`})
    expect(opened.stdout).toBe('hello, debugger')
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-jwe.png')})
  })

  it('editing a claim re-encodes the token, marked unsigned', async () => {
    await paste(tokens.valid)
    await page.waitForSelector('#verdict.ok')
    const claims = JSON.parse(await page.locator('#claims').inputValue())
    await page.fill('#claims', JSON.stringify({...claims, role: 'admin'}, null, 2))
    await page.waitForSelector('#edited:not([hidden])')
    expect(await page.locator('#edited .badge').textContent()).toBe('UNSIGNED')
    const edited = (await page.locator('#edited-token').textContent())!
    expect(edited.endsWith('.')).toBe(true)
    expect(JSON.parse(Buffer.from(edited.split('.')[1], 'base64url').toString())).toMatchObject({
      role: 'admin',
      sub: 'alice',
    })
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-edited.png')})
  })

  it('the token is shown once, coloured in place: the box is transparent over the layer that colours it', async () => {
    await paste(`Bearer ${tokens.valid}`)
    await page.waitForSelector('#verdict.ok')
    expect(await page.locator('#parts span').count()).toBe(3)
    const [h, p, sig] = tokens.valid.split('.')
    expect(await page.locator('#parts span').allTextContents()).toEqual([h, p, sig])
    expect((await page.locator('#parts').textContent())!.trimEnd()).toBe(`Bearer ${tokens.valid}`)
    const boxes = await page.evaluate(() =>
      ['#parts', '#token'].map((id) => {
        const r = document.querySelector(id)!.getBoundingClientRect()
        return [r.x, r.y, r.width, r.height].map((n) => Math.round(n))
      }),
    )
    expect(boxes[0]).toEqual(boxes[1])
    expect(await page.locator('#token').evaluate((t) => getComputedStyle(t).color)).toBe('rgba(0, 0, 0, 0)')
    // the layer is the box's whole text: the box never scrolls away from it
    expect(await page.locator('#token').evaluate((t) => t.scrollHeight <= t.clientHeight)).toBe(true)
    const shown = await page.evaluate(() => document.body.textContent!)
    expect(shown.split(sig).length - 1).toBe(1)
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-coloured.png')})
  })

  it("HMAC: the server's HS token asks for the secret (not a forgery); the secret pasted as text verifies it", async () => {
    await paste(tokens.hs)
    await page.waitForSelector('#verdict.info')
    expect(await verdict().textContent()).toContain('HMAC: paste the secret, it stays in this page')
    expect(await page.locator('#checks').textContent()).toContain('the HS256 secret of client hs')
    expect(await page.locator('#checks').textContent()).not.toContain('UNKNOWN_KID')
    expect(await page.locator('#checks li.bad').count()).toBe(0)
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-hmac.png')})

    await page.click('#verdict button')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('key')
    await type('#key', pastedKeys.secret)
    await page.waitForSelector('#verdict.ok')
    expect(await verdict().textContent()).toContain('Valid: signature verified with the secret you pasted')
    await type('#key', 'not the secret, though 32 bytes long')
    await page.waitForSelector('#verdict.bad')
    expect(await page.locator('#verdict .reason').textContent()).toBe('BAD_SIGNATURE')
  })

  it('an edit marks the verdict stale; the pasted secret or private key signs the edit, which verifies again', async () => {
    // HS: the secret (still in the key box) signs the edited claims
    await type('#key', pastedKeys.secret)
    await paste(tokens.hs)
    await page.waitForSelector('#verdict.ok')
    const claims = JSON.parse(await page.locator('#claims').inputValue())
    await page.fill('#claims', JSON.stringify({...claims, role: 'admin'}, null, 2))
    await page.waitForSelector('#verdict.stale')
    expect(await verdict().textContent()).toMatch(/^Stale: the claims were edited/)
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-stale.png')})
    await page.click('#sign-edited')
    await page.waitForSelector('#verdict.ok:not(.stale)')
    expect(await verdict().textContent()).toContain('verified with the secret you pasted')
    const signed = await page.locator('#token').inputValue()
    expect(JSON.parse(Buffer.from(signed.split('.')[1], 'base64url').toString())).toMatchObject({role: 'admin'})
    // the server verifies what the page signed: the secret is the client's own
    const verified = await jwtis(['token', 'verify', signed, '--vault', vault], {env: s.env})
    expect(verified.code, verified.stderr).toBe(0)

    // a private JWK signs too; without a key the button asks for one
    await page.check('input[name="keysource"][value="server"]')
    await paste(tokens.valid)
    await page.waitForSelector('#verdict.ok')
    await page.fill('#claims', JSON.stringify({...claims, sub: 'root'}, null, 2))
    await page.click('#sign-edited')
    expect(await page.locator('#sign-status').textContent()).toContain('Paste the private key')
    expect(await page.locator('input[name="keysource"][value="pasted"]').isChecked()).toBe(true)
    await page.fill('#key', JSON.stringify(privateJwk))
    await page.click('#sign-edited')
    await page.waitForSelector('#verdict.ok:not(.stale)')
    expect(await verdict().textContent()).toContain('Valid: signature verified with the key you pasted')
    const own = await page.locator('#token').inputValue()
    expect(JSON.parse(Buffer.from(own.split('.')[1], 'base64url').toString()).sub).toBe('root')
    const {exportJWK, importJWK, jwtVerify} = await import('jose')
    const publicJwk = await exportJWK(await importJWK({...privateJwk, d: undefined}, 'ES256'))
    await expect(jwtVerify(own, await importJWK(publicJwk, 'ES256'))).resolves.toBeTruthy()
    await page.fill('#key', '')
    await page.check('input[name="keysource"][value="server"]')
  })

  it('broken JSON in the claims box shows the parse error and where', async () => {
    await paste(tokens.valid)
    await page.waitForSelector('#verdict.ok')
    await page.fill('#claims', '{\n  "sub": "alice",\n  "role": admin\n}')
    await page.waitForSelector('#claims-error:not([hidden])')
    expect(await page.locator('#claims-error').textContent()).toBe(
      "The claims are not valid JSON: line 3, column 11: Unexpected token 'a'",
    )
    expect(await page.locator('#claims').getAttribute('aria-invalid')).toBe('true')
    expect(await page.locator('#sign-edited').isDisabled()).toBe(true)
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-bad-json.png')})
    await page.fill('#claims', '{"sub": "alice"}')
    await page.waitForSelector('#claims-error[hidden]', {state: 'attached'})
  })

  it("refresh tokens are named: sealed under the issuer's key, or to the client", async () => {
    await paste(tokens.refresh)
    await page.waitForSelector('#verdict.info')
    const {kid} = JSON.parse(Buffer.from(tokens.refresh.split('.')[0], 'base64url').toString())
    expect(await verdict().textContent()).toBe(
      `Refresh token, sealed: under this server's key-wrapping key ${kid} (active); only this server opens it (command below).`,
    )
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-refresh.png')})
    await paste(tokens.refreshToClient)
    await page.waitForSelector('#verdict.info')
    expect(await verdict().textContent()).toMatch(
      /^Encrypted JWT, sealed to encryption key \S+ of client legacy \(active\): an encrypted access token, or a refresh token sealed to the client/,
    )
  })

  it('a long kid wraps, readable whole, at desktop and phone widths', async () => {
    await type('#iss', '')
    for (const width of [1280, 390]) {
      await page.setViewportSize({height: 900, width})
      await paste(tokens.longKid)
      await page.waitForSelector('#verdict.bad')
      for (const id of ['#header', '#verdict', '#checks']) {
        const box = page.locator(id)
        expect(await box.textContent()).toContain(LONG_KID)
        expect(await box.evaluate((e) => e.scrollWidth <= e.clientWidth), `${id} at ${width}px`).toBe(true)
      }

      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
    }

    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-long-kid.png')})
    await page.setViewportSize({height: 900, width: 1280})
  })

  it('off loopback, /debug in the browser says the page is off and how to turn it on', async () => {
    const remote = await serve(vault, s.env, ['--workers', '1'], '0.0.0.0')
    const other = await browser.newPage()
    try {
      const response = await other.goto(`${remote.url.replace('0.0.0.0', '127.0.0.1')}/debug`)
      expect(response?.status()).toBe(404)
      expect(await other.locator('h1').textContent()).toBe('The token debugger is off on this server')
      expect(await other.locator('body').textContent()).toContain('start it with --debug-page on')
      await other.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-off.png')})
    } finally {
      await other.close()
      await remote.stop()
    }
  })

  it('keyboard first: / comes back to the token box, Esc clears it', async () => {
    await page.locator('#copy-token').focus()
    await page.keyboard.press('/')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('token')
    await page.keyboard.press('Escape')
    expect(await page.locator('#token').inputValue()).toBe('')
    await page.waitForSelector('#verdict.empty')
  })

  it('works with the network cut after load; dark and phone widths render without sideways scrolling', async () => {
    await page.context().setOffline(true)
    await paste(tokens.valid)
    await page.waitForSelector('#verdict.ok')
    await page.context().setOffline(false)

    await page.emulateMedia({colorScheme: 'dark'})
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-dark.png')})
    await page.emulateMedia({colorScheme: 'light'})
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe(dark)

    await page.setViewportSize({height: 844, width: 390})
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
    await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'debugger-phone.png')})
    await page.setViewportSize({height: 900, width: 1280})
  })

  it('no request ever carried a token; only the page, its files and the two key documents were fetched; CSP is set', () => {
    expect(cspHeader).toContain("default-src 'self'")
    expect(consoleErrors).toEqual([])
    const paths = new Set(seen.map((r) => new URL(r.url).pathname))
    expect([...paths].sort()).toEqual([
      '/.well-known/jwks.json',
      '/debug',
      '/debug/app.js',
      '/debug/favicon.svg',
      '/debug/keys.json',
      '/debug/style.css',
    ])
    for (const request of seen) {
      expect(request.url.startsWith(server.url), request.url).toBe(true)
      expect(request.method).toBe('GET')
      for (const token of [...Object.values(tokens), ...Object.values(pastedKeys)]) {
        for (const part of token.split('.').filter((p) => p.length > 20)) {
          expect(request.url + request.body + request.headers, request.url).not.toContain(part)
        }
      }
    }
  })
})

describe('the /debug page is served only where it should be', () => {
  it('on for loopback, off for other addresses unless --debug-page on, off with --debug-page off; off says how to turn it on', async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    const status = async (args: string[], host?: string) => {
      const server = await serve(vault, s.env, ['--workers', '1', ...args], host)
      const base = server.url.replace('0.0.0.0', '127.0.0.1')
      try {
        const res = await fetch(`${base}/debug`)
        const html = await fetch(`${base}/debug/`, {headers: {accept: 'text/html,application/xhtml+xml,*/*;q=0.8'}})
        return {
          body: await res.text(),
          csp: res.headers.get('content-security-policy'),
          html: {body: await html.text(), status: html.status, type: html.headers.get('content-type')},
          status: res.status,
        }
      } finally {
        await server.stop()
      }
    }

    const on = await status([])
    expect(on).toMatchObject({csp: expect.stringContaining("default-src 'self'"), status: 200})
    for (const off of [await status(['--debug-page', 'off']), await status([], '0.0.0.0')]) {
      expect(off.status).toBe(404)
      expect(JSON.parse(off.body)).toEqual({
        error: {
          code: 'NOT_FOUND',
          message:
            'the token debugger page is off: serve turns it on by default only when listening on loopback; start serve with --debug-page on to serve it here',
        },
      })
      expect(off.html).toMatchObject({status: 404, type: expect.stringContaining('text/html')})
      expect(off.html.body).toContain('<code>--debug-page on</code>')
    }

    expect((await status(['--debug-page', 'on'], '0.0.0.0')).status).toBe(200)
  })

  it('start-up says where the page is, or that it is off and how to turn it on', async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    // (human mode: --json keeps stderr for errors, so serve's helper, which reads the JSON ready line,
    // is not used); off a terminal each stderr line is JSON, and its `msg` is what a terminal shows
    const startUp = async (host: string) => {
      const child = spawn(NODE, [BIN, 'serve', '--vault', vault, '--listen', `${host}:0`, '--workers', '1'], {
        env: cleanEnv({...s.env, JWTIS_ADMIN_TOKEN: 'a'.repeat(32)}),
      })
      let stderr = ''
      const closed = new Promise((resolve) => {
        child.once('close', resolve)
      })
      await new Promise<void>((resolve) => {
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk
          if (stderr.includes('listening on') && stderr.includes('token debugger')) resolve()
        })
        child.once('close', () => resolve())
      })
      child.kill('SIGTERM')
      await closed
      return stderr
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as {msg: string}).msg)
    }

    expect(await startUp('127.0.0.1')).toContainEqual(
      expect.stringMatching(/^token debugger at http:\/\/127\.0\.0\.1:\d+\/debug /),
    )
    const remote = await startUp('0.0.0.0')
    expect(remote).toContain(
      'the token debugger page is off: serve turns it on by default only when listening on loopback; start serve with --debug-page on to serve it here',
    )
    expect(remote.join('\n')).not.toContain('token debugger at')
  })
})
