import type {Worker} from 'node:worker_threads'

import {once} from 'node:events'
import {createInterface} from 'node:readline'

import type {IssuedTokens, Issuer, IssueRequest} from '../../core/issuer.js'
import type {BatchChunk, BatchSetup} from '../batch-line.js'
import type {BatchDone} from '../batch-worker.js'
import type {ActionContext} from './context.js'

import {UsageError} from '../../common/errors.js'
import {parseWhen} from '../../common/time.js'
import {printTokens} from '../output.js'
import {sideEffects} from '../side-effects.js'

/** `token issue`'s flags, parsed (durations in ms). */
export interface IssueFlags {
  aud?: string[]
  batch?: boolean
  claim?: string[]
  claims?: string
  client: string
  encrypt?: boolean
  fingerprint?: string
  nbf?: string
  'no-write'?: boolean
  progress?: boolean
  quiet?: boolean
  refresh?: boolean
  store?: string
  sub?: string
  ttl?: number
}

/** `jwtis token issue`: one access token (and refresh token), or with --batch one per NDJSON line. */
export async function issueAction(ctx: ActionContext, flags: IssueFlags): Promise<IssuedTokens | undefined> {
  const {buildClaimSet, parseClaimArg, parseClaimsJson} = await import('../../jose/claims.js')
  const issuer = await ctx.openIssuer(flags.store, sideEffects(flags['no-write']))
  try {
    const nbf = flags.nbf === undefined ? undefined : await parseWhen(flags.nbf, issuer.now(), '--nbf')
    const base = {
      encrypt: flags.encrypt,
      fingerprint: flags.fingerprint,
      nbf,
      refresh: flags.refresh,
      ttlMs: flags.ttl,
    }
    const explicit = {aud: flags.aud, sub: flags.sub}
    if (flags.batch) {
      const {lineIssuer} = await import('../batch-line.js')
      const issueLine = lineIssuer(issuer, {base, client: flags.client, explicit})
      const [{availableParallelism}, {storeChoice}] = await Promise.all([
        import('node:os'),
        import('../../store/index.js'),
      ])
      // A memory store lives in this thread only; any other is shared by the worker threads.
      const threads = storeChoice(flags.store) === 'memory' ? 0 : availableParallelism()
      await batch(ctx, issueLine, {
        parallel: threads > 1 ? {base, client: flags.client, explicit, issuer, store: flags.store, threads} : undefined,
        progress: flags.progress === true,
        quiet: flags.quiet === true,
      })
      return undefined // the NDJSON lines are the output, --json or not
    }

    const fromJson =
      flags.claims === undefined ? {} : parseClaimsJson(await ctx.readInput(flags.claims, 'claims'), '--claims')
    const claims = {...fromJson, ...Object.fromEntries((flags.claim ?? []).map((c) => parseClaimArg(c)))}
    const request: IssueRequest = {...base, ...buildClaimSet(claims, explicit)}
    const result = await issuer.issue(flags.client, request)
    if (!ctx.json) printTokens(ctx, result, 'the refresh token (--json gives both with their expiry)')

    return result
  } finally {
    await issuer.close()
  }
}

interface Parallel {
  base: BatchSetup['base']
  client: string
  explicit: BatchSetup['explicit']
  issuer: Issuer
  store?: string
  threads: number
}

/** Lines per message to a worker thread: enough to amortise the hop, few enough to keep order cheap. */
const CHUNK_LINES = 256

/**
 * One result line per input line, in order; one bad line does not stop the others. The exit
 * status is that of the first failure (0 when every line was issued). With `parallel`, the
 * first line is issued here (rotating any key that is due) and the rest are signed by worker
 * threads, chunk by chunk, their results written back in input order.
 */
