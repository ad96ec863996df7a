/**
 * Secrets at rest and in output: after a run of the commands and routes that touch secrets
 * (a file vault and a Redis vault, both token stores, serve with its access log), every file,
 * every Redis value and every captured output is searched for private key material, HMAC
 * secrets, client tokens, the admin token and the age identity. Only the identity file (0600) and
 * the outputs whose job is to show a secret once (client add, POST /register) may hold one.
 * The token stores are also searched for what they may keep only hashed: refresh tokens, the
 * ids of tokens and families, and subjects.
 */
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {IssuedTokens} from '../../src/core/issuer.js'

import {hasTool, type RunResult, scratch} from '../helpers/cli.js'
import {type RedisServer, startRedis} from '../helpers/redis.js'
import {cli as runCommand} from '../helpers/run-command.js'
import {serve} from '../helpers/serve.js'

const HAS_TOOLS =
  hasTool('redis-server', ['--version'], 'the secrets scan (apt-get install redis-server)') &&
  hasTool('age', ['--version'], 'the secrets scan (apt-get install age)')

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']

/** Every private member of every JWK in a (decrypted) vault document. */
function privateParts(value: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const item of value) privateParts(item, out)
  else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>
    if (typeof record.kty === 'string')
      for (const name of PRIVATE_MEMBERS) if (typeof record[name] === 'string') out.add(record[name] as string)
    for (const item of Object.values(record)) privateParts(item, out)
  }

  return out
}

function walk(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? [path, ...walk(path)] : [path]
  })
}

