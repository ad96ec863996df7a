/**
 * Property-based fuzzing (fast-check, seeded and reproducible): random and mutated tokens to the
 * code `token verify`, `token decode`, `jwe decrypt` and `token renew` run; random and mutated
 * requests to every `serve` route; jose and the fast signing path checking each other.
 * JWTIS_FUZZ_RUNS cases (10,000 by default) to each token path, a tenth of that to each route
 * and to the jose agreement (a case there costs ten to twenty times as much), a few through the
 * built CLI. The seed is fixed, so that CI is repeatable (a red run is red again on replay);
 * JWTIS_FUZZ_SEED=S tries other cases, a larger JWTIS_FUZZ_RUNS (100000) makes a deep run.
 *
 * Properties: every failure is a JwtisError with a documented code and exit status (never 70,
 * never HTTP 500, never a stack trace); no mutation of a valid token is accepted.
 */
import type {FastifyInstance} from 'fastify'

import * as fc from 'fast-check'
import {importJWK, jwtVerify, SignJWT} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {exitCodeOf} from '../../src/cli/exit-codes.js'
import {isJwtisError} from '../../src/common/errors.js'
import {addClient} from '../../src/core/clients.js'
import {Issuer} from '../../src/core/issuer.js'
import {decodeToken} from '../../src/jose/decode.js'
import {decryptJwe} from '../../src/jose/jwe.js'
import {publicJwk} from '../../src/jose/keys.js'
import {buildServer} from '../../src/server/app.js'
import {MemoryStore} from '../../src/store/memory.js'
import {manualClock, tempVault} from '../helpers/vault.js'

export const FUZZ = {
  runs: Number(process.env.JWTIS_FUZZ_RUNS ?? 10_000),
  seed: Number(process.env.JWTIS_FUZZ_SEED ?? 20_261_123),
}
const params = {numRuns: FUZZ.runs, seed: FUZZ.seed}
/** For the targets whose every case is a full request or two signatures and verifications. */
const costly = {numRuns: Math.max(1, Math.round(FUZZ.runs / 10)), seed: FUZZ.seed}
process.stderr.write(`fuzz: JWTIS_FUZZ_RUNS=${FUZZ.runs} JWTIS_FUZZ_SEED=${FUZZ.seed} (set both to replay this run)\n`)
const TIMEOUT = 600_000

/** What a rejection may be: a JwtisError of a documented exit class, one line, no stack. */
function documented(error: unknown): boolean {
  return (
    isJwtisError(error) &&
    [1, 2, 3, 4, 5].includes(exitCodeOf(error.code)) &&
    /^[A-Z][A-Z_]+$/.test(error.code) &&
    !error.message.includes('\n') &&
    !/\bat .+:\d+:\d+/.test(error.message)
  )
}

