/**
 * Issue 20 against the real `jwtis serve` process, with several workers behind a (simulated)
 * reverse proxy: introspection answers only the token's own client, discovery URLs ignore a
 * forged Host, and one caller's failed authentications do not stop the others' valid ones.
 */
import {request as httpRequest} from 'node:http'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {jwtis, jwtisOk, scratch} from '../helpers/cli.js'
import {serve, type Served} from '../helpers/serve.js'

/** GET over node:http, which sends the Host header it is given (fetch would not). */
const getWithHost = (url: string, host: string) =>
  new Promise<{body: string; headers: Record<string, string | string[] | undefined>}>((resolve, reject) => {
    const req = httpRequest(url, {headers: {host, 'x-forwarded-host': host, 'x-forwarded-proto': 'https'}}, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d
      })
      res.on('end', () => resolve({body, headers: res.headers}))
    })
    req.on('error', reject).end()
  })

const discover = async (server: Served) => {
  const res = await getWithHost(`${server.url}/.well-known/openid-configuration`, 'evil.test')
  expect(res.body).not.toContain('evil.test')
  expect(res.headers['cache-control']).toBe('public, max-age=300')
  expect(res.headers.vary).toBeUndefined()
  const {introspection_endpoint: introspection, jwks_uri: jwks} = JSON.parse(res.body)
  return {introspection, jwks}
}

describe('jwtis serve behind a proxy, with two workers', () => {
  const s = scratch()
  const vault = join(s.dir, 'vault.age')
  const tokens: Record<string, string> = {}
  let server: Served

  beforeAll(async () => {
    await jwtisOk(['init', '--vault', vault], {env: s.env}) // issuer "JWTIS": not a URL
    for (const name of ['alpha', 'beta'])
      tokens[name] = (await jwtisOk(['client', 'add', name, '--vault', vault], {env: s.env})).stdout.trim()
    server = await serve(vault, s.env, ['--workers', '2', '--trust-proxy', '--max-auth-failures', '2'])
  })
  afterAll(async () => server?.stop())

  it('discovery URLs are under the listen address, whatever Host and X-Forwarded-Host say', async () => {
    expect(await discover(server)).toEqual({
      introspection: `${server.url}/introspect`,
      jwks: `${server.url}/.well-known/jwks.json`,
    })
  })

  it("beta introspecting alpha's encrypted access token gets {active: false}; alpha and the admin get its claims", async () => {
    const issued = await server.request(
      'POST',
      '/issue_token',
      {claims: {secret: 's3', sub: 'alice'}, encrypt: true, kid: 'alpha'},
      tokens.alpha,
    )
    expect(issued.status).toBe(201)
    const introspect = async (bearer: string) => {
      const res = await fetch(`${server.url}/introspect`, {
        body: new URLSearchParams({token: issued.body.access_token}),
        headers: {authorization: `Bearer ${bearer}`},
        method: 'POST',
      })
      expect(res.status).toBe(200)
      return res.json()
    }

    expect(await introspect(tokens.beta)).toEqual({active: false})
    for (const bearer of [tokens.alpha, server.admin])
      expect(await introspect(bearer)).toMatchObject({active: true, client_id: 'alpha', secret: 's3'})
  })

  it('on every interface, with an issuer that is not a URL, says at start that --public-url is needed', async () => {
    const wide = await serve(vault, s.env, ['--workers', '1'], '0.0.0.0')
    try {
      const {port} = new URL(wide.url)
      expect(await discover(wide)).toEqual({
        introspection: `http://0.0.0.0:${port}/introspect`,
        jwks: `http://0.0.0.0:${port}/.well-known/jwks.json`,
      })
      await vi.waitFor(() =>
        expect(wide.stderrLines()).toContainEqual(
          expect.objectContaining({
            level: 40,
            msg: `the discovery document gives URLs under http://0.0.0.0:${port}, which other hosts cannot reach: give --public-url (or make the issuer a URL)`,
          }),
        ),
      )
    } finally {
      await wide.stop()
    }
  })

  /** POST /issue_token for alpha, from the address the proxy says every caller has. */
  const issueBehindProxy = async (bearer: string) => {
    const res = await fetch(`${server.url}/issue_token`, {
      body: JSON.stringify({kid: 'alpha'}),
      headers: {
        authorization: `Bearer ${bearer}`,
        'content-type': 'application/json',
        // what a caller sends, then what the proxy appends: the caller's first entry must not count
        'x-forwarded-for': `10.0.${Math.floor(Math.random() * 250)}.1, 198.51.100.7`,
      },
      method: 'POST',
    })
    await res.arrayBuffer()
    return {retryAfter: res.headers.get('retry-after'), status: res.status}
  }

  it("a caller's failed authentications get 429 with Retry-After; valid tokens from the same address all pass", async () => {
    // (concurrent requests go over several connections, which the primary hands to both workers)
    const failures = await Promise.all(Array.from({length: 8}, (_, i) => issueBehindProxy(`jwtis_guess${i}`)))
    expect(failures.filter((f) => f.status === 429).length).toBeGreaterThanOrEqual(4)
    expect(failures.every((f) => f.status === 401 || Number(f.retryAfter) > 0)).toBe(true)
    const valid = await Promise.all(Array.from({length: 8}, () => issueBehindProxy(tokens.alpha)))
    expect(valid.map((v) => v.status)).toEqual(Array.from({length: 8}, () => 201))
  })
})

describe('serve with a short admin token', () => {
  const s = scratch()

  it("warns at start that the limiter does not stop guessing it (the helper's token is 16 characters)", async () => {
    const vault = join(s.dir, 'vault.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    const server = await serve(vault, s.env, ['--workers', '1'])
    try {
      await vi.waitFor(() =>
        expect(server.stderrLines()).toContainEqual(
          expect.objectContaining({
            level: 40,
            msg: 'the admin token has 16 characters; failed guesses are limited per address, not stopped: use at least 32 random ones (openssl rand -hex 32)',
          }),
        ),
      )
      expect(server.stderr()).not.toContain(server.admin)
    } finally {
      await server.stop()
    }
  })
})

describe('serve --public-url', () => {
  const s = scratch()
  const vault = join(s.dir, 'vault.age')
  beforeAll(async () => {
    await jwtisOk(['init', '--vault', vault, '--name', 'https://issuer.test'], {env: s.env})
  })

  it('is the base of the discovery URLs, before the issuer (env JWTIS_PUBLIC_URL)', async () => {
    const server = await serve(vault, {...s.env, JWTIS_PUBLIC_URL: 'https://auth.example.com/jwtis/'}, [
      '--workers',
      '1',
    ])
    try {
      expect(await discover(server)).toEqual({
        introspection: 'https://auth.example.com/jwtis/introspect',
        jwks: 'https://auth.example.com/jwtis/.well-known/jwks.json',
      })
    } finally {
      await server.stop()
    }
  })

  it.each([
    'auth.example.com',
    'ftp://auth.example.com',
    'https://auth.example.com/?tenant=a',
    'https://a@auth.example.com',
  ])('refuses %s with exit 2 and one line', async (url) => {
    const out = await jwtis(['serve', '--vault', vault, '--listen', '127.0.0.1:0', '--public-url', url], {
      env: {...s.env, JWTIS_ADMIN_TOKEN: 'test-admin-token'},
    })
    expect([out.code, out.stdout, out.stderr]).toEqual([
      2,
      '',
      `Error: --public-url ${url}: expected an absolute http(s) URL without credentials, query or fragment, e.g. https://auth.example.com\n`,
    ])
  })
})
