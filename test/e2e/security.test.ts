/**
 * Regression tests for the weaknesses and robustness defects of issue 8, each through the built
 * CLI's commands as an attacker or a careless user would meet them: in this process (`cli`), and
 * as a subprocess where the process is part of the case (a terminal, stdin that never ends, a
 * Redis connection).
 */
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, lstatSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, BOTH_ENTRIES, cleanEnv, hasTool, json, jwtis, jwtisTty, NODE, scratch} from '../helpers/cli.js'
import {startRedis} from '../helpers/redis.js'
import {cli, cliOk} from '../helpers/run-command.js'
import {signWithVaultKey} from '../helpers/vault.js'

let env: Record<string, string>
let dir: string
let vault: string
let identityFile: string
const run = (args: string[], extra: Record<string, string | undefined> = {}, input?: string) =>
  cli([...args, '--vault', vault], {env: {...env, ...extra}, input})
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`
const now = () => Math.floor(Date.now() / 1000)
/** Anything a terminal would act on: ESC, CSI (C1), BEL, CR. */
// eslint-disable-next-line no-control-regex
const TERMINAL_CONTROL = /[\u0007\r\u001B\u009B]/

/** A valid identity with one character changed: its bech32 checksum no longer matches. */
function mistyped(): string {
  const id = readFileSync(identityFile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('AGE-SECRET-KEY-1'))!
  const last = id.at(-1) === 'Q' ? 'P' : 'Q'
  return `${id.slice(0, -1)}${last}`
}

beforeAll(async () => {
  const s = scratch()
  env = s.env
  dir = s.dir
  vault = join(dir, 'vault.age')
  identityFile = join(s.config, 'identity.txt')
  await cliOk(['init', '--vault', vault, '--name', 'https://issuer.test'], {env})
  await cliOk(['client', 'add', 'alice', '--vault', vault], {env})
  await cliOk(['client', 'add', 'bob', '--vault', vault, '--aud', 'https://bob.api'], {env})
}, 60_000)

describe('1. no secret in any message', () => {
  it('a mistyped identity from JWTIS_AGE_KEY, JWTIS_AGE_KEY_FILE or --identity is VAULT_BAD_KEY, never echoed', async () => {
    const bad = mistyped()
    const file = join(dir, 'bad-identity.txt')
    writeFileSync(file, `${bad}\n`, {mode: 0o600})
    for (const [args, extra] of [
      [[], {JWTIS_AGE_KEY: bad}],
      [[], {JWTIS_AGE_KEY_FILE: file}],
      [['--identity', file], {}],
    ] as Array<[string[], Record<string, string>]>) {
      for (const output of [[], ['--json']]) {
        const out = await run(['client', 'list', ...args, ...output], extra)
        expect(out.code, out.stderr).toBe(3)
        expect(out.stdout + out.stderr).not.toContain(bad)
        expect(out.stdout + out.stderr).not.toContain(bad.slice(16, 50))
        expect(out.stdout + out.stderr).toMatch(/VAULT_BAD_KEY|not a valid age identity/)
      }
    }
  })

  it('a wrong passphrase, a Redis password and an admin token are never printed', async () => {
    const s = scratch()
    const pv = join(s.dir, 'p.age')
    await cliOk(['init', '--passphrase', '--vault', pv], {env: {...s.env, JWTIS_PASSPHRASE: 'right-passphrase-1'}})
    const wrong = await cli(['client', 'list', '--vault', pv, '--json'], {
      env: {...s.env, JWTIS_PASSPHRASE: 'wrong-passphrase-2'},
    })
    expect(wrong.code).toBe(3)
    expect(wrong.stdout + wrong.stderr).not.toContain('wrong-passphrase-2')

    for (const store of ['foo://user:hunter2hunter2@127.0.0.1', 'redis://:hunter2hunter2@127.0.0.1:1']) {
      const out = await run(['token', 'issue', '--client', 'alice', '--refresh', '--store', store])
      expect(out.code).not.toBe(0)
      expect(out.code).not.toBe(70)
      expect(out.stdout + out.stderr).not.toContain('hunter2hunter2')
    }
  })

  it('a key given where a file is expected is read as the key, and a broken one is never repeated', async () => {
    const jwk = JSON.parse((await jwtis(['jwk', 'create', '--alg', 'ES256'], {env})).stdout)
    const pem = spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], {
      encoding: 'utf8',
    }).stdout
    for (const entry of BOTH_ENTRIES) {
      const options = {env: {...env, ...entry}}
      const thumbprint = await jwtis(['jwk', 'thumbprint', JSON.stringify(jwk)], options)
      expect([thumbprint.code, thumbprint.stdout.trim()]).toEqual([0, jwk.kid])
      const signed = await jwtis(['token', 'sign', '--key', pem, '--sub', 's', '--json'], options)
      expect(signed.code, signed.stderr).toBe(0)
      const verified = await jwtis(['token', 'verify', '--key', JSON.stringify(jwk), json<any>(signed).token], options)
      expect(verified.code).toBe(1) // another key: rejected, not a usage error about a file
      const broken = [
        ['jwk', 'public', JSON.stringify({...jwk, x: 'broken'})],
        ['jwk', 'public', `${JSON.stringify(jwk)}garbage`],
        ['token', 'sign', '--key', pem.replaceAll('A', 'B'), '--json'],
        ['jwe', 'decrypt', '--key', '{"kty":"oct","k":"SUPERSECRETSUPERSECRET"', 'a.b.c.d.e'],
        ['token', 'verify', '--key', `-----BEGIN PRIVATE KEY-----\nMIGHSUPERSECRET\n`, 'a.b.c'],
      ]
      for (const args of broken) {
        const out = await jwtis(args, options)
        expect(out.code, args.join(' ')).toBe(2)
        for (const secret of [jwk.d, 'SUPERSECRET', pem.split('\n')[1]])
          expect(out.stdout + out.stderr, args.join(' ')).not.toContain(secret)
      }
    }
  })
})

describe('a vault path that names no vault file', () => {
  it('a FIFO or a device is refused at once (exit 3), never waited on or read without end', async () => {
    const fifo = join(dir, 'vault.fifo')
    spawnSync('mkfifo', [fifo])
    for (const path of [fifo, '/dev/zero']) {
      const out = await jwtis(['client', 'list', '--vault', path], {env})
      expect([out.code, out.stderr.trim()], path).toEqual([3, expect.stringMatching(/is not a vault file/)])
    }
  })

  it('an empty JWTIS_VAULT is unset (the vault setting or the default applies); an empty --vault is a usage error', async () => {
    const other = scratch()
    const path = join(other.dir, 'set.age')
    await cliOk(['init', '--vault', path], {env: other.env})
    await cliOk(['client', 'add', 'svc', '--vault', path], {env: other.env})
    await cliOk(['config', 'set', 'vault', path], {env: other.env})
    const setting = await jwtis(['client', 'list', '--json'], {env: {...other.env, JWTIS_VAULT: ''}})
    expect([setting.code, json<any[]>(setting).map((c) => c.name)], setting.stderr).toEqual([0, ['svc']])
    const flag = await jwtis(['client', 'list', '--vault', ''], {env})
    expect([flag.code, flag.stderr.trim()]).toEqual([2, expect.stringMatching(/--vault is empty/)])
  })
})

describe('3. a refresh token is not an access token', () => {
  it('token verify refuses a refresh token as WRONG_TYPE with a hint, before and after revocation', async () => {
    const issued = json<any>(await run(['token', 'issue', '--client', 'alice', '--refresh', '--json']))
    for (const step of ['live', 'revoked']) {
      if (step === 'revoked') await cliOk(['token', 'revoke', issued.refresh_token, '--vault', vault], {env})
      const out = await run(['token', 'verify', issued.refresh_token, '--json'])
      expect(out.code, step).toBe(1)
      expect(json<any>(out).error.code).toBe('WRONG_TYPE')
      expect(json<any>(out).error.message).toContain('token renew')
    }

    // while the access token still verifies
    expect((await run(['token', 'verify', issued.access_token])).code).toBe(0)
  })
})

describe('4. a client issues only for its own audiences', () => {
  it('refuses another audience (exit 2, AUDIENCE_NOT_ALLOWED) until the vault holder allows it', async () => {
    const out = await run(['token', 'issue', '--client', 'alice', '--aud', 'https://bob.api', '--json'])
    expect(out.code).toBe(2)
    expect(json<any>(out).error.code).toBe('AUDIENCE_NOT_ALLOWED')
    const claims = await run(['token', 'issue', '--client', 'alice', '--claims', '{"aud":"https://bob.api"}'])
    expect(claims.code).toBe(2)
    // bob issues for its registered audience, and by default for it
    const bobs = (await run(['token', 'issue', '--client', 'bob'])).stdout.trim()
    expect(JSON.parse(Buffer.from(bobs.split('.')[1], 'base64url').toString()).aud).toBe('https://bob.api')
  })

  it('token verify --aud X accepts only tokens of clients registered for X; --client limits the keys', async () => {
    // alice's key signs a token for bob's audience, as a malicious alice could
    const forged = await signWithVaultKey(vault, identityFile, 'alice', {
      aud: 'https://bob.api',
      exp: now() + 600,
      iat: now(),
      iss: 'https://issuer.test',
      sub: 'mallory',
    })
    const out = await run(['token', 'verify', forged, '--aud', 'https://bob.api', '--json'])
    expect(out.code).toBe(1)
    expect(json<any>(out).error.code).toBe('AUDIENCE_MISMATCH')
    expect(json<any>(out).error.message).toContain('alice')

    const bobs = (await run(['token', 'issue', '--client', 'bob'])).stdout.trim()
    expect((await run(['token', 'verify', bobs, '--aud', 'https://bob.api'])).code).toBe(0)
    expect((await run(['token', 'verify', bobs, '--client', 'bob'])).code).toBe(0)
    const other = await run(['token', 'verify', bobs, '--client', 'alice', '--json'])
    expect(other.code).toBe(1)
    expect(json<any>(other).error.code).toBe('UNKNOWN_KID')
  })

  it('client update --aud changes what a client may issue for', async () => {
    await cliOk(['client', 'add', 'carol', '--vault', vault], {env})
    expect((await run(['token', 'issue', '--client', 'carol', '--aud', 'https://c.api'])).code).toBe(2)
    const updated = json<any>(await run(['client', 'update', 'carol', '--aud', 'https://c.api', '--json']))
    expect(updated.aud).toEqual(['https://c.api'])
    expect((await run(['token', 'issue', '--client', 'carol', '--aud', 'https://c.api'])).code).toBe(0)
    expect((await run(['token', 'issue', '--client', 'carol', '--aud', 'carol'])).code).toBe(2)
    const listed = json<any[]>(await run(['client', 'list', '--json'])).find((c) => c.kid === 'carol')
    expect(listed.aud).toEqual(['https://c.api'])
  })
})

describe('6. files another user owns or can write are refused', () => {
  const isRoot = process.getuid?.() === 0

  it('a vault directory writable by others is refused with one line, and nothing is written', async () => {
    const s = scratch()
    const open = join(s.dir, 'open')
    mkdirSync(open)
    chmodSync(open, 0o777)
    const out = await cli(['init', '--vault', join(open, 'v.age'), '--json'], {env: s.env})
    expect(out.code).toBe(3)
    expect(json<any>(out).error.code).toBe('VAULT_UNSAFE')
    expect(json<any>(out).error.message).toContain('mkdir -m 700')
  })

  it.runIf(isRoot)('a lock file or token store owned by another user is refused at once, not waited on', async () => {
    const s = scratch()
    const v = join(s.dir, 'v.age')
    await cliOk(['init', '--vault', v], {env: s.env})
    writeFileSync(`${v}.lock`, '{}')
    chownSync(`${v}.lock`, 65_534, 65_534)
    const started = Date.now()
    const out = await cli(['client', 'add', 'x', '--vault', v, '--json'], {env: s.env})
    expect(out.code).toBe(3)
    expect(json<any>(out).error.code).toBe('VAULT_UNSAFE')
    expect(Date.now() - started).toBeLessThan(5000)

    const w = join(s.dir, 'w.age')
    await cliOk(['init', '--vault', w], {env: s.env})
    await cliOk(['client', 'add', 'x', '--vault', w], {env: s.env})
    mkdirSync(`${w}.tokens`, {mode: 0o700})
    chownSync(`${w}.tokens`, 65_534, 65_534)
    const issued = await cli(['token', 'issue', '--client', 'x', '--refresh', '--vault', w, '--json'], {env: s.env})
    expect(issued.code).toBe(3)
    expect(json<any>(issued).error.message).toContain('another user')
  })

  if (!isRoot) process.stderr.write('\nNOTICE: not root: skipping the test of files owned by another user\n')
})

describe('7. store URLs', () => {
  const HAS_REDIS = hasTool('redis-server', ['--version'], 'the Redis scheme test')
  it.skipIf(!HAS_REDIS)('a Redis:// scheme in any case is accepted', async () => {
    const redis = await startRedis()
    try {
      const out = await jwtis(['token', 'issue', '--client', 'alice', '--refresh', '--json', '--vault', vault], {
        env: {...env, JWTIS_STORE: redis.url.replace('redis://', 'REDIS://')},
      })
      expect(out.code, out.stderr).toBe(0)
      expect(json<any>(out).refresh_token).toBeTruthy()
    } finally {
      await redis.stop()
    }
  })
})

describe('8. nothing from a token acts on the terminal', () => {
  it('a kid with escape sequences is shown escaped in errors, and C1 controls in claims are escaped', async () => {
    const evil = `${b64({alg: 'ES256', kid: '\u001B[2J\u001B[HFAKE VALID\r\u0007', typ: 'at+jwt'})}.${b64({
      exp: now() + 60,
      name: 'x\u009B2Jy\u202Ez',
    })}.c2ln`
    const verify = await run(['token', 'verify', evil])
    expect(verify.code).toBe(1)
    expect(verify.stderr).not.toMatch(TERMINAL_CONTROL)
    expect(verify.stderr).toContain(String.raw`\u001b[2J`)
    for (const args of [[], ['--json']]) {
      const decode = await (args.length === 0 ? jwtisTty : cli)(['token', 'decode', evil, ...args])
      expect(decode.code).toBe(0)
      expect(decode.stdout + decode.stderr).not.toMatch(TERMINAL_CONTROL)
      expect(decode.stdout).not.toContain('\u202E')
    }

    // --json output is still the same JSON value
    const decoded = json<any>(await cli(['token', 'decode', evil, '--json']))
    expect(decoded.header.kid).toBe('\u001B[2J\u001B[HFAKE VALID\r\u0007')
    expect(decoded.payload.name).toBe('x\u009B2Jy\u202Ez')
  })
})

describe('9. lifetimes are bounded, exp is required, iat is not in the future', () => {
  it('refuses lifetimes over the issuer ceilings (24h access, 8760h session by default)', async () => {
    for (const args of [
      ['client', 'add', 'big1', '--access-ttl', '25h'],
      ['client', 'add', 'big2', '--session-ttl', '9000h'],
      ['client', 'add', 'big3', '--refresh-ttl', '99999999999h'],
      ['client', 'add', 'zero', '--access-ttl', '0s'],
      ['token', 'issue', '--client', 'alice', '--ttl', '48h'],
    ]) {
      const out = await run([...args, '--json'])
      expect(out.code, args.join(' ')).toBe(2)
      expect(json<any>(out).error.code).toBe('USAGE')
    }

    const clients = json<any[]>(await run(['client', 'list', '--json'])).map((c) => c.kid)
    expect(clients).not.toContain('big1')
    expect(clients).not.toContain('zero')
  })

  it('init takes other ceilings', async () => {
    const s = scratch()
    const v = join(s.dir, 'v.age')
    await cliOk(['init', '--vault', v, '--max-access-ttl', '48h'], {env: s.env})
    await cliOk(['client', 'add', 'long', '--vault', v, '--access-ttl', '36h'], {env: s.env})
    expect(
      (
        await cli(['init', '--vault', join(s.dir, 'w.age'), '--access-ttl', '2h', '--max-access-ttl', '1h'], {
          env: s.env,
        })
      ).code,
    ).toBe(2)
  })

  it('verify refuses a token without exp unless --allow-no-exp, and one issued in the future', async () => {
    const base = {aud: 'alice', iss: 'https://issuer.test', sub: 's'}
    const noExp = await signWithVaultKey(vault, identityFile, 'alice', {...base, iat: now()})
    const out = await run(['token', 'verify', noExp, '--json'])
    expect(out.code).toBe(1)
    expect(json<any>(out).error.code).toBe('CLAIM_INVALID')
    expect(json<any>(out).error.message).toContain('--allow-no-exp')
    expect((await run(['token', 'verify', noExp, '--allow-no-exp'])).code).toBe(0)

    const future = await signWithVaultKey(vault, identityFile, 'alice', {...base, exp: now() + 7200, iat: now() + 3600})
    const late = await run(['token', 'verify', future, '--json'])
    expect(late.code).toBe(1)
    expect(json<any>(late).error.code).toBe('TOKEN_NOT_YET_VALID')
    const within = await signWithVaultKey(vault, identityFile, 'alice', {...base, exp: now() + 600, iat: now() + 10})
    expect((await run(['token', 'verify', within])).code).toBe(0)
  })
})

describe('11. durations are validated before anything is written', () => {
  it('a 400-digit duration is a usage error and the vault stays byte-for-byte the same', async () => {
    const before = readFileSync(vault)
    const huge = `${'9'.repeat(400)}h`
    for (const args of [
      ['client', 'add', 'inf', '--access-ttl', huge],
      ['client', 'add', 'inf', '--key-ttl', huge],
      ['token', 'issue', '--client', 'alice', '--ttl', huge],
      ['keys', 'rotate', '--client', 'alice', '--grace', huge],
    ]) {
      const out = await run([...args, '--json'])
      expect(out.code, `${args.join(' ')}: ${out.stdout}`).toBe(2)
      expect(out.stdout.length).toBeLessThan(400)
    }

    expect(readFileSync(vault).equals(before)).toBe(true)
    expect((await run(['client', 'list'])).code).toBe(0)
    expect((await run(['vault', 'status'])).code).toBe(0)
  })
})

describe('12. deep or large claims', () => {
  it('token issue refuses claims nested 3,000 deep with one line (exit 2)', async () => {
    const out = await run(['token', 'issue', '--client', 'alice', '--claims', deep(3000), '--json'])
    expect(out.code).toBe(2)
    expect(json<any>(out).error.code).toBe('BAD_CLAIMS')
    const big = await run(['token', 'issue', '--client', 'alice', '--claim', `blob="${'x'.repeat(20_000)}"`, '--json'])
    expect(big.code).toBe(2)
  })

  it('--batch answers a failing line with an error line and goes on', async () => {
    const input = `{"sub":"one"}\n{"x":${deep(3000)}}\nnot json\n{"sub":"four"}\n`
    const out = await run(['token', 'issue', '--client', 'alice', '--batch'], {}, input)
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(4)
    expect(lines[0].access_token).toBeTruthy()
    expect(lines[1].error.code).toBe('BAD_CLAIMS')
    expect(lines[2].error.code).toBe('BAD_CLAIMS')
    expect(lines[3].access_token).toBeTruthy()
    expect(out.code).toBe(2)
  })

  it('verify --json of a token with deep claims prints the JSON error', async () => {
    // (200 levels: as deep as a JOSE library in this test will sign; the CLI would refuse far deeper ones alike)
    const token = await signWithVaultKey(vault, identityFile, 'alice', {
      aud: 'alice',
      deep: JSON.parse(deep(200)),
      exp: now() + 600,
      iat: now(),
    })
    const out = await run(['token', 'verify', token, '--json'])
    expect(out.code).toBe(1)
    expect(json<any>(out).error.code).toBe('MALFORMED_TOKEN')
  })
})

describe('13. decode shows times that are no date', () => {
  it('exp 1e300 and iat -9e15 are shown raw with a note, exit 0', async () => {
    const token = `${b64({alg: 'ES256', typ: 'JWT'})}.${Buffer.from('{"exp":1e300,"iat":-9e15,"nbf":1}').toString('base64url')}.c2ln`
    const out = await jwtisTty(['token', 'decode', token])
    expect(out.code, out.stdout).toBe(0)
    expect(out.stdout).toContain('1e+300')
    expect(out.stdout).toContain('-9000000000000000')
    expect(out.stdout).toContain('not a representable date')
    expect(out.stdout).toContain('1970-01-01T00:00:01.000Z')
  })
})

describe('14. a symlinked vault stays a symlink', () => {
  it('writes go to the real file, which keeps its lock', async () => {
    const s = scratch()
    const realDir = join(s.dir, 'real')
    const linkDir = join(s.dir, 'link')
    mkdirSync(realDir, {mode: 0o700})
    mkdirSync(linkDir, {mode: 0o700})
    const real = join(realDir, 'vault.age')
    const link = join(linkDir, 'vault.age')
    await cliOk(['init', '--vault', real], {env: s.env})
    symlinkSync(real, link)
    await cliOk(['client', 'add', 'via-link', '--vault', link], {env: s.env})
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    const listed = json<any[]>(await cliOk(['client', 'list', '--vault', real, '--json'], {env: s.env}))
    expect(listed.map((c) => c.kid)).toEqual(['via-link'])
  })
})

describe('15. inputs are not read past their cap', () => {
  it('token verify - fed /dev/zero stops with a usage error', async () => {
    const started = Date.now()
    const child = spawn(NODE, [BIN, 'token', 'verify', '-', '--vault', vault, '--json'], {
      env: cleanEnv(env),
      stdio: [openSync('/dev/zero', 'r'), 'pipe', 'pipe'],
    })
    let stdout = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    const code = await new Promise<null | number>((resolve) => {
      child.on('close', resolve)
    })
    expect(code).toBe(2)
    expect(JSON.parse(stdout).error.message).toContain('over 1024 KiB')
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  describe('--jwks URL', () => {
    let server: Server
    let url: string
    beforeAll(async () => {
      server = createServer((request, response) => {
        if (request.url === '/huge-declared') {
          response.writeHead(200, {'content-length': String(400 * 1024 * 1024), 'content-type': 'application/json'})
          response.write('{"keys":[')
          return
        }

        response.writeHead(200, {'content-type': 'application/json'})
        // an endless body, as fast as the socket takes it
        const chunk = Buffer.alloc(64 * 1024, 0x20)
        const pump = () => {
          while (response.write(chunk));
        }

        response.on('drain', pump)
        pump()
      })
      await new Promise<void>((resolve) => {
        server.listen(0, '127.0.0.1', resolve)
      })
      url = `http://127.0.0.1:${(server.address() as {port: number}).port}`
    })
    afterAll(() => {
      server.closeAllConnections()
      server.close()
    })

    it('an endless or oversized JWKS body is refused at the cap, quickly', async () => {
      for (const path of ['/endless', '/huge-declared']) {
        const started = Date.now()
        const out = await cli(['token', 'verify', 'a.b.c', '--jwks', `${url}${path}`, '--json'])
        expect(out.code, out.stdout).toBe(2)
        expect(json<any>(out).error.message).toContain('over 1024 KiB')
        expect(Date.now() - started).toBeLessThan(8000)
      }
    })
  })
})