async function settle<T>(promise: Promise<T>): Promise<{error?: unknown; ok: boolean; value?: T}> {
  try {
    return {ok: true, value: await promise}
  } catch (error) {
    return {error, ok: false}
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** One edit of a token: a character changed, inserted or removed, parts swapped or repeated. */
const mutation = fc.oneof(
  fc.record({at: fc.nat(), char: fc.constantFrom(...B64, '.', '=', ' ', '+', '/'), kind: fc.constant('set' as const)}),
  fc.record({at: fc.nat(), char: fc.constantFrom(...B64, '.', '\u0000', 'é'), kind: fc.constant('insert' as const)}),
  fc.record({at: fc.nat(), kind: fc.constant('delete' as const)}),
  fc.record({a: fc.nat(4), b: fc.nat(4), kind: fc.constant('swap' as const)}),
  fc.record({at: fc.nat(4), kind: fc.constant('repeat' as const)}),
  fc.record({
    header: fc.record(
      {
        alg: fc.constantFrom('none', 'None', 'NONE', 'HS256', 'ES384', 'RS256', 'PS256', 'EdDSA', 'ES256', 'dir', ''),
        b64: fc.boolean(),
        crit: fc.constant(['b64']),
        jku: fc.constant('http://127.0.0.1:9/jwks.json'),
        jwk: fc.constant({crv: 'P-256', kty: 'EC', x: 'AA', y: 'AA'}),
        kid: fc.oneof(
          fc.string(),
          fc.constant('../../etc/passwd'),
          fc.constant("' OR 1=1 --"),
          fc.constant('x'.repeat(10_240)),
        ),
        zip: fc.constant('DEF'),
      },
      {requiredKeys: []},
    ),
    kind: fc.constant('header' as const),
  }),
)

function mutate(token: string, m: typeof mutation extends fc.Arbitrary<infer T> ? T : never): string {
  const parts = token.split('.')
  switch (m.kind) {
    case 'delete': {
      const at = m.at % token.length
      return token.slice(0, at) + token.slice(at + 1)
    }

    case 'header': {
      let header: unknown
      try {
        header = JSON.parse(Buffer.from(parts[0], 'base64url').toString())
      } catch {
        header = {}
      }

      parts[0] = b64url({...(header as object), ...m.header})
      return parts.join('.')
    }

    case 'insert': {
      const at = m.at % (token.length + 1)
      return token.slice(0, at) + m.char + token.slice(at)
    }

    case 'repeat': {
      const at = m.at % parts.length
      parts.splice(at, 0, parts[at])
      return parts.join('.')
    }

    case 'set': {
      const at = m.at % token.length
      return token.slice(0, at) + m.char + token.slice(at + 1)
    }

    case 'swap': {
      const a = m.a % parts.length
      const b = m.b % parts.length
      ;[parts[a], parts[b]] = [parts[b], parts[a]]
      return parts.join('.')
    }
  }
}

/** Any string, strings shaped like compact tokens, and edits of a real one. */
const tokenLike = (valid: string) =>
  fc.oneof(
    fc.string({maxLength: 300}),
    fc.stringMatching(/^[\w-]{0,60}(\.[\w-]{0,60}){1,5}$/),
    fc
      .tuple(fc.jsonValue({maxDepth: 3}), fc.jsonValue({maxDepth: 3}), fc.string({maxLength: 20}))
      .map(([h, p, s]) => `${b64url(h)}.${b64url(p)}.${Buffer.from(s).toString('base64url')}`),
    fc.array(mutation, {maxLength: 3, minLength: 1}).map((ms) => {
      let token = valid
      for (const m of ms) token = mutate(token, m)
      return token
    }),
  )

let issuer: Issuer
let access: string
let refresh: string
let jwe: string
let clock: ReturnType<typeof manualClock>

beforeAll(async () => {
  const {vault} = await tempVault('https://issuer.test')
  clock = manualClock(Date.now())
  await addClient(vault, 'app', {aud: ['api'], refreshStrategy: 'noRefresh'}, new Date(clock()))
  const store = new MemoryStore()
  issuer = new Issuer(vault, async () => store, clock)
  const issued = await issuer.issue('app', {aud: ['api'], custom: {}, refresh: true, sub: 'alice'})
  access = issued.access_token
  refresh = issued.refresh_token!
  jwe = (await issuer.issue('app', {custom: {}, encrypt: true, sub: 'bob'})).access_token
})

describe('fuzzing the token paths in-process', () => {
  it(
    'token verify: random and mutated tokens are refused with a documented code; no mutation verifies',
    async () => {
      expect((await issuer.verify(access, {audience: ['api'], leewayMs: 30_000})).payload.sub).toBe('alice')
      await fc.assert(
        fc.asyncProperty(fc.oneof(tokenLike(access), tokenLike(jwe)), async (token) => {
          fc.pre(token !== access && token !== jwe)
          const out = await settle(issuer.verify(token, {audience: ['api'], leewayMs: 30_000}))
          expect(out.ok, `accepted: ${token}`).toBe(false)
          expect(documented(out.error), String(out.error)).toBe(true)
        }),
        params,
      )
    },
    TIMEOUT,
  )

  it(
    'token decode: shows what is there or says MALFORMED_TOKEN/TOKEN_TOO_LARGE, never anything else',
    async () => {
      await fc.assert(
        fc.property(fc.oneof(tokenLike(access), tokenLike(refresh)), (token) => {
          try {
            const decoded = decodeToken(token)
            expect(typeof decoded.header).toBe('object')
          } catch (error) {
            expect(documented(error), String(error)).toBe(true)
            expect(['MALFORMED_TOKEN', 'TOKEN_TOO_LARGE']).toContain((error as {code: string}).code)
          }
        }),
        params,
      )
    },
    TIMEOUT,
  )

  it(
    'jwe decrypt: random and mutated JWEs never decrypt and always fail with a documented code',
    async () => {
      const keyring = issuer.keyring()
      expect((await decryptJwe(refresh, {keyring})).plaintext.length).toBeGreaterThan(0)
      await fc.assert(
        fc.asyncProperty(tokenLike(refresh), async (token) => {
          fc.pre(token !== refresh)
          const out = await settle(decryptJwe(token, {keyring}))
          expect(out.ok, `decrypted: ${token}`).toBe(false)
          expect(documented(out.error), String(out.error)).toBe(true)
        }),
        params,
      )
    },
    TIMEOUT,
  )

  it(
    'token renew: random and mutated refresh tokens never renew, and the real one still does after all of them',
    async () => {
      await fc.assert(
        fc.asyncProperty(tokenLike(refresh), async (token) => {
          fc.pre(token !== refresh)
          const out = await settle(issuer.renew('app', token))
          expect(out.ok, `renewed: ${token}`).toBe(false)
          expect(documented(out.error), String(out.error)).toBe(true)
        }),
        params,
      )
      // no mutation got far enough to spend or revoke the family
      expect((await issuer.renew('app', refresh)).refresh_token).toBe(refresh)
    },
    TIMEOUT,
  )
})

const RESERVED = new Set(['aud', 'client_id', 'cnf', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub'])
const claimSet = fc.dictionary(
  fc.string({maxLength: 12, minLength: 1}).filter((k) => !RESERVED.has(k) && k !== '__proto__'),
  fc.jsonValue({maxDepth: 3}),
  {maxKeys: 6},
)

describe('the fast signing path and jose agree', () => {
  const algs = ['ES256', 'ES384', 'ES512', 'EdDSA', 'RS256', 'PS256', 'HS256', 'HS512'] as const
  const keys = new Map<string, {private: CryptoKey | Uint8Array; public: CryptoKey | Uint8Array}>()

  beforeAll(async () => {
    for (const alg of algs) {
      await addClient(issuer.vault, `c-${alg}`, {aud: ['api'], sigAlg: alg}, new Date(clock()))
      const record = issuer.vault.document.clients[`c-${alg}`].keys.find(
        (k) => k.use === 'sig' && k.state === 'active',
      )!
      const jwk = record.jwk as unknown as Record<string, unknown>
      const pub = publicJwk(jwk as never)
      keys.set(alg, {
        private: (await importJWK(jwk as never, alg)) as CryptoKey,
        public: (await importJWK((alg.startsWith('HS') ? jwk : pub) as never, alg)) as CryptoKey,
      })
    }
  }, TIMEOUT)

  it(
    'every generated claim set: issued by jwtis, verified by jose; signed by jose, verified by jwtis',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...algs),
          claimSet,
          fc.string({maxLength: 40, minLength: 1}),
          async (alg, custom, sub) => {
            // (JSON's own normalisation, -0 to 0 and the like, is the point: not a deep clone)
            // eslint-disable-next-line unicorn/prefer-structured-clone
            const expected = JSON.parse(JSON.stringify(custom)) as Record<string, unknown>
            const key = keys.get(alg)!
            const ours = await issuer.issue(`c-${alg}`, {aud: ['api'], custom, sub})
            const theirs = await jwtVerify(ours.access_token, key.public, {
              algorithms: [alg],
              audience: 'api',
              currentDate: new Date(clock()),
              typ: 'at+jwt',
            })
            expect(theirs.payload).toMatchObject({...expected, sub})

            const {kid} = issuer.vault.document.clients[`c-${alg}`].keys.find(
              (k) => k.use === 'sig' && k.state === 'active',
            )!.jwk
            const now = Math.floor(clock() / 1000)
            const signed = await new SignJWT({...custom, aud: 'api', exp: now + 60, iat: now, sub})
              .setProtectedHeader({alg, kid, typ: 'at+jwt'})
              .sign(key.private)
            const verified = await issuer.verify(signed, {audience: ['api'], leewayMs: 0})
            expect(verified.payload).toMatchObject({...expected, sub})
          },
        ),
        costly,
      )
    },
    TIMEOUT,
  )
})

