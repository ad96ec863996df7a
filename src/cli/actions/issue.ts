import type {Worker} from 'node:worker_threads'

import {once} from 'node:events'
import {createInterface} from 'node:readline'

import type {IssuedTokens, Issuer, IssueRequest} from '../../core/issuer.js'
import type {BatchChunk, BatchDone, BatchSetup} from '../batch-worker.js'
import type {ActionContext} from './context.js'

import {isJwtisError, UsageError} from '../../core/errors.js'
import {parseWhen} from '../../core/time.js'

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
  refresh?: boolean
  store?: string
  sub?: string
  ttl?: number
}

/** `jwtis token issue`: one access token (and refresh token), or with --batch one per NDJSON line. */
export async function issueAction(ctx: ActionContext, flags: IssueFlags): Promise<IssuedTokens | undefined> {
  const {buildClaimSet, parseClaimArg, parseClaimsJson} = await import('../../core/claims.js')
  const issuer = await ctx.openIssuer(flags.store)
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
      const issueLine = async (line: string) =>
        issuer.issue(flags.client, {...base, ...buildClaimSet(parseClaimsJson(line, 'the line'), explicit)})
      const {availableParallelism} = await import('node:os')
      // A memory store lives in this thread only; any other is shared by the worker threads.
      const threads = (flags.store ?? process.env.JWTIS_STORE) === 'memory' ? 0 : availableParallelism()
      await batch(
        ctx,
        issueLine,
        threads > 1 ? {base, client: flags.client, explicit, issuer, store: flags.store, threads} : undefined,
      )
      return undefined // the NDJSON lines are the output, --json or not
    }

    const fromJson =
      flags.claims === undefined ? {} : parseClaimsJson(await ctx.readInput(flags.claims, 'claims'), '--claims')
    const claims = {...fromJson, ...Object.fromEntries((flags.claim ?? []).map((c) => parseClaimArg(c)))}
    const request: IssueRequest = {...base, ...buildClaimSet(claims, explicit)}
    const result = await issuer.issue(flags.client, request)
    if (!ctx.json) {
      ctx.print(result.access_token)
      if (result.refresh_token) ctx.logErr(`Refresh token (use --json to capture both):\n${result.refresh_token}`)
    }

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
  issue: (line: string) => Promise<IssuedTokens>,
  parallel?: Parallel,
): Promise<void> {
  if (process.stdin.isTTY) throw new UsageError('--batch reads NDJSON claim sets from stdin: pipe them in')
  let issued = 0
  let failed = 0
  // Lines go out in chunks (a write per line costs more than signing), waiting for stdout to
  // drain so that memory stays flat however long the input.
  let output: string[] = []
  const flush = async () => {
    const chunk = output.join('')
    output = []
    if (chunk && !process.stdout.write(chunk)) await once(process.stdout, 'drain')
  }

  let pool: undefined | WorkerPool
  let pending: string[] = []
  const fail = (exitCode: number) => {
    if (failed++ === 0) process.exitCode = exitCode
  }

  for await (const raw of createInterface({crlfDelay: Infinity, input: process.stdin})) {
    const line = raw.trim()
    if (line === '') continue
    if (pool) {
      pending.push(line)
      if (pending.length >= CHUNK_LINES) {
        await pool.submit(pending)
        pending = []
      }

      continue
    }

    let out: object
    try {
      out = await issue(line)
      issued++
    } catch (error) {
      // Whatever failed on this line is reported on it: the batch goes on.
      const {code, exitCode, message} = isJwtisError(error)
        ? error
        : {code: 'INTERNAL', exitCode: 70, message: `internal error: ${(error as Error).message}`}
      out = {error: {code, message}}
      fail(exitCode)
    }

    output.push(`${JSON.stringify(out)}\n`)
    if (output.length >= 256) await flush()
    if (parallel && !pool) {
      await flush()
      pool = await WorkerPool.start(parallel, async (done) => {
        issued += done.out.split('\n').length - 1 - done.failed
        for (let i = 0; i < done.failed; i++) fail(done.firstExit ?? 70)
        if (!process.stdout.write(done.out)) await once(process.stdout, 'drain')
      })
    }
  }

  if (pool) {
    if (pending.length > 0) await pool.submit(pending)
    await pool.finish()
  }

  await flush()
  ctx.logErr(`${issued} issued, ${failed} failed`)
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
  private nextOut = 0
  private nextSeq = 0
  private writing = Promise.resolve()

  private constructor(
    private readonly workers: Worker[],
    private readonly write: (done: BatchDone) => Promise<void>,
  ) {
    for (const worker of workers) {
      worker.on('message', (message: BatchDone) => this.received(message))
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

  async submit(lines: string[]): Promise<void> {
    while (this.inFlight >= this.workers.length * 2 && !this.failure) await this.slot()
    if (this.failure) return // finish() reports it
    const seq = this.nextSeq++
    this.inFlight++
    this.workers[seq % this.workers.length].postMessage({lines, seq} satisfies BatchChunk)
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
