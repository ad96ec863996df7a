/**
 * `jwtis serve --dev-login` as users run it: the built CLI refuses it off loopback, and the whole
 * authorization code flow runs with a client library that is not ours (panva's openid-client 6:
 * discovery, PKCE, the authorization URL, the code grant with its ID token checks, userinfo),
 * the login page driven in Debian's Chromium through playwright-core, as the debugger tests
 * launch it. The tokens are then verified by PyJWT against the served JWKS. A screenshot of the
 * login page goes to test/artifacts/.
 */
import {mkdirSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {type AddressInfo, createServer as createNetServer} from 'node:net'
import {join} from 'node:path'
import * as client from 'openid-client'
import {chromium} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {hasTool, jwtis, jwtisOk, ROOT, scratch} from '../helpers/cli.js'
import {serve, type Served} from '../helpers/serve.js'
import {hasPythonJose, python} from '../helpers/tools.js'

const CHROMIUM = '/usr/bin/chromium'
const HAS_CHROMIUM = hasTool(
  CHROMIUM,
  ['--version'],
  'the code flow through the login page in a browser (apt-get install chromium)',
)
const HAS_PY =
  hasPythonJose() ||
  hasTool('false', [], 'verifying the code flow’s tokens with PyJWT (apt-get install python3-jwt python3-jwcrypto)')
const ARTIFACTS = join(ROOT, 'test', 'artifacts')

/** A loopback port nobody listens on now. */
async function freePort(): Promise<number> {
  const probe = createNetServer()
  await new Promise<void>((resolve) => {
    probe.listen(0, '127.0.0.1', resolve)
  })
  const {port} = probe.address() as AddressInfo
  await new Promise((resolve) => {
    probe.close(resolve)
  })
  return port
}

describe('serve --dev-login', () => {
  const s = scratch()
  const vault = join(s.dir, 'vault.age')
  beforeAll(async () => {
    await jwtisOk(['init', '--vault', vault, '--name', 'https://issuer.test'], {env: s.env})
  })

  it.each([
    '--listen 0.0.0.0:0',
    '--listen [::]:0',
    '--listen 192.0.2.1:4456',
    '--listen 127.0.0.1:0 --trust-proxy',
    '--listen 127.0.0.1:0 --public-url https://auth.example.com',
  ])('is refused with %s: exit 2, naming loopback', async (flags) => {
    const args = ['serve', '--dev-login', ...flags.split(' '), '--vault', vault]
    const run = await jwtis(args, {env: s.env})
    expect(run.code).toBe(2)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(/--dev-login .*loopback/)
    const json = await jwtis([...args, '--json'], {env: s.env})
    expect(JSON.parse(json.stdout).error.code).toBe('USAGE')
  })

  it('says at start that it authenticates nobody; without it /authorize does not exist', async () => {
    const on = await serve(vault, s.env, ['--dev-login', '--workers', '1'])
    const off = await serve(vault, s.env, ['--workers', '1'])
    try {
      expect(on.stderr()).toMatch(/--dev-login: .*authenticates nobody/)
      expect((await on.request('GET', '/authorize')).status).toBe(400)
      expect((await off.request('GET', '/authorize')).status).toBe(404)
      expect(off.stderr()).not.toContain('dev-login')
    } finally {
      await on.stop()
      await off.stop()
    }
  })
})

describe.skipIf(!HAS_CHROMIUM)('the authorization code flow with openid-client, in Chromium', () => {
  const s = scratch()
  let server: Served | undefined
  let callback: Server
  let redirectUri: string
  let secret: string
  let issuer: string

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, {recursive: true})
    // The application's redirect URI: a real listener that only says the sign-in is over.
    callback = createServer((_request, response) => response.end('signed in'))
    await new Promise<void>((resolve) => {
      callback.listen(0, '127.0.0.1', resolve)
    })
    redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`
    // Clients find the server from its issuer, so the issuer names the port serve listens on:
    // one found free a moment before, which another process may take first (then: another).
    for (let attempt = 1; server === undefined; attempt++) {
      const port = await freePort()
      issuer = `http://127.0.0.1:${port}`
      const vault = join(s.dir, `vault-${attempt}.age`)
      await jwtisOk(['init', '--vault', vault, '--name', issuer], {env: s.env})
      const added = [
        'client',
        'add',
        'webapp',
        '--redirect-uri',
        redirectUri,
        '--scope',
        'profile',
        '--refresh-strategy',
        'refreshBoth',
        '--vault',
        vault,
      ]
      secret = (await jwtisOk(added, {env: s.env})).stdout.trim()
      server = await serve(vault, s.env, ['--dev-login', '--workers', '1'], '127.0.0.1', port).catch(
        (error: unknown): undefined => {
          if (attempt === 3) throw error
        },
      )
    }
  }, 60_000)

  afterAll(async () => {
    await server?.stop()
    callback?.close()
  })

  it('discovery, the login page, the code grant, userinfo; PyJWT verifies the tokens', async () => {
    const config = await client.discovery(new URL(issuer), 'webapp', secret, undefined, {
      execute: [client.allowInsecureRequests],
    })
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const nonce = client.randomNonce()
    const url = client.buildAuthorizationUrl(config, {
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      login_hint: 'alice@example.com',
      nonce,
      redirect_uri: redirectUri,
      scope: 'openid profile',
      state,
    })

    const browser = await chromium.launch({
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
      executablePath: CHROMIUM,
    })
    let back: URL
    try {
      const page = await (await browser.newContext()).newPage()
      const errors: string[] = []
      page.on('console', (message) => message.type() === 'error' && errors.push(message.text()))
      await page.goto(url.href)
      await expect.poll(() => page.getByLabel('Subject').inputValue()).toBe('alice@example.com')
      await page.getByLabel('Extra claims').fill('{"name": "Alice", "email": "alice@example.com"}')
      await page.screenshot({fullPage: true, path: join(ARTIFACTS, 'dev-login.png')})
      await Promise.all([
        page.waitForURL((at) => at.href.startsWith(redirectUri)),
        page.getByRole('button', {name: 'Sign in'}).click(),
      ])
      back = new URL(page.url())
      // the page loads nothing and breaks no policy of its own
      expect(errors).toEqual([])
    } finally {
      await browser.close()
    }

    const tokens = await client.authorizationCodeGrant(config, back, {
      expectedNonce: nonce,
      expectedState: state,
      pkceCodeVerifier: verifier,
    })
    expect(tokens.claims()).toMatchObject({aud: 'webapp', iss: issuer, name: 'Alice', nonce, sub: 'alice@example.com'})
    expect(tokens.refresh_token).toBeTruthy()
    const info = await client.fetchUserInfo(config, tokens.access_token, 'alice@example.com')
    expect(info).toEqual({email: 'alice@example.com', name: 'Alice', sub: 'alice@example.com'})

    if (!HAS_PY) return
    const jwks = (await server!.request('GET', '/.well-known/jwks.json')).body
    for (const [token, aud] of [
      [tokens.id_token!, 'webapp'],
      [tokens.access_token, 'webapp'],
    ]) {
      const verified = python<Record<string, {pyjwt: Record<string, unknown>}>>('verify_jws.py', {
        jwks,
        tokens: [{alg: 'ES256', aud, iss: issuer, token}],
      })
      expect(verified.ES256.pyjwt).toMatchObject({iss: issuer, sub: 'alice@example.com'})
    }
  })
})