describe('fuzzing every serve route', () => {
  const ADMIN = 'fuzz-admin-token'
  let app: FastifyInstance
  let clientToken: string

  beforeAll(async () => {
    ;({app} = await buildServer({adminToken: ADMIN, issuer, maxAuthFailures: 1000}))
    await app.ready()
    const reg = await app.inject({
      headers: {authorization: `Bearer ${ADMIN}`},
      method: 'POST',
      payload: {refresh_strategy: 'noRefresh'},
      url: '/register/web',
    })
    expect(reg.statusCode).toBe(201)
    clientToken = reg.json().client_token
  })
  afterAll(async () => app?.close())

  const routes = [
    ['POST', '/register/:kid'],
    ['GET', '/keys/:kid'],
    ['POST', '/issue_token'],
    ['POST', '/renew_token'],
    ['POST', '/revoke_token'],
    ['POST', '/logout'],
    ['POST', '/introspect'],
    ['GET', '/.well-known/jwks.json'],
    ['GET', '/.well-known/openid-configuration'],
    ['GET', '/ping'],
    ['GET', '/health'],
    ['GET', '/metrics'],
  ] as const

  const field = () =>
    fc.oneof(
      fc.jsonValue({maxDepth: 2}),
      fc.constantFrom('web', 'app', '', '15m', '-1s', '999999999h', 'noRefresh', 'refreshBoth', 'HS256', 'none'),
      // (chained: the tokens exist only once beforeAll has run)
      fc.constant(0).chain(() => fc.oneof(fc.constantFrom(access, refresh, jwe), tokenLike(refresh))),
    )
  const body = fc.oneof(
    fc
      .tuple(
        fc.record(
          {
            auth_token_valid_time: field(),
            claims: fc.oneof(field(), claimSet),
            encrypt: field(),
            fingerprint: field(),
            kid: field(),
            refresh_strategy: field(),
            refresh_token: field(),
            sig_alg: field(),
            sub: field(),
            token: field(),
            unknown_field: field(),
          },
          {requiredKeys: []},
        ),
        fc.boolean(),
      )
      // prototype pollution attempts are written into the text: an object literal cannot hold them
      .map(([o, poison]) =>
        poison
          ? `{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},${JSON.stringify(o).slice(1)}`
          : JSON.stringify(o),
      ),
    fc.jsonValue({maxDepth: 4}).map((v) => JSON.stringify(v)),
    fc.string({maxLength: 200}),
    fc.nat(200).map((n) => '['.repeat(n) + ']'.repeat(n)),
    fc.constant(''),
  )
  const contentType = fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/x-www-form-urlencoded',
    'text/plain',
    'application/octet-stream',
    'multipart/form-data; boundary=x',
    'application/json; charset=utf-16',
    '', // no content-type at all
  )
  /** `client` stands for the client token, known only once the server runs; `` for no header. */
  const bearer = fc.oneof(
    fc.constant(''),
    fc.constant(`Bearer ${ADMIN}`),
    fc.constant('client'),
    fc.string({maxLength: 60}),
    fc.string({maxLength: 60}).map((s) => `Bearer ${s}`),
  )
  const kidParam = fc.oneof(
    fc.constantFrom('web', 'app', 'new-client'),
    fc.string({maxLength: 40}),
    fc.constant('k'.repeat(200)),
  )
  const ip = fc.oneof(fc.ipV4(), fc.ipV6())

  it.each(routes)(
    '%s %s: never a 500, every error in the contract shape, no stack',
    async (method, route) => {
      await fc.assert(
        fc.asyncProperty(body, contentType, bearer, kidParam, ip, async (payload, type, auth, kid, remoteAddress) => {
          const url = route.replace(':kid', encodeURIComponent(kid))
          const res = await app.inject({
            headers: {
              ...(type ? {'content-type': type} : {}),
              ...(auth ? {authorization: auth === 'client' ? `Bearer ${clientToken}` : auth} : {}),
            },
            method,
            payload: method === 'POST' ? payload : undefined,
            remoteAddress,
            url,
          })
          expect(res.statusCode, `${method} ${url} ${type} ${payload}`).toBeLessThan(500)
          expect(res.body).not.toMatch(/\bat .+:\d+:\d+/)
          if (res.statusCode >= 400) {
            const {error} = res.json()
            expect(error.code).toMatch(/^[A-Z][A-Z_]+$/)
            expect(typeof error.message).toBe('string')
          }
        }),
        costly,
      )
      // nothing a request sent leaked into shared objects
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    },
    TIMEOUT,
  )
})

