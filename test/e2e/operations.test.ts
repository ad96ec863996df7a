/**
 * docs/operations.md, run: the blocks under its "(tested)" headings, as an operator would paste
 * them, with the built CLI as `jwtis` on the PATH and the page's system paths (/var/lib/jwtis,
 * /etc/jwtis, /backup) pointed at a scratch directory. The scratch machine has one user, so
 * `sudo -u jwtis CMD` runs CMD; other lines that need root or a service manager (`systemctl`,
 * `sudo`, `useradd`) are left out; everything else runs, and a line that fails fails the test.
 */
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, cleanEnv, hasTool, NODE, ROOT, scratch} from '../helpers/cli.js'
import {type RedisServer, startRedis} from '../helpers/redis.js'
import {serve} from '../helpers/serve.js'

const DOC = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8')
const HAS_JQ = hasTool('jq', ['--version'], 'the uninstall recipe of docs/operations.md (apt-get install jq)')
const HAS_REDIS = hasTool('redis-server', ['--version'], 'the Redis backup recipe of docs/operations.md')
const HAS_NPM = hasTool('npm', ['--version'], 'the install recipes of docs/operations.md')
const HAS_SYSTEMD_ANALYZE = hasTool('systemd-analyze', ['--version'], 'systemd-analyze verify of the unit')

/** The `index`th ```LANG block of the section under the heading that starts with `heading`. */
function block(heading: string, lang = 'sh', index = 0): string {
  const at = DOC.search(new RegExp(`^#+ ${heading.replaceAll(/[()*]/g, String.raw`\$&`)}`, 'm'))
  if (at < 0) throw new Error(`docs/operations.md has no heading "${heading}"`)
  const rest = DOC.slice(DOC.indexOf('\n', at) + 1)
  const next = rest.search(/^#{1,6} /m) // (no block on this page has a line that starts so)
  const section = next < 0 ? rest : rest.slice(0, next)
  const found = [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))][index]
  if (!found) throw new Error(`docs/operations.md has no ${lang} block ${index} under "${heading}"`)
  return found[1]
}