describe('16. keys export --format pem', () => {
  const HAS_OPENSSL = hasTool('openssl', ['version'], 'the PEM export test')
  it.skipIf(!HAS_OPENSSL)('every block is well formed and read by openssl', async () => {
    await cliOk(['client', 'add', 'rsa', '--sig-alg', 'RS256', '--enc-alg', 'RSA-OAEP-256', '--vault', vault], {env})
    const pem = (await run(['keys', 'export', '--format', 'pem'])).stdout
    expect(pem.endsWith('-----END PUBLIC KEY-----\n')).toBe(true)
    expect(pem).not.toMatch(/-----[^\n]*#/)
    const blocks = pem.match(/-----BEGIN PUBLIC KEY-----\n[\s\S]+?-----END PUBLIC KEY-----\n/g)!
    expect(blocks.length).toBe((pem.match(/^# kid /gm) ?? []).length)
    expect(blocks.length).toBeGreaterThanOrEqual(8)
    for (const block of blocks) {
      const out = spawnSync('openssl', ['pkey', '-pubin', '-noout', '-text'], {encoding: 'utf8', input: block})
      expect(out.status, out.stderr).toBe(0)
    }

    // openssl reading the whole file takes the first key, without complaint
    const all = spawnSync('openssl', ['pkey', '-pubin', '-noout'], {encoding: 'utf8', input: pem})
    expect(all.status, all.stderr).toBe(0)
  })
})
