// `npm run bench`, serve: POST /issue_token and /renew_token (wrk -t1 -c64, loopback) on
//
//   Go      bench/reference (net/http + go-jose v2, no state), -seal issuer and -seal client
//   floor   bench/floor/server.js (bare node:http + node:crypto, no state), both sealings
//   jwtis   `jwtis serve` with default settings (access log on), file store and Redis, one
//           client with the vault's default sealing and one made with --refresh-seal client
//
// All servers run at once (idle ones cost nothing), each is warmed up, then every sample is
// taken in rounds that interleave reference, jwtis and floor; rows report medians. Renewals
// present refresh tokens from separate families, round-robin (bench/wrk/renew.lua), with
// noRefresh (nothing written) and refreshBoth (every renewal rotates: state written, reuse
// detection runs). A sample with any non-2xx answer or socket error makes its row invalid.
import {spawn, spawnSync} from 'node:child_process'
import {closeSync, existsSync, openSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {BIN, freePort, has, HERE, KNOBS, median, row, waitFor, WORK} from './lib.js'

const SEEDS = Number(process.env.BENCH_SEEDS ?? 256)
const OPS = ['issue', 'noRefresh', 'refreshBoth']
const OP_NAME = {issue: 'issue_token', noRefresh: 'renew_token noRefresh', refreshBoth: 'renew_token refreshBoth'}
const SEALING = {client: 'ECDH-ES+A256KW to the client', issuer: 'A256KW, issuer key'}
const SHORT = {client: 'ECDH-ES', issuer: 'A256KW'}
const STATELESS =
  'Go and the floor keep no state: their refreshBoth renewal signs and seals a new refresh token (the same crypto) but writes nothing and detects no reuse'

/** One wrk sample against `path`; `script` is issue.lua or renew.lua. */
function wrk(target, path, script, seconds, extraEnv = {}) {
  const out = spawnSync(
    'wrk',
    // a 10 s timeout: on a loaded machine a slow answer is a figure to count, not a lost request
    [
      '-t1',
      '-c64',
      `-d${seconds}s`,
      '--timeout',
      '10s',
      '--latency',
      '-s',
      join(HERE, 'wrk', script),
      `${target.base}${path}`,
    ],
    {encoding: 'utf8', env: {...process.env, BENCH_KID: target.kid, BENCH_TOKEN: target.bearer, ...extraEnv}},
  )
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out.stdout)?.[1] ?? 0)
  const p99text = /99%\s+([\d.]+)(us|ms|s)/.exec(out.stdout)
  const p99 = p99text ? Number(p99text[1]) * {ms: 1, s: 1000, us: 0.001}[p99text[2]] : Number.NaN
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out.stdout)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out.stdout)
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0
  return {non2xx, p99, rps: out.status === 0 ? rps : 0, socketErrors: out.status === 0 ? socketErrors : 1}
}

/** A POST that must answer 201; a connection dropped on a loaded machine is tried again, twice. */
async function post(target, path, body, tries = 3) {
  let response
  try {
    response = await fetch(`${target.base}${path}`, {
      body: JSON.stringify(body),
      headers: {authorization: `Bearer ${target.bearer}`, 'content-type': 'application/json'},
      method: 'POST',
    })
  } catch (error) {
    if (tries > 1) return post(target, path, body, tries - 1)
    throw error
  }

  if (response.status !== 201) throw new Error(`${target.label}: ${path} answered ${response.status}`)
  return response.json()
}

/**
 * The file of refresh tokens a renew sample cycles through: what the last sample left live
 * (renew.lua writes it back), topped up to SEEDS with fresh ones, each the first of its own family.
 */
async function seed(target) {
  const file = join(WORK, `refresh-${target.id}.txt`)
  const tokens = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []
  while (tokens.length < SEEDS) {
    const batch = Array.from({length: Math.min(16, SEEDS - tokens.length)}, (_, j) =>
      post(target, '/issue_token', {claims: {role: 'admin', sub: `u${tokens.length + j}`}, kid: target.kid}),
    )
    for (const answer of await Promise.all(batch)) tokens.push(answer.refresh_token)
  }

  writeFileSync(file, `${tokens.join('\n')}\n`)
  return file
}