/** A scratch machine: HOME, a working directory, the page's system paths, `jwtis` on the PATH. */
function machine() {
  const s = scratch()
  const at = (...parts: string[]) => join(s.dir, ...parts)
  for (const dir of ['home', 'work', 'bin', 'state', 'etc', 'backup']) mkdirSync(at(dir), {mode: 0o700})
  writeFileSync(at('bin', 'jwtis'), `#!/bin/sh\nexec '${NODE}' '${BIN}' "$@"\n`)
  chmodSync(at('bin', 'jwtis'), 0o755)
  const paths = (text: string) =>
    text
      .replaceAll('/var/lib/jwtis', at('state'))
      .replaceAll('/etc/jwtis', at('etc'))
      .replaceAll('/backup', at('backup'))
  const env = (extra: Record<string, string | undefined> = {}) =>
    cleanEnv({
      HOME: at('home'),
      PATH: `${at('bin')}:${process.env.PATH}`,
      XDG_CACHE_HOME: undefined,
      XDG_CONFIG_HOME: undefined,
      ...extra,
    })
  /** Runs a doc block line by line in one bash session (see the file's comment); throws on a failed line. */
  const run = (text: string, options: {env?: Record<string, string | undefined>; skip?: RegExp} = {}) => {
    const err = at('line.err')
    let script = 'set -o pipefail\n'
    for (const raw of paths(text).replaceAll('\\\n', '').split('\n')) {
      const line = raw.replace(/^sudo -u jwtis /, '')
      if (line.trim() === '' || line.trimStart().startsWith('#')) continue
      if (/\b(systemctl|sudo|useradd)\b/.test(line) || options.skip?.test(line)) continue
      script += `{ ${line}\n} >/dev/null 2>${err} || { rc=$?; echo "exit $rc: ${line.replaceAll(/["$`\\]/g, String.raw`\$&`)}" >&2; cat ${err} >&2; exit 99; }\n`
    }

    const result = spawnSync('bash', ['-c', `${script}echo done\n`], {
      cwd: at('work'),
      encoding: 'utf8',
      env: env(options.env),
      timeout: 60_000,
    })
    if (result.stdout.trim() !== 'done') throw new Error(`the block failed:\n${result.stderr}`)
  }

  /** The CLI with this machine's environment; the result's stdout trimmed. */
  const cli = (args: string[], extra: Record<string, string | undefined> = {}) => {
    const result = spawnSync(NODE, [BIN, ...args], {cwd: at('work'), encoding: 'utf8', env: env(extra)})
    return {code: result.status, stderr: result.stderr, stdout: result.stdout.trim()}
  }

  const ok = (args: string[], extra: Record<string, string | undefined> = {}) => {
    const result = cli(args, extra)
    if (result.code !== 0) throw new Error(`jwtis ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
    return result.stdout
  }

  return {at, cli, env, ok, paths, run}
}

type Machine = ReturnType<typeof machine>

/** A vault at /var/lib/jwtis/vault.age, its identity at /etc/jwtis/identity.txt, a client `billing` (refreshBoth). */
function productionVault(m: Machine): {identity: string; vault: string} {
  const vault = m.at('state', 'vault.age')
  const identity = m.at('etc', 'identity.txt')
  m.ok(['init', '--vault', vault, '--identity-file', identity])
  m.ok(['client', 'add', 'billing', '--vault', vault, '--identity', identity, '--refresh-strategy', 'refreshBoth'])
  return {identity, vault}
}

describe('CI', () => {
  it('the CI job signs with the identity from a secret and never writes the vault, even with keys due', () => {
    const m = machine()
    const vault = m.at('work', 'ci', 'vault.age')
    mkdirSync(m.at('work', 'ci'), {mode: 0o700})
    // made where the vault lives, with its own settings: the job starts from an empty HOME
    const admin = {JWTIS_CONFIG_DIR: m.at('admin')}
    m.ok(['init', '--vault', vault, '--identity-file', m.at('work', 'identity.txt')], admin)
    m.ok(
      [
        'client',
        'add',
        'billing',
        '--vault',
        vault,
        '--identity',
        m.at('work', 'identity.txt'),
        '--aud',
        'https://api.example.com',
      ],
      admin,
    )
    expect(readFileSync(m.at('work', 'identity.txt'), 'utf8')).toMatch(/^# /m) // the file as init wrote it
    const before = readFileSync(vault)

    const job = block('A CI job')
    m.run(job)
    expect(readFileSync(vault).equals(before)).toBe(true)

    // 200 days on, every key is past its key-ttl (4320h): still signed, still not written
    const later = {JWTIS_NOW: new Date(Date.now() + 200 * 86_400_000).toISOString()}
    m.run(job, {env: later})
    expect(readFileSync(vault).equals(before)).toBe(true)
    // and without read-only mode the same job rotates and writes: what the mode is for
    m.run(job, {env: later, skip: /JWTIS_READ_ONLY/})
    expect(readFileSync(vault).equals(before)).toBe(false)
  })

  it('the GitHub Actions environment sets the same variables as the job', () => {
    const yaml = block('A CI job', 'yaml')
    for (const name of ['CI', 'JWTIS_AGE_KEY', 'JWTIS_READ_ONLY']) {
      expect(yaml).toMatch(new RegExp(`^\\s+${name}: `, 'm'))
      expect(block('A CI job')).toContain(`export ${name}=`)
    }
  })
})

describe('backup and restore of a file vault', () => {
  it('backs up, destroys, restores: tokens verify, refresh families are where the page says', () => {
    const m = machine()
    const {identity, vault} = productionVault(m)
    const flags = ['--vault', vault, '--identity', identity]
    const issue = (...more: string[]) => m.ok(['token', 'issue', '--client', 'billing', ...flags, ...more])
    const refresh = () => JSON.parse(issue('--refresh', '--json')).refresh_token as string
    const renew = (token: string) => m.cli(['token', 'renew', '--client', 'billing', ...flags, token, '--json'])

    const access = issue()
    const kept = refresh()
    const revoked = refresh()
    m.ok(['token', 'revoke', ...flags, revoked])
    const rotatedLater = refresh()
    m.run(block('Back up a file vault'))
    expect(existsSync(m.at('backup', 'jwtis-state.tgz'))).toBe(true)

    // after the backup: one family rotates, one is made
    const ahead = JSON.parse(renew(rotatedLater).stdout).refresh_token as string
    const madeLater = refresh()

    m.run(block('Restore a file vault'))
    expect(m.cli(['token', 'verify', access, ...flags]).code).toBe(0)
    expect(renew(kept).code).toBe(0)
    const stillRevoked = renew(revoked)
    expect(stillRevoked.code).toBe(1)
    expect(JSON.parse(stillRevoked.stdout).error.code).toBe('TOKEN_REVOKED')
    expect(JSON.parse(renew(ahead).stdout).error.code).toBe('REFRESH_REUSED')
    expect(JSON.parse(renew(madeLater).stdout).error.code).toBe('TOKEN_REVOKED')
  })

  it('the drill passes on a fresh backup, leaves the live vault alone, and fails once a key was rotated after it', () => {
    const m = machine()
    const {identity, vault} = productionVault(m)
    const flags = ['--vault', vault, '--identity', identity]
    m.ok(['token', 'issue', '--client', 'billing', '--refresh', ...flags]) // (so there is token state to back up)
    m.run(block('Back up a file vault'))
    const drill = block('A restore drill')
    const live = readFileSync(vault)
    m.run(drill)
    expect(readFileSync(vault).equals(live)).toBe(true)
    m.ok(['keys', 'rotate', '--client', 'billing', ...flags])
    expect(() => m.run(drill)).toThrow(/exit 1: jwtis token verify/)
  })
})

describe.skipIf(!HAS_REDIS)('backup of a vault in Redis', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => redis?.stop())

  it('copies the sealed vault out and the token state as an RDB file; the copy restores the vault', () => {
    const m = machine()
    const {identity, vault} = productionVault(m)
    m.ok(['vault', 'copy', vault, redis.url])
    const flags = ['--vault', redis.url, '--identity', identity]
    const access = m.ok(['token', 'issue', '--client', 'billing', ...flags])

    m.run(block('Back up a vault in Redis').replaceAll('redis://127.0.0.1:6379', redis.url))
    expect(readFileSync(m.at('backup', 'vault.age'), 'utf8')).toContain('-----BEGIN AGE ENCRYPTED FILE-----')
    expect(readFileSync(m.at('backup', 'redis.rdb')).subarray(0, 5).toString()).toBe('REDIS')

    spawnSync('redis-cli', ['-u', redis.url, 'FLUSHALL'])
    expect(m.cli(['token', 'verify', access, ...flags]).code).toBe(3)
    m.ok(['vault', 'copy', m.at('backup', 'vault.age'), redis.url, '--force'])
    expect(m.cli(['token', 'verify', access, ...flags]).code).toBe(0)
  })
})

/** The unit's Environment= and EnvironmentFile= settings, and ExecStart as argv. */
function parseUnit(unit: string): {env: Record<string, string>; envFiles: string[]; execStart: string[]} {
  const env: Record<string, string> = {}
  const envFiles: string[] = []
  let execStart: string[] = []
  for (const line of unit.split('\n')) {
    const [key, ...rest] = line.split('=')
    const value = rest.join('=')
    if (key === 'Environment') env[value.slice(0, value.indexOf('='))] = value.slice(value.indexOf('=') + 1)
    if (key === 'EnvironmentFile') envFiles.push(value)
    if (key === 'ExecStart') execStart = value.split(/\s+/)
  }

  return {env, envFiles, execStart}
}

/** EnvironmentFile= as systemd reads it: KEY=VALUE lines; a path with `-` in front may be missing. */
function readEnvFiles(files: string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const spec of files) {
    const path = spec.replace(/^-/, '')
    if (!existsSync(path) && spec.startsWith('-')) continue
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const match = /^\s*([A-Z_]+)=(.*)$/.exec(line)
      if (match) env[match[1]] = match[2]
    }
  }

  return env
}

/** Resolves with the http:// URL the server says it listens on (stdout or stderr). */
function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const look = (d: Buffer) => {
      seen += d.toString()
      const url = /listening (?:on|at) (http:\/\/127\.0\.0\.1:\d+)/.exec(seen)?.[1]
      if (url) resolve(url)
    }

    child.stdout!.on('data', look)
    child.stderr!.on('data', look)
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${seen}`)))
  })
}

