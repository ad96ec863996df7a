/**
 * User experience (issue 12): every mistake leads to the next step, and output scripts can trust.
 */
import {spawnSync} from 'node:child_process'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, expect, it} from 'vitest'

import {
  BIN,
  BOTH_ENTRIES,
  cleanEnv,
  hasTool,
  json,
  jwtis,
  jwtisOk,
  jwtisTty,
  NODE,
  ROOT,
  scratch,
  shellQuote,
} from '../helpers/cli.js'
import {freePort} from '../helpers/redis.js'
import {serve} from '../helpers/serve.js'
import {hasPythonJose, python} from '../helpers/tools.js'

describe('getting started', () => {
  it('init makes its vault the default when there is none, so any directory finds it; a second vault leaves the first alone', async () => {
    const s = scratch()
    const first = join(s.dir, 'one', 'vault.age')
    const made = json(await jwtisOk(['init', '--vault', first, '--json'], {env: s.env}))
    expect(made).toMatchObject({is_default: true, vault: first})
    await jwtisOk(['client', 'add', 'app', '--vault', first], {env: s.env})
    // From another directory, no --vault, no JWTIS_VAULT: the setting finds it.
    const listed = json<Array<{kid: string; name: string}>>(
      await jwtisOk(['client', 'list', '--json'], {cwd: '/tmp', env: s.env}),
    )
    expect(listed).toMatchObject([{kid: 'app', name: 'app'}])
    expect((await jwtisOk(['config', 'get', 'vault'], {env: s.env})).stdout.trim()).toBe(first)

    const bytes = readFileSync(first)
    const second = join(s.dir, 'two', 'vault.age')
    expect(json(await jwtisOk(['init', '--vault', second, '--json'], {env: s.env}))).toMatchObject({
      is_default: false,
      vault: second,
    })
    expect(readFileSync(first)).toEqual(bytes)
    expect((await jwtisOk(['config', 'get', 'vault'], {env: s.env})).stdout.trim()).toBe(first)
  })

  it('npm run demo: the client token where it says "shown once", every printed line runnable as printed (tokens in files), --batch, jwe and a serve round trip with curl', () => {
    const demo = spawnSync('bash', [join(ROOT, 'scripts', 'demo.sh')], {
      encoding: 'utf8',
      env: {...process.env, CI: 'true', NO_COLOR: '1'},
      timeout: 120_000,
    })
    // Every command line the demo prints is printed and then run by one function, run(), as that
    // very text (eval): the demo exiting 0 (set -e, curl --fail-with-body) is those lines succeeding.
    expect(demo.status, demo.stderr).toBe(0)
    const script = readFileSync(join(ROOT, 'scripts', 'demo.sh'), 'utf8')
    expect(script.match(/\$ %s/g), 'only run() prints a command line').toEqual(['$ %s'])
    expect(script).toMatch(/run\(\) \{\n {2}printf '\\n%s\$ %s%s\\n' "\$bold" "\$1" "\$plain" >&2\n {2}eval "\$1"\n\}/)
    const all = `${demo.stderr}\n${demo.stdout}`
    // narration and output interleave on a terminal; apart they still say it in order
    expect(demo.stderr).toMatch(/Client token \(shown once, printed on stdout\):/)
    expect(demo.stdout).toMatch(/^jwtis_[\w-]{43}$/m)
    const commands = demo.stderr
      .split('\n')
      .filter((l) => l.startsWith('$ '))
      .map((l) => l.slice(2))
    expect(commands.length).toBeGreaterThan(15)
    for (const line of commands) {
      expect(line, 'a token in the narration').not.toMatch(/[\w-]{41}/)
      expect(line, 'a shortened argument').not.toContain('…')
      expect(spawnSync('bash', ['-n', '-c', line]).status, `${line} is not shell`).toBe(0)
    }

    const curls = commands.filter((line) => line.startsWith('curl '))
    expect(curls).toHaveLength(3)
    for (const line of curls) expect(line).toContain(" -H 'content-type: application/json' ")
    for (const wanted of [
      '--batch',
      'jwe encrypt',
      'jwe decrypt',
      'jwtis serve',
      '/register/web',
      '/issue_token',
      '/renew_token',
    ])
      expect(commands.join('\n')).toContain(wanted)
    expect(demo.stdout).toMatch(/"line":3/)
    expect(demo.stdout).toContain('hello from jwtis')
    expect(demo.stdout).toMatch(/^\{"expiry":\d+,"kid":"web",/m)
    expect(demo.stderr.match(/"status":201,"msg":"request"/g)).toHaveLength(3)
    expect(all).toContain('Demo done')
    // the server it started is gone with it
    const survivors = readdirSync('/proc')
      .filter((pid) => /^\d+$/.test(pid))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, 'latin1').includes('jwtis-demo.')
        } catch {
          return false
        }
      })
    expect(survivors).toEqual([])
  })

  it('"no vault" names every way to point at one', async () => {
    const s = scratch()
    const out = await jwtis(['client', 'list'], {cwd: s.dir, env: s.env})
    expect(out.code).toBe(3)
    for (const way of ['jwtis init', '--vault', 'JWTIS_VAULT', 'jwtis config set vault'])
      expect(out.stderr).toContain(way)
  })

  it('a Redis URL is kept as it is in the vault setting, but never one with a password', async () => {
    const s = scratch()
    await jwtisOk(['config', 'set', 'vault', 'redis://127.0.0.1:6379/2?name=prod'], {env: s.env})
    expect((await jwtisOk(['config', 'get', 'vault'], {env: s.env})).stdout.trim()).toBe(
      'redis://127.0.0.1:6379/2?name=prod',
    )
    const secret = await jwtis(['config', 'set', 'vault', 'redis://:sekrit-pw@127.0.0.1:6379'], {env: s.env})
    expect(secret.code).toBe(2)
    expect(secret.stderr).toContain('JWTIS_VAULT')
    expect(secret.stderr).not.toContain('sekrit-pw')
  })
})