describe('a sample of the same inputs through the built CLI', () => {
  it(
    'token verify, token decode, jwe decrypt and token renew: one line, a documented exit code, never a stack',
    async () => {
      const {jwtis, jwtisOk, scratch} = await import('../helpers/cli.js')
      const {join} = await import('node:path')
      const s = scratch()
      const vault = join(s.dir, 'vault.age')
      await jwtisOk(['init', '--vault', vault], {env: s.env})
      await jwtisOk(['client', 'add', 'app', '--vault', vault], {env: s.env})
      const issued = JSON.parse(
        (await jwtisOk(['token', 'issue', '--client', 'app', '--refresh', '--json', '--vault', vault], {env: s.env}))
          .stdout,
      )
      const commands: Array<[string[], number[]]> = [
        [
          ['token', 'verify'],
          [1, 2],
        ],
        [
          ['token', 'decode'],
          [0, 1, 2],
        ],
        [
          ['jwe', 'decrypt'],
          [1, 2],
        ],
        [
          ['token', 'renew', '--client', 'app'],
          [1, 2],
        ],
      ]
      // (each input is a process start: a few show the path to the terminal, the in-process targets do the rest)
      const perCommand = Math.max(5, Math.round(FUZZ.runs / 2000))
      for (const [command, exits] of commands) {
        const valid = command[0] === 'token' && command[1] === 'verify' ? issued.access_token : issued.refresh_token
        const inputs = fc.sample(tokenLike(valid), {numRuns: perCommand, seed: FUZZ.seed}).filter((t) => t !== valid)
        const results = await Promise.all(
          inputs.map((token) =>
            jwtis([...command, '--vault', vault, '-'], {env: s.env, input: token}).then((out) => ({out, token})),
          ),
        )
        for (const {out, token} of results) {
          const what = `${command.join(' ')} ${JSON.stringify(token).slice(0, 120)}`
          expect(exits, `${what}: exit ${out.code}\n${out.stderr}`).toContain(out.code)
          expect(`${out.stdout}${out.stderr}`, what).not.toMatch(/\bat .+:\d+:\d+/)
          if (out.code !== 0) {
            expect(out.stderr.trimEnd().split('\n'), what).toHaveLength(1)
            expect(out.stderr, what).toMatch(/^Error: /)
            expect(out.stdout, what).toBe('')
          }
        }
      }
    },
    TIMEOUT,
  )
})