/** Failed authentications, one per address, each forwarded after what the caller claimed; their statuses. */
async function failures(url: string, forwarded: string[]): Promise<number[]> {
  const statuses: number[] = []
  for (const last of forwarded) {
    const res = await fetch(`${url}/issue_token`, {
      body: '{"kid":"billing"}',
      headers: {
        authorization: 'Bearer wrong',
        'content-type': 'application/json',
        'x-forwarded-for': `198.51.100.1, ${last}`,
      },
      method: 'POST',
    })
    statuses.push(res.status)
  }

  return statuses
}

describe('production serve', () => {
  const unit = block('The systemd unit', 'ini')

  it('setting up makes the vault, the identity and a client where the unit looks for them', () => {
    const m = machine()
    m.run(block('Setting up'))
    m.run(block('Setting up', 'sh', 1))
    const {env} = parseUnit(m.paths(unit))
    const status = JSON.parse(m.ok(['vault', 'status', '--json'], env))
    expect(status.path).toBe(m.at('state', 'vault.age'))
    expect(status.issuer).toBe('https://auth.example.com')
    expect(JSON.parse(m.ok(['client', 'list', '--json'], env)).map((c: {name: string}) => c.name)).toEqual(['billing'])
  })

  it("runs the unit's ExecStart with its environment: /health answers, the admin token is the file's", async () => {
    const m = machine()
    productionVault(m)
    const admin = spawnSync('openssl', ['rand', '-hex', '32'], {encoding: 'utf8'}).stdout.trim()
    writeFileSync(m.at('etc', 'admin-token'), `${admin}\n`, {mode: 0o600})
    const parsed = parseUnit(m.paths(unit))
    expect(parsed.execStart[0]).toBe('/usr/local/bin/jwtis')
    expect(parsed.env.JWTIS_ADDRESS).toBe('127.0.0.1:4456')
    const env = {
      ...parsed.env,
      ...readEnvFiles(parsed.envFiles),
      JWTIS_ADDRESS: '127.0.0.1:0', // the unit's port may be taken on a test machine
    }
    const child = spawn(NODE, [BIN, ...parsed.execStart.slice(1)], {env: m.env(env)})
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    try {
      const url = await listening(child)
      const health = await fetch(`${url}/health`)
      expect(health.status).toBe(200)
      expect((await health.json()).status).toBe('ok')
      const registered = await fetch(`${url}/register/web`, {
        body: '{}',
        headers: {authorization: `Bearer ${admin}`, 'content-type': 'application/json'},
        method: 'POST',
      })
      expect(registered.status).toBe(201)
      // nothing secret for the journal: no admin token of its own printed at start
      expect(stdout).not.toMatch(/admin token/i)
    } finally {
      child.kill('SIGTERM')
      if (child.exitCode === null)
        await new Promise((resolve) => {
          child.once('exit', resolve)
        })
    }
  })

  it.skipIf(!HAS_SYSTEMD_ANALYZE)('passes systemd-analyze verify', () => {
    const m = machine()
    const file = m.at('jwtis.service')
    // verify checks that ExecStart names an executable: the built CLI stands in for the installed one
    writeFileSync(file, unit.replace('/usr/local/bin/jwtis', m.at('bin', 'jwtis')))
    const verified = spawnSync('systemd-analyze', ['verify', file], {encoding: 'utf8'})
    expect(verified.stderr.split('\n').filter((l) => l.includes('jwtis.service'))).toEqual([])
    expect(verified.status).toBe(0)
  })

  it('the proxy snippets forward to the address the unit listens on and append the client', () => {
    const {env} = parseUnit(unit)
    const nginx = block('TLS and a reverse proxy', 'nginx')
    expect(nginx).toContain(`proxy_pass http://${env.JWTIS_ADDRESS};`)
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/)
    expect(nginx).toMatch(/listen 443 ssl;/)
    expect(DOC).toContain(`reverse_proxy ${env.JWTIS_ADDRESS}`)
    expect(parseUnit(unit).execStart).toContain('--trust-proxy')
  })

  it('--trust-proxy takes the address from the last X-Forwarded-For entry; without it the peer counts', async () => {
    const m = machine()
    const {vault} = productionVault(m)
    const env = {JWTIS_CONFIG_DIR: m.at('etc')}
    const limits = ['--workers', '1', '--max-auth-failures', '2']
    const trusting = await serve(vault, env, [...limits, '--trust-proxy'])
    try {
      // two failures of 203.0.113.7 use its allowance; 203.0.113.8 still has its own
      expect(await failures(trusting.url, ['203.0.113.7', '203.0.113.7', '203.0.113.7', '203.0.113.8'])).toEqual([
        401, 401, 429, 401,
      ])
      const traced = await fetch(`${trusting.url}/health`, {headers: {'x-request-id': 'nginx-4f2a9c'}})
      expect(traced.headers.get('x-request-id')).toBe('nginx-4f2a9c')
    } finally {
      await trusting.stop() // (its log is whole once it has exited)
    }

    expect(trusting.stderr()).toContain('203.0.113.7')
    expect(trusting.stderr()).toContain('nginx-4f2a9c')
    expect(trusting.stderr()).not.toContain('198.51.100.1') // what the caller sent is not trusted
    const plain = await serve(vault, env, limits)
    try {
      expect(await failures(plain.url, ['203.0.113.7', '203.0.113.7', '203.0.113.8'])).toEqual([401, 401, 429])
    } finally {
      await plain.stop()
    }

    expect(plain.stderr()).not.toContain('203.0.113.')
  })
})