describe('errors that say what to do next', () => {
  const s = scratch()
  const vault = join(s.dir, 'vault.age')
  const env = {...s.env, JWTIS_VAULT: vault}
  const ready = (async () => {
    await jwtisOk(['init'], {env})
    await jwtisOk(['client', 'add', 'billing', '--aud', 'api'], {env})
  })()

  it('-h is --help', async () => {
    const short = await jwtisOk(['token', 'issue', '-h'])
    const long = await jwtisOk(['token', 'issue', '--help'])
    expect(short.stdout).toBe(long.stdout)
    expect(short.stdout).toContain('USAGE')
  })

  it('help: whole-sentence summaries at any width, unwrapped descriptions, defaults as typed, a current command reference', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
    const ours = Object.values(
      manifest.commands as Record<string, {description?: string; id: string; summary?: string}>,
    )
    expect(ours.length).toBeGreaterThan(25)
    for (const command of ours) {
      const summary = command.summary ?? command.description ?? ''
      expect(summary, command.id).toMatch(/^[A-Z].*\.$/)
      expect(summary, command.id).not.toContain('\n')
      // oclif wraps descriptions to the terminal: a line break inside a paragraph would show as a
      // ragged cut (aligned two-column tables aside)
      for (const paragraph of (command.summary ? (command.description ?? '') : '').split('\n\n')) {
        const lines = paragraph.split('\n')
        if (lines.length > 1)
          expect(
            lines.every((l) => /^\S+ {2,}\S/.test(l)),
            `${command.id}: ${paragraph}`,
          ).toBe(true)
      }
    }

    const narrow = await jwtisOk(['token', '--help'], {env: {COLUMNS: '44'}})
    const joined = narrow.stdout.replaceAll(/\s+/g, ' ')
    expect(joined).toContain('or every family of a client (or of one subject of it).')
    const serveHelp = (await jwtisOk(['serve', '--help'])).stdout
    expect(serveHelp).toMatch(/--keep-alive-timeout=<value>\s+\[default: 5s\]/)
    expect(serveHelp).toMatch(/--request-timeout=<value>\s+\[default: 10s\]/)
    expect((await jwtisOk(['token', 'verify', '--help'])).stdout).toMatch(/--leeway=<value>\s+\[default: 30s\]/)

    const reference = spawnSync(process.execPath, [join(ROOT, 'scripts', 'docs.js'), '--check'], {encoding: 'utf8'})
    expect(reference.stderr).toBe('')
    expect(reference.status).toBe(0)
    const doc = readFileSync(join(ROOT, 'docs', 'commands.md'), 'utf8')
    for (const command of ours) expect(doc, command.id).toContain(`## \`jwtis ${command.id.replaceAll(':', ' ')}`)
  })

  it('an unknown command suggests the closest, as typed; with --json it is the error JSON', async () => {
    const out = await jwtis(['tokne', 'issue'])
    expect(out.code).toBe(2)
    expect(out.stderr).toBe('Error: unknown command `jwtis tokne issue`: did you mean `jwtis token issue`?\n')
    const asJson = await jwtis(['token', 'isue', '--json'])
    expect(asJson.code).toBe(2)
    expect(JSON.parse(asJson.stdout).error).toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('`jwtis token issue`'),
    })
    const nothingNear = await jwtis(['token', 'frobnicate'])
    expect(nothingNear.stderr).toContain('see `jwtis token --help`')
  })

  it('an unknown client suggests the closest registered one', async () => {
    await ready
    const out = await jwtis(['client', 'show', 'biling', '--json'], {env})
    expect(out.code).toBe(4)
    expect(JSON.parse(out.stdout).error).toMatchObject({
      code: 'CLIENT_NOT_FOUND',
      message: expect.stringContaining('"billing"'),
    })
  })

  it('usage mistakes are exit 2 with one line, never 70', async () => {
    await ready
    const cases: Array<[string[], RegExp]> = [
      [['token', 'issue', '--client'], /--client expects a value/],
      [['token', 'issue', '--bogus'], /Nonexistent flag: --bogus/],
      [['token', 'issue', '--client', 'billing', '--ttl', '0s'], /longer than 0s/],
      [['token', 'issue', '--client', 'billing', '--ttl', '300ms'], /at least 1s/],
      [['token', 'issue', '--client', 'billing', '--ttl', '-5m'], /--ttl/],
      [['token', 'verify', '--key', '/no/such/key.pem', 'x.y.z'], /\/no\/such\/key\.pem/],
      [['client', 'list', '--vault', ''], /--vault is empty/],
      [['client', 'list', '--vault', 'redis://bad url'], /not a valid redis:\/\/ URL/],
    ]
    for (const [args, message] of cases) {
      const out = await jwtis(args, {env})
      expect([out.code, out.stderr.trim().split('\n')], args.join(' ')).toEqual([2, [expect.stringMatching(message)]])
    }
  })

  it('serve on a port in use says so (exit 2), with one worker or several', async () => {
    await ready
    const port = await freePort()
    const taken = createServer().listen(port, '127.0.0.1')
    try {
      for (const workers of ['1', '2']) {
        const out = await jwtis(['serve', '--listen', `127.0.0.1:${port}`, '--workers', workers], {
          env: {...env, JWTIS_ADMIN_TOKEN: 'x'},
        })
        expect(out.code).toBe(2)
        expect(out.stderr).toBe(`Error: 127.0.0.1:${port} is in use: pick another with --listen\n`)
      }
    } finally {
      taken.close()
    }
  })

  it('a token pasted with "Bearer " or quotes is taken, with a note; renew given an access token says what to pass', async () => {
    await ready
    const token = (await jwtisOk(['token', 'issue', '--client', 'billing', '--sub', 'a'], {env})).stdout.trim()
    for (const pasted of [`Bearer ${token}`, `"${token}"`, `'${token}'`, `bearer "${token}"`]) {
      const out = await jwtis(['token', 'verify', pasted, '--aud', 'api'], {env})
      expect(out.code, pasted).toBe(0)
      expect(out.stderr).toMatch(/^note: took the token without/m)
    }

    const renew = await jwtis(['token', 'renew', '--client', 'billing', token, '--json'], {env})
    expect(renew.code).toBe(1)
    expect(JSON.parse(renew.stdout).error).toMatchObject({
      code: 'WRONG_TYPE',
      message: expect.stringContaining('refresh_token'),
    })
  })
})