async function batch(
  ctx: ActionContext,
  issue: (line: string, label: string) => Promise<IssuedTokens>,
  options: {parallel?: Parallel; progress: boolean; quiet: boolean},
): Promise<void> {
  if (process.stdin.isTTY) throw new UsageError('--batch reads NDJSON claim sets from stdin: pipe them in')
  const {answerLine} = await import('../batch-line.js')
  let issued = 0
  let failed = 0
  const progress = !options.quiet && (options.progress || process.stderr.isTTY) ? await Progress.start() : undefined
  // Lines go out in chunks (a write per line costs more than signing), waiting for stdout to
  // drain so that memory stays flat however long the input.
  let output = ''
  let buffered = 0
  const out = stdoutWriter()
  const flush = async () => {
    const chunk = output
    output = ''
    buffered = 0
    if (chunk) await out.emit(chunk)
  }

  const fail = (exitCode: number) => {
    if (failed++ === 0) process.exitCode = exitCode
  }

  let pool: undefined | WorkerPool
  let pending: string[] = []
  let n = 0
  for await (const raw of createInterface({crlfDelay: Infinity, input: process.stdin})) {
    // no answer can reach anyone any more: no more are made
    if (out.gone) break
    n++
    progress?.read(Buffer.byteLength(raw) + 1)
    const line = raw.trim()
    // The threads start with the second line: a one-line batch does not wait for them.
    if (options.parallel && !pool && n === 2) {
      await flush()
      pool = await WorkerPool.start(options.parallel, async (done) => {
        issued += done.out.split('\n').length - 1 - done.failed
        for (let i = 0; i < done.failed; i++) fail(done.firstExit ?? 70)
        progress?.update(issued + failed)
        await out.emit(done.out)
      })
    }

    if (pool) {
      pending.push(line)
      if (pending.length >= CHUNK_LINES) {
        await pool.submit(pending, n - pending.length + 1)
        pending = []
      }

      continue
    }

    const answer = await answerLine(issue, line, n)
    if (answer.exitCode === undefined) issued++
    else fail(answer.exitCode)
    output += answer.out
    if (++buffered >= 256) await flush()
    progress?.update(issued + failed)
  }

  if (pool) {
    if (pending.length > 0) await pool.submit(pending, n - pending.length + 1)
    await pool.finish()
  }

  await flush()
  out.close()
  progress?.stop()
  if (!options.quiet) ctx.logErr(`${issued} issued, ${failed} failed`)
}

/**
 * Writes to stdout, waiting for it to drain (memory stays flat however long the input). Once its
 * reader has gone (`… | head -1`: EPIPE, which bin/run.js keeps from ending the process), `gone`
 * says so and what is written is dropped.
 */
function stdoutWriter() {
  let gone = false
  const readerGone = () => {
    gone = true
  }

  process.stdout.on('error', readerGone)
  return {
    close: () => process.stdout.off('error', readerGone),
    async emit(text: string): Promise<void> {
      // (an 'error' rejects the wait for 'drain')
      if (!gone && !process.stdout.write(text)) await once(process.stdout, 'drain').catch(() => {})
    },
    get gone() {
      return gone
    },
  }
}

/**
 * The `--batch` progress line on stderr: lines answered, their rate, and when stdin is a file
 * (so its size is known) how far through it and the time left. On a terminal one line redrawn
 * in place; forced into a pipe or a file (--progress), a line a second.
 */
class Progress {
  private done = 0
  /** The count the last drawing showed. */
  private drawn = -1
  private lastDraw = 0
  private readBytes = 0
  /** The first drawing's time and fraction of stdin read: the time left is measured from there. */
  private since?: {at: number; fraction: number}
  private readonly started = performance.now()
  private readonly tty = Boolean(process.stderr.isTTY)

  private constructor(private readonly total?: number) {}

  static async start(): Promise<Progress> {
    const {fstat} = await import('node:fs')
    const size = await new Promise<number | undefined>((resolve) => {
      fstat(0, (error, stats) => resolve(!error && stats.isFile() && stats.size > 0 ? stats.size : undefined))
    })
    return new Progress(size)
  }

  read(bytes: number): void {
    this.readBytes += bytes
  }

  stop(): void {
    // (in a pipe, a line a second: the last one may already say it all)
    if (this.tty || this.drawn !== this.done) this.draw()
    if (this.tty) process.stderr.write('\n')
  }

  update(done: number): void {
    this.done = done
    const now = performance.now()
    if (now - this.lastDraw >= (this.tty ? 200 : 1000)) this.draw(now)
  }

  private draw(now = performance.now()): void {
    this.lastDraw = now
    this.drawn = this.done
    const seconds = (now - this.started) / 1000
    const rate = seconds > 0 ? Math.round(this.done / seconds) : 0
    const parts = [
      `${this.done.toLocaleString('en-US')} ${this.done === 1 ? 'line' : 'lines'}`,
      `${rate.toLocaleString('en-US')}/s`,
    ]
    if (this.total) {
      const fraction = Math.min(1, this.readBytes / this.total)
      parts.push(`${Math.floor(fraction * 100)}%`)
      const left = this.timeLeft(now, fraction)
      if (left !== undefined) parts.push(`ETA ${clock(left)}`)
    }

    process.stderr.write(this.tty ? `\r\u001B[2K${parts.join(' · ')}` : `${parts.join(' · ')}\n`)
  }