const npm = (args: string[], cwd: string) =>
  spawnSync('npm', args, {cwd, encoding: 'utf8', env: cleanEnv(), timeout: 120_000})

describe.skipIf(!HAS_NPM)('installing: a link or a copy', () => {
  it('npm install -g . links the clone: its changes show at once, and removing it breaks the command', () => {
    const s = scratch()
    const clone = join(s.dir, 'clone')
    mkdirSync(clone)
    for (const part of ['package.json', 'bin', 'dist', 'oclif.manifest.json'])
      cpSync(join(ROOT, part), join(clone, part), {recursive: true})
    const prefix = join(s.dir, 'prefix')
    const installed = npm(['install', '-g', '.', '--prefix', prefix, '--offline', '--ignore-scripts'], clone)
    expect(installed.status, installed.stderr).toBe(0)
    // (the clone's dependencies, as `npm ci` would have put them there)
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'))

    const where = join(prefix, 'lib', 'node_modules', 'jwtis')
    expect(lstatSync(where).isSymbolicLink()).toBe(true)
    expect(realpathSync(where)).toBe(realpathSync(clone))
    const command = join(prefix, 'bin', 'jwtis')
    const version = () => spawnSync(command, ['--version'], {encoding: 'utf8', env: cleanEnv()})
    expect(version().stdout).toContain('jwtis/0.1.0')
    const pkg = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8'))
    writeFileSync(join(clone, 'package.json'), JSON.stringify({...pkg, version: '0.1.1-edited'}))
    expect(version().stdout).toContain('jwtis/0.1.1-edited')
    rmSync(clone, {force: true, recursive: true})
    expect(version().status).not.toBe(0)
  })

  it('the packed tarball installs as a copy that runs without the clone', (ctx) => {
    const s = scratch()
    const packed = npm(['pack', ROOT, '--ignore-scripts', '--json', '--pack-destination', s.dir], s.dir)
    expect(packed.status, packed.stderr).toBe(0)
    const [{filename, files}] = JSON.parse(packed.stdout) as Array<{filename: string; files: Array<{path: string}>}>
    const paths = files.map((f) => f.path)
    expect(paths).toContain('bin/run.js')
    // (bin/run.js is CommonJS by it: without it, an installed copy would read it as an ES module)
    expect(paths).toContain('bin/package.json')
    expect(paths).toContain('oclif.manifest.json')
    expect(paths.some((p) => p.startsWith('src/') || p.startsWith('test/'))).toBe(false)

    const project = join(s.dir, 'project')
    offlineProject(project, join(s.dir, filename))
    const installed = npm(['ci', '--offline', '--ignore-scripts'], project)
    if (installed.status !== 0 && /ENOTCACHED/.test(installed.stderr)) {
      process.stderr.write("\nNOTICE: npm's cache lacks jwtis's dependencies: skipping the tarball install\n")
      ctx.skip()
    }

    expect(installed.status, installed.stderr).toBe(0)
    const where = join(project, 'node_modules', 'jwtis')
    expect(lstatSync(where).isSymbolicLink()).toBe(false)
    expect(realpathSync(where).startsWith(realpathSync(ROOT))).toBe(false)
    const command = join(project, 'node_modules', '.bin', 'jwtis')
    const env = cleanEnv({JWTIS_CONFIG_DIR: join(s.dir, 'config')})
    const vault = join(s.dir, 'v', 'vault.age')
    for (const args of [
      ['init', '--vault', vault],
      ['client', 'add', 'web', '--vault', vault],
      ['token', 'issue', '--client', 'web', '--vault', vault],
    ]) {
      const result = spawnSync(command, args, {cwd: s.dir, encoding: 'utf8', env})
      expect(result.status, result.stderr).toBe(0)
    }
  })
})

