// `npm run bench`: every figure is a ratio against an outside reference measured in the same
// run, interleaved where it can be (machines are small and noisy, so only such ratios mean
// anything). Writes bench/results.json and prints a table. Not part of `npm test`.
//
//   start-up      jwtis commands against bare `node -e ''`
//   one-shot      `jwtis token issue` against Debian's `jose jws sig` (each a whole process)
//   batch         `token issue --batch` tokens/s against raw node:crypto ES256 signing in a loop
//   serve         POST /issue_token and /renew_token (wrk -t1 -c64) against the Go reference
//                 (bench/reference: net/http + go-jose v2), with the file store and with Redis
//   store         renew cost with 100,000 live families against 100 (the file store must not slow
//                 down as families pile up)
//   floors        the same serve work on bare node:http + node:crypto (bench/floor/server.js);
//                 the crypto of one issue_token on node:crypto (no HTTP, no state) on every core,
//                 against the Go reference's whole requests; and each P-256 operation through
//                 node:crypto against OpenSSL's own (`openssl speed`), to show where the serve bar
//                 sits against what this runtime can do at all
//
// Tools it needs: wrk, go with golang-gopkg-square-go-jose.v2-dev, redis-server, jose (each
// row whose tool is missing is reported as skipped, with the reason).
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {createHash, diffieHellman, generateKeyPairSync, randomBytes, sign, verify} from 'node:crypto'
import {appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {cpus, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

import {addClient} from '../dist/core/clients.js'
import {Issuer} from '../dist/core/issuer.js'
import {encodedHeader, encryptCompact, signCompact} from '../dist/jose/compact.js'
import {newDocument, storeKeyOf} from '../dist/model/document.js'
import {FileStore} from '../dist/store/file.js'
import {newIdentity} from '../dist/vault/age.js'
import {Vault} from '../dist/vault/vault.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const BIN = join(HERE, '..', 'bin', 'run.js')
const WORK = mkdtempSync(join(tmpdir(), 'jwtis-bench-'))
const SERVE_SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const results = {machine: {}, rows: []}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const has = (cmd, args = ['--version']) => spawnSync(cmd, args, {stdio: 'ignore'}).status === 0
const row = (r) => {
  results.rows.push(r)
  const ratio = r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`
  process.stdout.write(
    `${r.what.padEnd(44)} ${String(r.jwtis ?? '-').padStart(16)} ${String(r.reference ?? '-').padStart(16)} ${ratio.padStart(7)}  ${r.note ?? ''}\n`,
  )
}

/** RSS in KiB of a process and its children (the `serve` primary and its workers). */
function treeRss(pid) {
  const children = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], {encoding: 'utf8'})
    .stdout.split('\n')
    .map(Number)
    .filter(Boolean)
  return [pid, ...children].reduce(
    (sum, p) => sum + Number(spawnSync('ps', ['-o', 'rss=', '-p', String(p)], {encoding: 'utf8'}).stdout.trim() || 0),
    0,
  )
}

/** wrk at full load on issue_token for `seconds`. */
function load(url, seconds) {
  spawnSync('wrk', ['-t1', '-c64', `-d${seconds}s`, '-s', join(HERE, 'wrk', 'issue.lua'), url], {
    env: {...process.env, BENCH_KID: 'app', BENCH_TOKEN: clientToken},
  })
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function waitFor(url) {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url)
      return
    } catch {
      await sleep(50)
    }
  }

  throw new Error(`${url} did not come up`)
}

results.machine = {cpu: cpus()[0]?.model, cpus: cpus().length, node: process.version, platform: process.platform}
process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}\n\n`)
process.stdout.write(
  `${'what'.padEnd(44)} ${'jwtis'.padStart(16)} ${'reference'.padStart(16)} ${'ratio'.padStart(7)}\n`,
)

// A CLI vault for the process-level rows.
const env = {...process.env, CI: '1', JWTIS_CONFIG_DIR: join(WORK, 'config'), JWTIS_VAULT: join(WORK, 'cli.age')}
const cli = (args, options = {}) =>
  execFileSync(process.execPath, [BIN, ...args], {encoding: 'utf8', env, stdio: ['pipe', 'pipe', 'ignore'], ...options})
cli(['init'], {stdio: 'ignore'})
const clientToken = cli(['client', 'add', 'app']).trim()
const token = cli(['token', 'issue', '--client', 'app']).trim()
const pem = join(WORK, 'sig.pem')
writeFileSync(pem, cli(['keys', 'export', '--use', 'sig', '--format', 'pem']))

// ---- start-up -------------------------------------------------------------------------------
{
  const commands = {
    '--version': [BIN, '--version'],
    'token issue': [BIN, 'token', 'issue', '--client', 'app'],
    'token verify --key': [BIN, 'token', 'verify', token, '--key', pem],
  }
  const times = {node: [], ...Object.fromEntries(Object.keys(commands).map((k) => [k, []]))}
  for (let round = 0; round < 9; round++) {
    for (const [name, args] of [['node', ['-e', '']], ...Object.entries(commands)]) {
      const start = process.hrtime.bigint()
      spawnSync(process.execPath, args, {env, stdio: 'ignore'})
      times[name].push(Number(process.hrtime.bigint() - start) / 1e6)
    }
  }

  const base = median(times.node)
  for (const name of Object.keys(commands)) {
    row({
      jwtis: `${median(times[name]).toFixed(0)} ms`,
      ratio: median(times[name]) / base,
      reference: `${base.toFixed(0)} ms node`,
      unit: 'ms',
      what: `start-up: ${name}`,
    })
  }
}

// ---- one-shot signing against Debian's jose CLI -----------------------------------------------
if (has('jose', ['alg'])) {
  const jwk = join(WORK, 'es256.jwk')
  execFileSync('jose', ['jwk', 'gen', '-i', '{"alg":"ES256"}', '-o', jwk])
  const claims = join(WORK, 'claims.json')
  writeFileSync(claims, JSON.stringify({sub: 'alice'}))
  const ours = []
  const theirs = []
  for (let round = 0; round < 9; round++) {
    let start = process.hrtime.bigint()
    spawnSync(process.execPath, [BIN, 'token', 'issue', '--client', 'app'], {env, stdio: 'ignore'})
    ours.push(Number(process.hrtime.bigint() - start) / 1e6)
    start = process.hrtime.bigint()
    spawnSync('jose', ['jws', 'sig', '-I', claims, '-k', jwk, '-c', '-o', '/dev/null'], {stdio: 'ignore'})
    theirs.push(Number(process.hrtime.bigint() - start) / 1e6)
  }

  row({
    jwtis: `${median(ours).toFixed(1)} ms`,
    note: 'jwtis also opens the age vault and checks the client',
    ratio: median(ours) / median(theirs),
    reference: `${median(theirs).toFixed(1)} ms jose`,
    what: 'one-shot ES256: token issue vs jose jws sig',
  })
} else row({note: 'skipped: no jose CLI (apt-get install jose)', what: 'one-shot ES256: token issue vs jose jws sig'})

// ---- --batch against raw node:crypto signing ------------------------------------------------
{
  const lines = Number(process.env.BENCH_BATCH_LINES ?? 100_000)
  const input = Array.from({length: lines}, (_, i) => JSON.stringify({sub: `u${i}`})).join('\n')
  const start = process.hrtime.bigint()
  const out = spawnSync(process.execPath, [BIN, 'token', 'issue', '--client', 'app', '--batch'], {
    env,
    input,
    maxBuffer: 1 << 30,
  })
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const made = out.stdout.toString().split('\n').filter(Boolean).length
  const {privateKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const n = 20_000
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++)
    sign('sha256', Buffer.from(`header.payload${i}`), {dsaEncoding: 'ieee-p1363', key: privateKey})
  const raw = n / (Number(process.hrtime.bigint() - t0) / 1e9)
  row({
    jwtis: `${Math.round(made / seconds)} tok/s`,
    note: `${lines} lines, whole process`,
    ratio: made / seconds / raw,
    reference: `${Math.round(raw)} sig/s`,
    what: 'token issue --batch ES256 vs raw node:crypto',
  })
}

// ---- serve against the Go reference ----------------------------------------------------------
const wrk = async (url, script, extraEnv) => {
  const out = spawnSync(
    'wrk',
    ['-t1', '-c64', `-d${SERVE_SECONDS}s`, '--latency', '-s', join(HERE, 'wrk', script), url],
    {encoding: 'utf8', env: {...process.env, ...extraEnv}},
  )
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out.stdout)?.[1] ?? 0)
  const p99text = /99%\s+([\d.]+)(us|ms|s)/.exec(out.stdout)
  const p99 = p99text ? Number(p99text[1]) * {ms: 1, s: 1000, us: 0.001}[p99text[2]] : Number.NaN
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out.stdout)?.[1] ?? 0)
  return {errors, p99, rps}
}