/** One sample of `op` on `target`. */
async function sample(target, op, seconds) {
  if (op === 'issue') return wrk(target, '/issue_token', 'issue.lua', seconds)
  const file = await seed(target)
  return wrk(target, '/renew_token', 'renew.lua', seconds, {BENCH_REFRESH_FILE: file, BENCH_STRATEGY: op})
}

/** How a target seals its refresh tokens, read from the JWE header of one it issued. */
async function sealingOf(target) {
  const {refresh_token: token} = await post(target, '/issue_token', {claims: {sub: 'probe'}, kid: target.kid})
  const {alg} = JSON.parse(Buffer.from(token.split('.')[0], 'base64url'))
  return /^(ECDH-ES|RSA)/.test(alg) ? 'client' : 'issuer'
}

async function stop(child) {
  if (child.exitCode !== null) return
  child.kill('SIGTERM')
  await new Promise((resolve) => {
    child.once('exit', resolve)
  })
}

async function startReference(seal) {
  const binary = join(WORK, 'jwtis-reference')
  const port = await freePort()
  const child = spawn(binary, ['-listen', `127.0.0.1:${port}`, '-token', 'reference-token', '-seal', seal], {
    stdio: 'ignore',
  })
  await waitFor(`http://127.0.0.1:${port}/ping`)
  const target = {base: `http://127.0.0.1:${port}`, bearer: 'reference-token', kid: 'app', seal}
  return {child, targets: [{...target, id: `go-${seal}`, label: `Go ${seal}`}]}
}

async function startFloor(seal) {
  const port = await freePort()
  const child = spawn(process.execPath, [join(HERE, 'floor', 'server.js'), String(port), 'floor-token', seal], {
    stdio: 'ignore',
  })
  await waitFor(`http://127.0.0.1:${port}/ping`)
  // the workers listen a moment after the first one answers
  await sleep(300)
  const target = {base: `http://127.0.0.1:${port}`, bearer: 'floor-token', kid: 'app', seal}
  return {child, targets: [{...target, id: `floor-${seal}`, label: `floor ${seal}`}]}
}

/** `jwtis serve` with default settings but the store; its access log (on, as by default) goes to a file. */
export async function startJwtis(store, env, clients) {
  const port = await freePort()
  const name = store === 'file' ? 'file' : 'redis'
  const log = openSync(join(WORK, `serve-${name}-${port}.log`), 'a')
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', `127.0.0.1:${port}`, '--store', store, '--json'], {
    env,
    stdio: ['ignore', 'pipe', log],
  })
  closeSync(log)
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve)
    child.once('exit', () => reject(new Error(`jwtis serve --store ${store} exited; see ${WORK}`)))
  })
  const base = `http://127.0.0.1:${port}`
  const targets = []
  for (const [role, client] of Object.entries(clients)) {
    const target = {base, bearer: client.token, how: client.how, id: `jwtis-${name}-${role}`, kid: client.kid, role}
    target.seal = await sealingOf(target)
    target.label = `jwtis ${name} ${role}`
    targets.push(target)
  }

  return {child, targets}
}

/**
 * Interleaved: for each op, one sample of every target in turn (reference, jwtis, floor…), `rounds`
 * times, after every target has run every op for the warm-up.
 */
async function measureAll(targets) {
  for (const target of targets) for (const op of OPS) await sample(target, op, KNOBS.warmupSeconds)
  const samples = Object.fromEntries(targets.map((t) => [t.id, {issue: [], noRefresh: [], refreshBoth: []}]))
  for (let round = 0; round < KNOBS.rounds; round++)
    for (const op of OPS)
      for (const target of targets) samples[target.id][op].push(await sample(target, op, KNOBS.seconds))
  const summary = {}
  for (const [id, ops] of Object.entries(samples))
    summary[id] = Object.fromEntries(
      Object.entries(ops).map(([op, xs]) => [
        op,
        {
          errors: xs.reduce((sum, x) => sum + x.non2xx + x.socketErrors, 0),
          non2xx: xs.reduce((sum, x) => sum + x.non2xx, 0),
          p99: median(xs.map((x) => x.p99)),
          rps: median(xs.map((x) => x.rps)),
          samples: xs.map((x) => Math.round(x.rps)),
        },
      ]),
    )
  return summary
}