describe('claim failures show the values', () => {
  const s = scratch()
  const env = {...s.env, JWTIS_VAULT: join(s.dir, 'vault.age')}
  const ready = (async () => {
    await jwtisOk(['init'], {env})
    await jwtisOk(['client', 'add', 'billing', '--aud', 'api', '--aud', 'web'], {env})
  })()

  it('when it expired and how long ago; which aud, iss and sub were expected and which it has', async () => {
    await ready
    const issuedAt = '2026-01-01T00:00:00Z'
    const token = (
      await jwtisOk(['token', 'issue', '--client', 'billing', '--sub', 'alice', '--aud', 'api', '--ttl', '15m'], {
        env: {...env, JWTIS_NOW: issuedAt},
      })
    ).stdout.trim()
    const later = {...env, JWTIS_NOW: '2026-01-01T02:15:00Z'}
    const expired = json<any>(await jwtis(['token', 'verify', token, '--aud', 'api', '--json'], {env: later}))
    expect(expired.error).toMatchObject({code: 'TOKEN_EXPIRED'})
    expect(expired.error.message).toContain('2026-01-01T00:15:00.000Z (2 hours ago)')
    const at = {...env, JWTIS_NOW: issuedAt}
    const cases: Array<[string[], string, string[]]> = [
      [['--aud', 'web'], 'AUDIENCE_MISMATCH', ['"api"', '"web"']],
      [['--aud', 'api', '--iss', 'someone'], 'ISSUER_MISMATCH', ['"JWTIS"', '"someone"']],
      [['--aud', 'api', '--sub', 'bob'], 'SUBJECT_MISMATCH', ['"alice"', '"bob"']],
    ]
    for (const [args, code, values] of cases) {
      const out = json<any>(await jwtis(['token', 'verify', token, ...args, '--json'], {env: at}))
      expect(out.error.code).toBe(code)
      for (const value of values) expect(out.error.message).toContain(value)
    }
  })

  it('--leeway takes and shows a duration', async () => {
    await ready
    const help = (await jwtisOk(['token', 'verify', '--help'])).stdout
    expect(help).toMatch(/--leeway=<value>\s+\[default: 30s\]/)
    const token = (
      await jwtisOk(['token', 'issue', '--client', 'billing', '--aud', 'api', '--ttl', '1m'], {
        env: {...env, JWTIS_NOW: '2026-01-01T00:00:00Z'},
      })
    ).stdout.trim()
    const late = {...env, JWTIS_NOW: '2026-01-01T00:01:45Z'}
    expect((await jwtis(['token', 'verify', token, '--aud', 'api'], {env: late})).code).toBe(1)
    expect((await jwtis(['token', 'verify', token, '--aud', 'api', '--leeway', '2m'], {env: late})).code).toBe(0)
  })
})