const post = async (url, body, bearer) =>
  (
    await fetch(url, {
      body: JSON.stringify(body),
      headers: {authorization: `Bearer ${bearer}`, 'content-type': 'application/json'},
      method: 'POST',
    })
  ).json()

async function measure(label, base, bearer) {
  const issue = await wrk(`${base}/issue_token`, 'issue.lua', {BENCH_KID: 'app', BENCH_TOKEN: bearer})
  const refresh = (await post(`${base}/issue_token`, {claims: {sub: 'alice'}, kid: 'app'}, bearer)).refresh_token
  const renew = await wrk(`${base}/renew_token`, 'renew.lua', {
    BENCH_KID: 'app',
    BENCH_REFRESH: refresh,
    BENCH_TOKEN: bearer,
  })
  return {issue, label, renew}
}

const canServe = has('wrk', ['-v']) || spawnSync('wrk', ['-v']).stdout?.length > 0
let reference
if (canServe && has('go', ['version'])) {
  const binary = join(WORK, 'jwtis-reference')
  const built = spawnSync('go', ['build', '-o', binary, '.'], {
    cwd: join(HERE, 'reference'),
    encoding: 'utf8',
    env: {...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', HOME: WORK},
  })
  if (built.status === 0) {
    const port = await freePort()
    const child = spawn(binary, ['-listen', `127.0.0.1:${port}`, '-token', 'reference-token'], {stdio: 'ignore'})
    await waitFor(`http://127.0.0.1:${port}/ping`)
    reference = await measure('Go reference', `http://127.0.0.1:${port}`, 'reference-token')
    child.kill()
  } else process.stdout.write(`(the Go reference did not build: ${built.stderr.trim().split('\n')[0]})\n`)
}

// The same work on bare node:http and node:crypto, nothing of jwtis (bench/floor/server.js): how
// close Node itself comes to the reference on this machine.
let floor
if (reference) {
  const port = await freePort()
  const child = spawn(process.execPath, [join(HERE, 'floor', 'server.js'), String(port), 'floor-token'], {
    stdio: 'ignore',
  })
  await waitFor(`http://127.0.0.1:${port}/ping`)
  floor = await measure('Node floor', `http://127.0.0.1:${port}`, 'floor-token')
  child.kill()
}

async function serveJwtis(store) {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--listen', `127.0.0.1:${port}`, '--store', store, '--log-level', 'warn', '--json'],
    {
      env: {...env, JWTIS_ADMIN_TOKEN: 'bench-admin'},
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  await new Promise((resolve) => {
    child.stdout.once('data', resolve)
  })
  const result = await measure(store.startsWith('redis') ? 'redis' : store, `http://127.0.0.1:${port}`, clientToken)
  child.kill('SIGTERM')
  await new Promise((resolve) => {
    child.once('exit', resolve)
  })
  return result
}

if (reference) {
  const stores = ['file']
  let redis
  if (has('redis-server')) {
    const port = await freePort()
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    })
    await sleep(300)
    stores.push(`redis://127.0.0.1:${port}`)
  }

  for (const store of stores) {
    const ours = await serveJwtis(store)
    for (const op of ['issue', 'renew']) {
      const r = reference[op]
      const o = ours[op]
      row({
        jwtis: `${Math.round(o.rps)}/s p99 ${o.p99.toFixed(0)}ms`,
        note: [
          floor ? `${(o.rps / floor[op].rps).toFixed(2)}x of the Node floor` : '',
          o.errors || r.errors ? `non-2xx: jwtis ${o.errors}, reference ${r.errors}` : '',
        ]
          .filter(Boolean)
          .join('; '),
        p99: {jwtis: o.p99, reference: r.p99},
        ratio: o.rps / r.rps,
        reference: `${Math.round(r.rps)}/s p99 ${r.p99.toFixed(0)}ms`,
        rps: {jwtis: o.rps, reference: r.rps},
        what: `serve ${op === 'issue' ? 'issue_token' : 'renew_token'} (${ours.label} store)`,
      })
    }
  }

  redis?.kill()

  for (const op of ['issue', 'renew']) {
    const r = reference[op]
    const f = floor[op]
    row({
      jwtis: `${Math.round(f.rps)}/s p99 ${f.p99.toFixed(0)}ms`,
      note: 'bench/floor/server.js: no framework, no state; not jwtis',
      p99: {floor: f.p99, reference: r.p99},
      ratio: f.rps / r.rps,
      reference: `${Math.round(r.rps)}/s p99 ${r.p99.toFixed(0)}ms`,
      rps: {floor: f.rps, reference: r.rps},
      what: `floor: bare node:http + node:crypto ${op === 'issue' ? 'issue_token' : 'renew_token'} vs reference`,
    })
  }

  // Memory under sustained load: RSS of the primary and its workers after a warm-up, and again
  // after 60 s more at full load (renewals with refreshBoth: every request writes state).
  {
    const port = await freePort()
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--listen', `127.0.0.1:${port}`, '--log-level', 'warn', '--json'],
      {
        env: {...env, JWTIS_ADMIN_TOKEN: 'bench-admin'},
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    await new Promise((resolve) => {
      child.stdout.once('data', resolve)
    })
    const base = `http://127.0.0.1:${port}`
    load(`${base}/issue_token`, Number(process.env.BENCH_WARMUP_SECONDS ?? 15))
    const warm = treeRss(child.pid)
    load(`${base}/issue_token`, Number(process.env.BENCH_SOAK_SECONDS ?? 60))
    const after = treeRss(child.pid)
    child.kill('SIGTERM')
    await new Promise((resolve) => {
      child.once('exit', resolve)
    })
    row({
      jwtis: `${Math.round(after / 1024)} MiB`,
      note: 'limit 1.10x; all serve processes, issue_token at full load',
      ratio: after / warm,
      reference: `${Math.round(warm / 1024)} MiB warm`,
      what: 'serve RSS after a 60 s soak vs after warm-up',
    })
  }
} else {
  row({
    note: 'skipped: needs wrk and go with golang-gopkg-square-go-jose.v2-dev',
    what: 'serve against the Go reference',
  })
}

// ---- floors: what node:crypto can do at all, against OpenSSL and the reference -----------------
{
  /** Operations per second of `fn` on this (one) core, best of three 1-second rounds. */
  const rate = (fn) => {
    let best = 0
    for (let round = 0; round < 3; round++) {
      let n = 0
      const start = process.hrtime.bigint()
      let elapsed = 0
      while (elapsed < 1e9) {
        for (let i = 0; i < 200; i++) fn()
        n += 200
        elapsed = Number(process.hrtime.bigint() - start)
      }

      best = Math.max(best, n / (elapsed / 1e9))
    }

    return best
  }

  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const recipient = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const data = Buffer.from('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9')
  const signature = sign('sha256', data, {dsaEncoding: 'ieee-p1363', key: privateKey})
  const node = {
    ecdh: rate(() => diffieHellman({privateKey: recipient.privateKey, publicKey})),
    sign: rate(() => sign('sha256', data, {dsaEncoding: 'ieee-p1363', key: privateKey})),
    verify: rate(() => verify('sha256', data, {dsaEncoding: 'ieee-p1363', key: publicKey}, signature)),
  }

  // One issue_token's crypto, as jwtis does it: an access token, and a refresh token signed then
  // sealed to the client's key with ECDH-ES+A256KW/A256GCM (a fresh ephemeral key each time).
  const accessHeader = encodedHeader({alg: 'ES256', kid: 'k', typ: 'at+jwt'})
  const refreshHeader = encodedHeader({alg: 'ES256', kid: 'k', typ: 'rt+jwt'})
  const now = Math.floor(Date.now() / 1000)
  const pair = rate(() => {
    signCompact(accessHeader, {aud: 'api', exp: now + 900, iat: now, iss: 'bench', sub: 'alice'}, 'ES256', privateKey)
    const inner = signCompact(
      refreshHeader,
      {exp: now + 86_400, fam: 'f', iat: now, jti: 'j', sub: 'alice'},
      'ES256',
      privateKey,
    )
    encryptCompact(inner, {alg: 'ECDH-ES+A256KW', cty: 'JWT', enc: 'A256GCM', kid: 'e'}, recipient.publicKey)
  })
  const cores = cpus().length
  if (reference)
    row({
      jwtis: `${Math.round(pair * cores)}/s`,
      note: `node:crypto only, ${(1e6 / pair).toFixed(0)} µs a pair × ${cores} cores, no HTTP, no state`,
      ratio: (pair * cores) / reference.issue.rps,
      reference: `${Math.round(reference.issue.rps)}/s Go`,
      what: 'floor: issue_token crypto ceiling vs reference',
    })

  if (has('openssl', ['version'])) {
    const speed = spawnSync('openssl', ['speed', '-seconds', '2', 'ecdsap256', 'ecdhp256'], {encoding: 'utf8'}).stdout
    const ecdsa = /256 bits ecdsa \(nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/.exec(speed)
    const ecdh = /256 bits ecdh \(nistp256\)\s+[\d.]+s\s+([\d.]+)/.exec(speed)
    const openssl = {ecdh: Number(ecdh?.[1]), sign: Number(ecdsa?.[1]), verify: Number(ecdsa?.[2])}
    for (const op of ['sign', 'verify', 'ecdh'])
      row({
        jwtis: `${(1e6 / node[op]).toFixed(0)} µs`,
        note: 'node:crypto per operation vs OpenSSL per operation',
        ratio: openssl[op] / node[op],
        reference: `${(1e6 / openssl[op]).toFixed(0)} µs openssl`,
        what: `floor: P-256 ${op === 'ecdh' ? 'ECDH derive' : `ECDSA ${op}`}`,
      })
  } else row({note: 'skipped: no openssl (apt-get install openssl)', what: 'floor: P-256 per operation'})
}

// ---- file store: cost against the number of live families --------------------------------------
{
  /** `files`: families as the CLI makes them (a file each); `logs`: as `serve` makes them (a line of their bucket's log). */
  async function storeWith(families, layout) {
    const dir = mkdtempSync(join(WORK, 'store-'))
    const {identity, recipient} = await newIdentity()
    const vault = await Vault.create(
      join(dir, 'vault.age'),
      newDocument({defaults: {refreshStrategy: 'refreshBoth'}, name: 'bench', recipients: [recipient]}),
      {identities: [identity]},
    )
    await addClient(vault, 'app', {})
    const storeDir = join(dir, 'vault.age.tokens')
    // Live families written straight in the store's layout, minus the fsync (filling 100,000
    // with it would take minutes).
    const now = Date.now()
    const made = new Set()
    for (let i = 0; i < families; i++) {
      const fam = createHash('sha256').update(randomBytes(16)).digest('base64url')
      const bucket = join(storeDir, 'families', fam.slice(0, 2))
      if (!made.has(bucket)) mkdirSync(bucket, {recursive: true})
      made.add(bucket)
      const record = {
        client: 'app',
        created: now,
        current: 'x',
        fam,
        revoked: false,
        sexp: now + 86_400_000,
        sub: `u${i}`,
      }
      if (layout === 'files') writeFileSync(join(bucket, `${fam}.json`), JSON.stringify(record))
      else appendFileSync(join(bucket, 'created.log'), `${JSON.stringify(record)}\n`)
    }

    // serve-made: the family renewed is in its bucket's log too, and noRefresh keeps it there
    const groupCommit = layout === 'logs'
    const issuer = new Issuer(
      vault,
      async () => new FileStore(storeDir, {groupCommit, storeKey: storeKeyOf(vault.document)}),
    )
    let t = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token
    const strategy = groupCommit ? 'noRefresh' : 'refreshBoth'
    return async (n) => {
      const start = process.hrtime.bigint()
      for (let i = 0; i < n; i++) t = (await issuer.renew('app', t, {strategy})).refresh_token
      return Number(process.hrtime.bigint() - start) / 1e6 / n
    }
  }

  for (const layout of ['files', 'logs']) {
    const small = await storeWith(100, layout)
    const large = await storeWith(100_000, layout)
    await small(20)
    await large(20)
    const times = {large: [], small: []}
    for (let round = 0; round < 6; round++) {
      times.small.push(await small(50))
      times.large.push(await large(50))
    }

    row({
      jwtis: `${median(times.large).toFixed(2)} ms/op`,
      note: 'limit 1.5x',
      ratio: median(times.large) / median(times.small),
      reference: `${median(times.small).toFixed(2)} ms/op`,
      what: `file store renew: 100,000 families vs 100 (${layout === 'files' ? 'CLI-made' : 'serve-made'})`,
    })
  }
}

writeFileSync(join(HERE, 'results.json'), `${JSON.stringify({...results, date: new Date().toISOString()}, null, 2)}\n`)
rmSync(WORK, {force: true, recursive: true})
process.stdout.write('\nwritten: bench/results.json\n')