  /**
   * Seconds left at the pace since the first drawing, once measured over a second: before that
   * (the vault opening, the worker threads starting) a pace from a handful of lines is wild.
   */
  private timeLeft(now: number, fraction: number): number | undefined {
    this.since ??= {at: now, fraction}
    const seconds = (now - this.since.at) / 1000
    const gained = fraction - this.since.fraction
    if (seconds < 1 || gained <= 0 || fraction >= 1) return undefined
    return (seconds * (1 - fraction)) / gained
  }
}

function clock(seconds: number): string {
  const s = Math.ceil(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const mmss = `${String(m).padStart(h ? 2 : 1, '0')}:${String(s % 60).padStart(2, '0')}`
  return h ? `${h}:${mmss}` : mmss
}

/**
 * Worker threads that sign chunks of lines; results are handed to `write` in submission order.
 * `submit` waits while every thread has two chunks in flight, so reading keeps pace with
 * signing and memory stays flat.
 */
class WorkerPool {
  private readonly done = new Map<number, BatchDone>()
  /** A worker thread that failed (a bug): the batch stops with it rather than wait forever. */
  private failure?: Error
  private readonly idle: Array<() => void> = []
  private inFlight = 0
  /** Chunks in flight per worker: each chunk goes to the least busy, as threads on a shared machine do not keep pace. */
  private readonly load: number[]
  private nextOut = 0
  private nextSeq = 0
  private writing = Promise.resolve()

  private constructor(
    private readonly workers: Worker[],
    private readonly write: (done: BatchDone) => Promise<void>,
  ) {
    this.load = workers.map(() => 0)
    for (const [i, worker] of workers.entries()) {
      worker.on('message', (message: BatchDone) => {
        this.load[i]--
        this.received(message)
      })
      worker.on('error', (error) => {
        this.failure ??= error
        for (const wake of this.idle.splice(0)) wake()
      })
    }
  }

  static async start(parallel: Parallel, write: (done: BatchDone) => Promise<void>): Promise<WorkerPool> {
    const {Worker} = await import('node:worker_threads')
    const setup: BatchSetup = {
      base: parallel.base,
      client: parallel.client,
      doc: structuredClone(parallel.issuer.vault.document) as BatchSetup['doc'],
      explicit: parallel.explicit,
      store: parallel.store,
      vaultPath: parallel.issuer.vault.source,
    }
    const url = new URL('../batch-worker.js', import.meta.url)
    return new WorkerPool(
      Array.from({length: parallel.threads}, () => new Worker(url, {workerData: setup})),
      write,
    )
  }

  async finish(): Promise<void> {
    while (this.inFlight > 0 && !this.failure) await this.slot()
    if (this.failure) {
      await Promise.all(this.workers.map((worker) => worker.terminate()))
      throw this.failure
    }

    await this.writing
    await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve())
            worker.postMessage('close')
          }),
      ),
    )
  }

  /** `first`: the input line number of lines[0]. */
  async submit(lines: string[], first: number): Promise<void> {
    while (this.inFlight >= this.workers.length * 2 && !this.failure) await this.slot()
    if (this.failure) return // finish() reports it
    const seq = this.nextSeq++
    this.inFlight++
    const idlest = this.load.indexOf(Math.min(...this.load))
    this.load[idlest]++
    this.workers[idlest].postMessage({first, lines, seq} satisfies BatchChunk)
  }

  /** Resolves when a chunk in flight has been written. */
  private slot(): Promise<void> {
    return new Promise((resolve) => {
      this.idle.push(resolve)
    })
  }

  private received(message: BatchDone): void {
    this.done.set(message.seq, message)
    // write every chunk that is next in order, one write after another
    while (this.done.has(this.nextOut)) {
      const next = this.done.get(this.nextOut)!
      this.done.delete(this.nextOut)
      this.nextOut++
      this.writing = this.writing.then(async () => {
        await this.write(next)
        this.inFlight--
        this.idle.shift()?.()
      })
    }
  }
}