describe('exit codes fit', () => {
  it('jwe encrypt with a key that names no algorithm is a usage error naming --alg', async () => {
    const s = scratch()
    const {generateKeyPairSync} = await import('node:crypto')
    const pem = generateKeyPairSync('ec', {namedCurve: 'P-256'}).publicKey.export({format: 'pem', type: 'spki'})
    const file = join(s.dir, 'public.pem')
    writeFileSync(file, pem)
    const out = await jwtis(['jwe', 'encrypt', 'hello', '--key', file, '--json'], {env: s.env})
    expect(out.code).toBe(2)
    expect(JSON.parse(out.stdout).error.message).toContain('--alg')
    const withAlg = await jwtis(['jwe', 'encrypt', 'hello', '--key', file, '--alg', 'ECDH-ES+A256KW'], {env: s.env})
    expect(withAlg.code).toBe(0)
  })

  it('an unreachable --jwks URL is JWKS_UNAVAILABLE (exit 3), not a usage error', async () => {
    const port = await freePort()
    const out = await jwtis(['token', 'verify', 'a.b.c', '--jwks', `http://127.0.0.1:${port}/jwks.json`, '--json'])
    expect(out.code).toBe(3)
    expect(JSON.parse(out.stdout).error).toMatchObject({
      code: 'JWKS_UNAVAILABLE',
      message: expect.stringContaining('ECONNREFUSED'),
    })
  })
})