const figure = (m) => `${Math.round(m.rps)}/s p99 ${m.p99.toFixed(0)}ms`

const failures = (name, m) =>
  m.errors ? `${name} ${m.non2xx} non-2xx and ${m.errors - m.non2xx} socket errors or timeouts` : ''

/** A row setting `ours` against `theirs` (both medians of one op). */
function compare({note = [], ours, oursName, theirs, theirsName, what, ...bar}) {
  const invalid = [failures(oursName, ours), failures(theirsName, theirs)].filter(Boolean)
  row({
    jwtis: figure(ours),
    note: [...note, invalid.length > 0 ? `INVALID: ${invalid.join(', ')}` : ''].filter(Boolean).join('; '),
    p99: {[oursName]: ours.p99, [theirsName]: theirs.p99},
    ratio: ours.rps / theirs.rps,
    reference: `${theirsName} ${figure(theirs)}`,
    rps: {
      [oursName]: ours.rps,
      samples: {[oursName]: ours.samples, [theirsName]: theirs.samples},
      [theirsName]: theirs.rps,
    },
    valid: invalid.length === 0,
    what,
    ...bar,
  })
}

function jwtisRows(m, byId, store) {
  const def = byId[`jwtis-${store}-default`]
  const own = byId[`jwtis-${store}-client`]
  for (const op of OPS) {
    const stateNote = op === 'refreshBoth' ? [STATELESS] : []
    const same = m[`go-${def.seal}`][op]
    const ours = m[def.id][op]
    const sealed = `default client, refresh tokens sealed ${SEALING[def.seal]}; Go the same`
    const names = {oursName: 'jwtis', theirsName: 'Go'}
    const subject = `serve ${OP_NAME[op]}, ${store}, default (${SHORT[def.seal]})`
    compare({
      ...names,
      atLeast: 0.9,
      note: [sealed, ...stateNote],
      ours,
      theirs: same,
      what: `${subject} vs Go ${SHORT[def.seal]}`,
    })
    row({
      atMost: 1,
      jwtis: `p99 ${ours.p99.toFixed(1)} ms`,
      note: sealed,
      ratio: ours.p99 / same.p99,
      reference: `Go p99 ${same.p99.toFixed(1)} ms`,
      valid: ours.errors + same.errors === 0,
      what: `${subject} p99 vs Go ${SHORT[def.seal]}`,
    })
    compare({
      ...names,
      atLeast: 1.3,
      note: [
        `jwtis default client (${SEALING[def.seal]}) vs the seed's stack as it is: Go, ${SEALING.client}`,
        ...stateNote,
      ],
      ours,
      theirs: m['go-client'][op],
      what: `${subject} vs Go ECDH-ES (seed)`,
    })
    const clientSubject = `serve ${OP_NAME[op]}, ${store}, refresh_seal client (ECDH-ES) vs floor ECDH-ES`
    if (own?.seal === 'client')
      compare({
        atLeast: 0.85,
        note: [`client ${own.how}, sealing ${SEALING.client}; the floor does the same ECDH-ES work`, ...stateNote],
        ours: m[own.id][op],
        oursName: 'jwtis',
        theirs: m['floor-client'][op],
        theirsName: 'floor',
        what: clientSubject,
      })
    else
      row({
        note: `skipped: ${own ? "app-client's refresh tokens are not sealed to the client" : 'no app-client (client add --refresh-seal client failed)'}`,
        what: clientSubject,
      })
  }
}