describe.skipIf(!HAS_TOOLS)('no secret at rest or in output where it does not belong', () => {
  const s = scratch()
  const outside = mkdtempSync(join(tmpdir(), 'jwtis-secret-src-'))
  const vault = join(s.dir, 'data', 'vault.age')
  const env = {...s.env, JWTIS_VAULT: vault}
  /** Outputs that must hold no secret. */
  const captured: Array<{text: string; what: string}> = []
  /** Secrets shown once by design, and those we know from outside. */
  const secrets = new Set<string>()
  /** What the token stores may keep only as hashes (the answers of issue and renew show them). */
  const hashedOnly = new Set<string>()
  const families = new Set<string>()
  /** Subjects: e-mail addresses, as they often are. */
  const subject = (who: string) => {
    const sub = `${who}.subject@example.org`
    hashedOnly.add(sub)
    return sub
  }

  /** Notes the ids and tokens of an issue or renew answer, and the refresh token's own `jti`. */
  const issued = async (answer: IssuedTokens, vaultArg: string[] = []) => {
    hashedOnly.add(answer.id)
    if (answer.family) {
      hashedOnly.add(answer.family)
      families.add(answer.family)
    }

    if (!answer.refresh_token) return answer
    hashedOnly.add(answer.refresh_token)
    const inner = await cli(['jwe', 'decrypt', answer.refresh_token, ...vaultArg])
    hashedOnly.add(JSON.parse(Buffer.from(inner.split('\n')[0].split('.')[1], 'base64url').toString()).jti)
    return answer
  }

  let redis: RedisServer
  let redisVault: string

  const cli = async (
    args: string[],
    options: {env?: Record<string, string>; input?: string; showsSecret?: boolean} = {},
  ) => {
    const out: RunResult = await runCommand(args, {env: options.env ?? env, input: options.input})
    expect(out.code, `${args.join(' ')}: ${out.stderr}`).toBe(0)
    captured.push({text: out.stderr, what: `stderr of ${args[0]} ${args[1] ?? ''}`})
    if (!options.showsSecret) captured.push({text: out.stdout, what: `stdout of ${args[0]} ${args[1] ?? ''}`})
    return out.stdout
  }

  beforeAll(async () => {
    redis = await startRedis()
    redisVault = `${redis.url}?name=scan`
    const secretFile = join(outside, 'hmac.secret')
    const hmacSecret = 'an HMAC secret of forty-eight bytes, kept safe!!'
    writeFileSync(secretFile, hmacSecret)
    secrets.add(hmacSecret)

    await cli(['init', '--vault', vault])
    secrets.add((await cli(['client', 'add', 'app'], {showsSecret: true})).trim())
    secrets.add(
      (
        await cli(['client', 'add', 'legacy', '--sig-alg', 'HS256', '--secret-file', secretFile], {showsSecret: true})
      ).trim(),
    )
    const carol = subject('carol')
    const first = await issued(
      JSON.parse(await cli(['token', 'issue', '--client', 'app', '--refresh', '--json', '--sub', carol])),
    )
    await issued(
      JSON.parse(
        await cli([
          'token',
          'renew',
          '--client',
          'app',
          first.refresh_token!,
          '--json',
          '--refresh-strategy',
          'refreshBoth',
        ]),
      ),
    )
    await cli(['token', 'verify', first.access_token, '--check-revoked'])
    await cli(['token', 'issue', '--client', 'legacy', '--sub', 'x'])
    await cli(['keys', 'rotate', '--client', 'app'])
    await cli(['keys', 'export'])
    await cli(['keys', 'list'])
    await cli(['client', 'show', 'legacy'])
    await cli(['vault', 'status'])
    const sealed = await cli(['jwe', 'encrypt', 'hello', '--to', 'app'])
    await cli(['jwe', 'decrypt', sealed.trim()])
    await cli(['token', 'revoke', '--client', 'app', '--sub', carol])
    await cli(['config', 'set', 'vault', vault])

    // a Redis vault and store
    await cli(['vault', 'copy', vault, redisVault])
    secrets.add((await cli(['client', 'add', 'r1', '--vault', redisVault], {showsSecret: true})).trim())
    const erin = subject('erin')
    const inRedis = ['--vault', redisVault]
    const fromRedis = await issued(
      JSON.parse(await cli(['token', 'issue', '--client', 'r1', '--refresh', '--json', '--sub', erin, ...inRedis])),
      inRedis,
    )
    await issued(
      JSON.parse(
        await cli([
          'token',
          'renew',
          '--client',
          'r1',
          fromRedis.refresh_token!,
          '--json',
          '--refresh-strategy',
          'refreshBoth',
          ...inRedis,
        ]),
      ),
      inRedis,
    )
    await cli(['token', 'revoke', '--client', 'r1', '--sub', erin, ...inRedis])

    // serve, with its access log
    const admin = 'admin-token-that-must-never-be-logged-0123456789'
    secrets.add(admin)
    const server = await serve(vault, {...env, JWTIS_ADMIN_TOKEN: admin}, ['--workers', '1'])
    const reg = await server.request('POST', '/register/web', {refresh_strategy: 'refreshBoth'}, admin)
    secrets.add(reg.body.client_token)
    const dave = subject('dave')
    const web = await server.request('POST', '/issue_token', {claims: {sub: dave}, kid: 'web'}, reg.body.client_token)
    const renewed = await server.request(
      'POST',
      '/renew_token',
      {kid: 'web', refresh_token: web.body.refresh_token},
      reg.body.client_token,
    )
    await server.request('POST', '/logout', {kid: 'web', sub: dave}, reg.body.client_token)
    await server.request('POST', '/issue_token', {kid: 'web'}, 'jwtis_a-wrong-client-token-guess')
    await server.stop()
    captured.push({text: server.stderr(), what: 'serve stderr (the access log)'})
    for (const answer of [web.body, renewed.body]) await issued(answer)

    // what is inside the vaults: every private key member
    const identityFile = join(s.config, 'identity.txt')
    const identity = readFileSync(identityFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-'))!
    secrets.add(identity)
    for (const sealedVault of [
      readFileSync(vault),
      Buffer.from(spawnSync('redis-cli', ['-u', redis.url, '--raw', 'GET', 'jwtis:vault:{scan}']).stdout),
    ]) {
      const opened = spawnSync('age', ['-d', '-i', identityFile], {input: sealedVault})
      expect(opened.status, opened.stderr.toString()).toBe(0)
      privateParts(JSON.parse(opened.stdout.toString()), secrets)
    }
  }, 180_000)

  afterAll(async () => {
    await redis?.stop()
    rmSync(outside, {force: true, recursive: true})
  })

  const leaks = (text: string, among: Set<string> = secrets) => [...among].filter((secret) => text.includes(secret))

  /** Every Redis key with its value, as redis-cli prints it. */
  const redisValues = () => {
    const keys = spawnSync('redis-cli', ['-u', redis.url, '--scan'], {encoding: 'utf8'}).stdout.trim().split('\n')
    return keys.map((key) => {
      const type = spawnSync('redis-cli', ['-u', redis.url, 'TYPE', key], {encoding: 'utf8'}).stdout.trim()
      const read = {
        hash: ['HGETALL'],
        list: ['LRANGE', key, '0', '-1'],
        set: ['SMEMBERS'],
        string: ['GET'],
        zset: ['ZRANGE', key, '0', '-1', 'WITHSCORES'],
      }[type]
      expect(read, `${key} is a ${type}`).toBeDefined()
      const args = read!.length === 1 ? [read![0], key] : read!
      return {key, value: spawnSync('redis-cli', ['-u', redis.url, '--raw', ...args], {encoding: 'latin1'}).stdout}
    })
  }

  it('knows what to look for: every key of both vaults, the HMAC secret, tokens, the identity', () => {
    // private members: app's 4 keys (2 rotated out), legacy's secret and enc key, web's 2, r1's 2,
    // the issuer's key-wrapping key (the Redis vault began as a copy: the same one); 4 client
    // tokens; the HMAC secret as given; the admin token; the identity
    expect(secrets.size).toBe(18)
    expect(secrets).toContain(Buffer.from('an HMAC secret of forty-eight bytes, kept safe!!').toString('base64url'))
  })

  it('no file jwtis wrote holds a secret, except the identity file; files are 0600 and folders 0700', () => {
    const identityFile = join(s.config, 'identity.txt')
    const paths = [...walk(join(s.dir, 'data')), ...walk(s.config)]
    expect(paths.length).toBeGreaterThan(4)
    for (const path of paths) {
      const stat = statSync(path)
      const mode = (stat.mode & 0o777).toString(8)
      if (stat.isDirectory()) {
        expect(mode, path).toBe('700')
        continue
      }

      expect(mode, path).toBe('600')
      if (path === identityFile) continue
      expect(leaks(readFileSync(path, 'latin1')), path).toEqual([])
    }
  })

  it('no Redis value holds a secret', () => {
    const values = redisValues()
    expect(values.length).toBeGreaterThan(3)
    for (const {key, value} of values) expect(leaks(value), key).toEqual([])
  })

  it('the token stores hold only hashes: no refresh token, token id, family id or subject', () => {
    // 3 subjects; of 3 issues and 3 renewals (refreshBoth): 6 access token ids, 6 refresh tokens
    // and their 6 ids, 3 family ids
    expect(hashedOnly.size).toBe(24)
    const store = walk(join(s.dir, 'data', 'vault.age.tokens')).filter((path) => statSync(path).isFile())
    const stored = [
      ...store.map((path) => ({text: readFileSync(path, 'latin1'), what: path})),
      ...redisValues().map(({key, value}) => ({text: `${key}\n${value}`, what: `Redis ${key}`})),
    ]
    for (const {text, what} of stored) expect(leaks(text, hashedOnly), what).toEqual([])
    // (what was searched is where the families are: each one's hashed id is there)
    const all = stored.map((v) => v.text).join('\n')
    for (const family of families) expect(all).toContain(createHash('sha256').update(family).digest('base64url'))
  })

  it('no output carries a secret, and the access log no token of any kind', () => {
    expect(captured.length).toBeGreaterThan(30)
    for (const {text, what} of captured) expect(leaks(text), what).toEqual([])
    const log = captured.find((c) => c.what.startsWith('serve stderr'))!.text
    expect(log).toContain('"msg":"request"')
    expect(log).not.toMatch(/eyJ[\w-]{10,}/)
    expect(log).not.toContain('jwtis_')
  })
})