describe('a no-vault mode: token sign and jwk', () => {
  const HAS_PY = hasPythonJose()
  const HAS_JOSE = hasTool('jose', ['alg'], 'the jwk thumbprint cross-check (apt-get install jose)')
  const HAS_OPENSSL = hasTool('openssl', ['version'], 'reading jwk public --format pem with openssl')

  it('token sign with keys from jwk create (each algorithm family) verifies with PyJWT and jwcrypto, and with token verify --key', async ({
    skip,
  }) => {
    const s = scratch()
    const tokens = []
    const keys = []
    for (const alg of ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']) {
      const priv = join(s.dir, `${alg}.jwk`)
      const pub = join(s.dir, `${alg}.pub.jwk`)
      writeFileSync(priv, (await jwtisOk(['jwk', 'create', '--alg', alg, '--public-out', pub])).stdout)
      const jwk = JSON.parse(readFileSync(pub, 'utf8'))
      expect(jwk.d).toBeUndefined()
      keys.push(jwk)
      const signed = json<any>(
        await jwtisOk([
          'token',
          'sign',
          '--key',
          priv,
          '--sub',
          'alice',
          '--aud',
          'api',
          '--iss',
          'me',
          '--claim',
          'n=3',
          '--json',
        ]),
      )
      expect(signed.header).toEqual({alg, kid: jwk.kid, typ: 'JWT'})
      expect(signed.payload.exp - signed.payload.iat).toBe(900)
      tokens.push({alg, aud: 'api', iss: 'me', token: signed.token})
      const verified = await jwtis(['token', 'verify', signed.token, '--key', pub, '--aud', 'api', '--json'])
      expect(verified.code, alg).toBe(0)
    }

    skip(!HAS_PY, 'PyJWT or jwcrypto is not installed')
    const results = python<Record<string, Record<string, any>>>('verify_jws.py', {jwks: {keys}, tokens})
    for (const {alg} of tokens) {
      expect(results[alg].pyjwt, alg).toMatchObject({n: 3, sub: 'alice'})
      expect(results[alg].jwcrypto, alg).toMatchObject({n: 3, sub: 'alice'})
    }
  })

  it('HMAC from a secret file or stdin, never from the command line; too short a secret is refused', async ({skip}) => {
    const s = scratch()
    const secret = join(s.dir, 'secret')
    writeFileSync(secret, 'a secret long enough for hmac sha-256!!\n')
    const fromFile = json<any>(
      await jwtisOk([
        'token',
        'sign',
        '--secret',
        `@${secret}`,
        '--kid',
        'h1',
        '--aud',
        'api',
        '--iss',
        'me',
        '--json',
      ]),
    )
    const fromStdin = json<any>(
      await jwtisOk(['token', 'sign', '--secret', '-', '--kid', 'h1', '--aud', 'api', '--iss', 'me', '--json'], {
        input: 'a secret long enough for hmac sha-256!!',
      }),
    )
    expect(fromFile.header).toEqual({alg: 'HS256', kid: 'h1', typ: 'JWT'})
    expect(fromStdin.header.alg).toBe('HS256')
    const literal = await jwtis(['token', 'sign', '--secret', 'hunter2hunter2'])
    expect(literal.code).toBe(2)
    expect(literal.stderr).not.toContain('hunter2')
    const short = await jwtis(['token', 'sign', '--secret', '-', '--alg', 'HS512'], {input: 'too short'})
    expect([short.code, short.stderr]).toEqual([2, expect.stringContaining('at least 64 bytes')])
    skip(!HAS_PY, 'PyJWT or jwcrypto is not installed')
    const k = Buffer.from('a secret long enough for hmac sha-256!!').toString('base64url')
    const results = python<Record<string, Record<string, any>>>('verify_jws.py', {
      jwks: {keys: [{k, kid: 'h1', kty: 'oct'}]},
      tokens: [{alg: 'HS256', aud: 'api', iss: 'me', token: fromFile.token}],
    })
    expect(results.HS256.pyjwt).toMatchObject({aud: 'api', iss: 'me'})
    expect(results.HS256.jwcrypto).toMatchObject({aud: 'api', iss: 'me'})
  })

  it('--exp takes a duration, an RFC 3339 time or epoch seconds; --alg must fit the key', async () => {
    const s = scratch()
    const priv = join(s.dir, 'k.jwk')
    writeFileSync(priv, (await jwtisOk(['jwk', 'create', '--alg', 'ES256'])).stdout)
    const env = {JWTIS_NOW: '2026-01-01T00:00:00Z'}
    const exp = async (value: string) =>
      json<any>(await jwtisOk(['token', 'sign', '--key', priv, '--exp', value, '--json'], {env})).payload.exp
    const iat = Date.parse('2026-01-01T00:00:00Z') / 1000
    expect(await exp('+1h')).toBe(iat + 3600)
    expect(await exp('90m')).toBe(iat + 5400)
    expect(await exp('2026-01-02T00:00:00Z')).toBe(iat + 86_400)
    expect(await exp(String(iat + 60))).toBe(iat + 60)
    expect((await jwtis(['token', 'sign', '--key', priv, '--exp', '2025-01-01T00:00:00Z'], {env})).code).toBe(2)
    const wrong = await jwtis(['token', 'sign', '--key', priv, '--alg', 'RS256'])
    expect([wrong.code, wrong.stderr]).toEqual([2, expect.stringContaining('does not fit')])
  })

  it('jwk thumbprint is RFC 7638 (as jose jwk thp computes it), from JWK or PEM, private or public; jwk public --format pem reads in openssl', async ({
    skip,
  }) => {
    const s = scratch()
    const priv = join(s.dir, 'k.jwk')
    const pub = join(s.dir, 'k.pub.jwk')
    writeFileSync(priv, (await jwtisOk(['jwk', 'create', '--alg', 'ES256', '--public-out', pub])).stdout)
    const {kid} = JSON.parse(readFileSync(priv, 'utf8'))
    const pem = join(s.dir, 'k.pem')
    writeFileSync(pem, (await jwtisOk(['jwk', 'public', priv, '--format', 'pem'])).stdout)
    expect(readFileSync(pem, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/)
    for (const source of [[priv], [pub], [`@${pem}`], ['-']]) {
      const out = await jwtisOk(['jwk', 'thumbprint', ...source], {input: readFileSync(pub, 'utf8')})
      expect(out.stdout.trim(), source[0]).toBe(kid)
    }

    skip(!HAS_JOSE || !HAS_OPENSSL, 'the jose CLI or openssl is not installed')
    const thp = spawnSync('jose', ['jwk', 'thp', '-i', pub], {encoding: 'utf8'})
    expect(thp.stdout.trim()).toBe(kid)
    expect(spawnSync('openssl', ['pkey', '-pubin', '-in', pem, '-noout']).status).toBe(0)
  })

  it('token verify without --aud warns that the audience was not checked', async () => {
    const s = scratch()
    const priv = join(s.dir, 'k.jwk')
    const pub = join(s.dir, 'k.pub.jwk')
    writeFileSync(priv, (await jwtisOk(['jwk', 'create', '--alg', 'ES256', '--public-out', pub])).stdout)
    const token = (await jwtisOk(['token', 'sign', '--key', priv, '--aud', 'api'])).stdout.trim()
    const unchecked = await jwtisOk(['token', 'verify', token, '--key', pub])
    expect(unchecked.stderr).toContain('the audience was not checked')
    const checked = await jwtisOk(['token', 'verify', token, '--key', pub, '--aud', 'api'])
    expect(checked.stderr).not.toContain('audience')
  })
})

describe('output scripts can trust', () => {
  it('a reader that goes away (| head -1) ends the output quietly: no stack, the exit code the command had', async () => {
    const s = scratch()
    const env = {...s.env, JWTIS_VAULT: join(s.dir, 'vault.age')}
    await jwtisOk(['init'], {env})
    await jwtisOk(['client', 'add', 'app'], {env})
    const lines = join(s.dir, 'lines.ndjson')
    writeFileSync(lines, Array.from({length: 20_000}, (_, i) => `{"sub":"u${i}"}\n`).join(''))
    const jwtisIn = `${shellQuote(NODE)} ${shellQuote(BIN)}`
    for (const entry of BOTH_ENTRIES) {
      const piped = (command: string) =>
        spawnSync('bash', ['-c', `${command}; echo "exit \${PIPESTATUS[0]}" >&2`], {
          encoding: 'utf8',
          env: cleanEnv({...env, ...entry}),
        })
      for (const [command, exit] of [
        [`${jwtisIn} keys list --json | true`, 0],
        [`${jwtisIn} token verify x.y.z --json | true`, 1],
        [`${jwtisIn} token issue --client app --batch < ${shellQuote(lines)} | head -1 > /dev/null`, 0],
      ] as const) {
        const out = piped(command)
        const said = out.stderr.trim().split('\n')
        expect(said.at(-1), `${command}: ${out.stderr}`).toBe(`exit ${exit}`)
        expect(out.stderr, command).not.toMatch(/EPIPE|\n\s+at /)
      }

      // the batch stopped soon after its reader went, rather than answering every line to no one
      const batch = piped(`${jwtisIn} token issue --client app --batch < ${shellQuote(lines)} | head -1 > /dev/null`)
      const issued = Number(/(\d+) issued/.exec(batch.stderr)?.[1])
      expect(issued, batch.stderr).toBeLessThan(20_000)
    }
  })

  it('JSON keys are snake_case: vault status defaults, client show settings; client list names the client', async () => {
    const s = scratch()
    const env = {...s.env, JWTIS_VAULT: join(s.dir, 'vault.age')}
    await jwtisOk(['init'], {env})
    await jwtisOk(['client', 'add', 'app'], {env})
    const status = json<any>(await jwtisOk(['vault', 'status', '--json'], {env}))
    const show = json<any>(await jwtisOk(['client', 'show', 'app', '--json'], {env}))
    for (const settings of [status.defaults, show.settings]) {
      expect(settings).toMatchObject({access_ttl: '15m', refresh_strategy: 'noRefresh', sig_alg: 'ES256'})
      expect(Object.keys(settings).filter((k) => /[A-Z]/.test(k))).toEqual([])
    }

    expect(json<any[]>(await jwtisOk(['client', 'list', '--json'], {env}))[0]).toMatchObject({kid: 'app', name: 'app'})
  })

  it('colour follows NO_COLOR, FORCE_COLOR=0, TERM=dumb and a pipe: none; a terminal otherwise', async () => {
    const token = `${Buffer.from('{"alg":"ES256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"a"}').toString('base64url')}.c2ln`
    const ESC = '\u001B['
    const tty = (env: Record<string, string | undefined>) =>
      jwtisTty(['token', 'decode', token], {env: {NO_COLOR: undefined, TERM: 'xterm', ...env}})
    expect((await tty({})).stdout).toContain(ESC)
    for (const env of [{NO_COLOR: '1'}, {FORCE_COLOR: '0'}, {TERM: 'dumb'}]) {
      const out = await tty(env)
      expect(out.stdout, JSON.stringify(env)).toContain('NOT VERIFIED')
      expect(out.stdout, JSON.stringify(env)).not.toContain(ESC)
    }

    const piped = await jwtis(['token', 'decode', token], {env: {NO_COLOR: undefined}})
    expect(piped.stdout + piped.stderr).not.toContain(ESC)
  })

  it('token verify shows the registered times as dates on a terminal; into a pipe the JSON alone', async () => {
    const s = scratch()
    const priv = join(s.dir, 'k.jwk')
    const pub = join(s.dir, 'k.pub.jwk')
    writeFileSync(priv, (await jwtisOk(['jwk', 'create', '--alg', 'ES256', '--public-out', pub])).stdout)
    const env = {JWTIS_NOW: '2026-01-01T00:00:00Z'}
    const token = (await jwtisOk(['token', 'sign', '--key', priv, '--aud', 'api', '--exp', '15m'], {env})).stdout.trim()
    const tty = await jwtisTty(['token', 'verify', token, '--key', pub, '--aud', 'api'], {env})
    expect(tty.stdout).toMatch(/^exp {3}2026-01-01T00:15:00\.000Z \(in 15 minutes\)$/m)
    expect(tty.stdout).toMatch(/^iat {3}2026-01-01T00:00:00\.000Z/m)
    const piped = await jwtisOk(['token', 'verify', token, '--key', pub, '--aud', 'api'], {env})
    expect(JSON.parse(piped.stdout)).toMatchObject({aud: 'api', exp: 1_767_226_500})
  })
})

describe('serve: an access log without secrets', () => {
  it('one JSON line per request on stderr, no token, header or query in it; --log-level error keeps quiet', async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    const server = await serve(vault, s.env, ['--workers', '1'])
    try {
      const reg = await server.request('POST', '/register/web', {refresh_strategy: 'refreshBoth'}, server.admin)
      expect(reg.status).toBe(201)
      const clientToken: string = reg.body.client_token
      const issued = await server.request('POST', '/issue_token', {claims: {sub: 'u1'}, kid: 'web'}, clientToken)
      const renewed = await server.request(
        'POST',
        '/renew_token',
        {kid: 'web', refresh_token: issued.body.refresh_token},
        clientToken,
      )
      expect(renewed.status).toBe(201)
      expect((await server.request('GET', `/ping?token=${issued.body.access_token}`)).status).toBe(200)
      expect((await server.request('POST', '/issue_token', {kid: 'web'}, 'wrong-token')).status).toBe(401)
      // the last line is written before its answer leaves: wait for it
      const deadline = Date.now() + 5000
      while (!server.stderr().includes('"status":401') && Date.now() < deadline) await sleep(20)

      const lines = server
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
      const requests = lines.filter((l) => l.msg === 'request')
      expect(requests.map((l) => [l.method, l.path, l.status])).toEqual([
        ['POST', '/register/web', 201],
        ['POST', '/issue_token', 201],
        ['POST', '/renew_token', 201],
        ['GET', '/ping', 200],
        ['POST', '/issue_token', 401],
      ])
      expect(requests[1]).toMatchObject({client: 'web', level: 30, remote: '127.0.0.1', route: '/issue_token'})
      expect(typeof requests[1].ms).toBe('number')
      for (const secret of [
        server.admin,
        clientToken,
        issued.body.access_token,
        issued.body.refresh_token,
        renewed.body.refresh_token,
        'wrong-token',
      ]) {
        expect(server.stderr()).not.toContain(secret)
      }
    } finally {
      await server.stop()
    }

    const quiet = await serve(vault, s.env, ['--workers', '1', '--log-level', 'error'])
    try {
      expect((await quiet.request('GET', '/ping')).status).toBe(200)
      await sleep(200)
      expect(quiet.stderr()).not.toContain('"msg":"request"')
    } finally {
      await quiet.stop()
    }
  })
})