function floorRows(m) {
  for (const seal of ['issuer', 'client'])
    for (const op of OPS)
      compare({
        note: [
          `bench/floor/server.js: no framework, no state; not jwtis; both ${SEALING[seal]}`,
          ...(op === 'refreshBoth' ? [STATELESS] : []),
        ],
        ours: m[`floor-${seal}`][op],
        oursName: 'floor',
        theirs: m[`go-${seal}`][op],
        theirsName: 'Go',
        what: `floor ${OP_NAME[op]} (${SHORT[seal]}) vs Go ${SHORT[seal]}`,
      })
}

function buildReference() {
  const built = spawnSync('go', ['build', '-o', join(WORK, 'jwtis-reference'), '.'], {
    cwd: join(HERE, 'reference'),
    encoding: 'utf8',
    env: {...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', HOME: WORK},
  })
  return built.status === 0 ? undefined : built.stderr.trim().split('\n')[0]
}

/** The serve rows; returns the Go reference's medians (the crypto ceiling row sets itself against them) or undefined. */
export async function serveSection(env, clients) {
  if (!has('wrk', ['-v']) && !spawnSync('wrk', ['-v']).stdout?.length) {
    row({note: 'skipped: no wrk (apt-get install wrk)', what: 'serve'})
    return
  }

  const failed = has('go', ['version']) ? buildReference() : 'no go'
  if (failed) {
    row({
      note: `skipped: the Go reference did not build (${failed}); needs golang-gopkg-square-go-jose.v2-dev`,
      what: 'serve',
    })
    return
  }

  const running = []
  let redis
  try {
    const stores = ['file']
    if (has('redis-server')) {
      const port = await freePort()
      redis = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      )
      await sleep(300)
      stores.push(`redis://127.0.0.1:${port}`)
    } else row({note: 'skipped: no redis-server', what: 'serve (Redis store)'})

    running.push(await startReference('issuer'))
    for (const store of stores) running.push(await startJwtis(store, env, clients))
    running.push(await startFloor('issuer'), await startReference('client'), await startFloor('client'))
    // interleaved: Go, jwtis, floor for the issuer sealing, then the same for the client sealing
    const all = running.flatMap((r) => r.targets)
    const order = [
      ...all.filter((t) => t.id === 'go-issuer'),
      ...all.filter((t) => t.role === 'default'),
      ...all.filter((t) => t.id === 'floor-issuer'),
      ...all.filter((t) => t.id === 'go-client'),
      ...all.filter((t) => t.role === 'client'),
      ...all.filter((t) => t.id === 'floor-client'),
    ]
    const m = await measureAll(order)
    const byId = Object.fromEntries(order.map((t) => [t.id, t]))
    for (const store of stores) jwtisRows(m, byId, store === 'file' ? 'file' : 'redis')
    floorRows(m)
    return m
  } finally {
    for (const r of running) await stop(r.child)
    if (redis) await stop(redis)
  }
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

/** Memory under sustained renewals with refreshBoth (every request writes state), file store, default settings. */
export async function soakSection(env, clients) {
  const what = `serve RSS after a ${KNOBS.soakSeconds} s refreshBoth soak vs after warm-up`
  if (!spawnSync('wrk', ['-v']).stdout?.length) {
    row({note: 'skipped: no wrk', what})
    return
  }

  const server = await startJwtis('file', env, {default: clients.default})
  try {
    const [target] = server.targets
    const warmup = await sample(target, 'refreshBoth', Number(process.env.BENCH_SOAK_WARMUP_SECONDS ?? 15))
    const warm = treeRss(server.child.pid)
    const soak = await sample(target, 'refreshBoth', KNOBS.soakSeconds)
    const after = treeRss(server.child.pid)
    const errors = warmup.non2xx + warmup.socketErrors + soak.non2xx + soak.socketErrors
    row({
      atMost: 1.1,
      jwtis: `${Math.round(after / 1024)} MiB`,
      note: `all serve processes; renew_token refreshBoth at full load (${Math.round(soak.rps)}/s), ${SEALING[target.seal]}${errors ? `; INVALID: ${errors} non-2xx/socket errors` : ''}`,
      ratio: after / warm,
      reference: `${Math.round(warm / 1024)} MiB warm`,
      valid: errors === 0,
      what,
    })
  } finally {
    await stop(server.child)
  }
}