/**
 * A project that depends on the tarball, with a lock file pinning its dependencies to the
 * clone's: `npm install -g TARBALL` resolves version ranges against the registry, which a test
 * must not need, while `npm ci` from a lock installs the same tree from npm's cache alone.
 */
function offlineProject(dir: string, tarball: string): void {
  mkdirSync(dir)
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const spec = `file:${tarball}`
  const packages: Record<string, unknown> = {
    '': {dependencies: {jwtis: spec}},
    'node_modules/jwtis': {
      bin: pkg.bin,
      dependencies: pkg.dependencies,
      engines: pkg.engines,
      resolved: spec,
      version: pkg.version,
    },
  }
  for (const [path, entry] of Object.entries<{dev?: boolean}>(lock.packages))
    if (path.startsWith('node_modules/') && !entry.dev) packages[path] = {...entry, devOptional: undefined}
  const manifest = {dependencies: {jwtis: spec}, name: 'install-test', private: true, version: '1.0.0'}
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest))
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({...manifest, lockfileVersion: 3, packages, requires: true}),
  )
}

describe.skipIf(!HAS_JQ)('uninstalling', () => {
  it('after the block, nothing jwtis made is left', () => {
    const m = machine()
    m.ok(['init'])
    m.ok(['client', 'add', 'billing', '--refresh-strategy', 'refreshBoth'])
    const refresh = JSON.parse(m.ok(['token', 'issue', '--client', 'billing', '--refresh', '--json'])).refresh_token
    m.ok(['token', 'renew', '--client', 'billing', refresh])
    m.ok(['config', 'set', 'vault-id', JSON.parse(m.ok(['vault', 'status', '--json'])).vault_id])
    expect(existsSync(m.at('work', 'data', 'vault.age.tokens'))).toBe(true)
    expect(existsSync(m.at('home', '.config', 'jwtis', 'identity.txt'))).toBe(true)

    // npm uninstall runs against an empty prefix of its own, and keeps its logs out of HOME
    m.run(block('Uninstalling'), {
      env: {npm_config_cache: m.at('npm-cache'), npm_config_offline: 'true', npm_config_prefix: m.at('prefix')},
    })
    expect(readdirSync(m.at('work'))).toEqual([])
    expect(readdirSync(m.at('home', '.config'))).toEqual([])
    expect(existsSync(m.at('home', '.cache', 'jwtis'))).toBe(false) // Node 20's code cache
  })
})
