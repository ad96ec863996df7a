import type {Cluster, Worker} from 'node:cluster'

import type {VaultKey} from '../vault/age.js'
import type {Message} from './ipc.js'

import {MetricsGatherer} from './cluster-metrics.js'
import {ready, type RunOptions, waitForSignal} from './instance.js'
import {serveLog} from './log.js'

/**
 * The primary: opens the vault once (so a wrong key or an unreachable store fails at once, in
 * this process, with its usual exit code), forks the workers and hands each the key.
 */
export async function runPrimary(options: RunOptions): Promise<void> {
  const cluster = (await import('node:cluster')).default
  const issuer = await options.openIssuer()
  await issuer.store()
  const key = issuer.vault.unlockKey()
  const vault = {issuer: issuer.vault.document.issuer.name, path: issuer.vault.path}
  await issuer.close()

  const supervisor = new Supervisor(cluster, options, key)
  const stop = waitForSignal(options.log)
  await supervisor.start(options.workers)
  ready(options, supervisor.port, vault, options.workers)
  await stop
  await supervisor.stop()
}

/** The workers: forked, handed the key, restarted when one dies, stopped together. */
class Supervisor {
  /** The port the workers listen on: the one given, or the one the kernel chose for 0. */
  port: number
  private listenPort: number
  private readonly listening = new Set<Worker>()
  private readonly live = new Set<Worker>()
  private readonly metrics = new MetricsGatherer()
  private stopping = false

  constructor(
    private readonly cluster: Cluster,
    private readonly options: RunOptions,
    private readonly key: VaultKey,
  ) {
    this.port = options.port
    this.listenPort = options.port
  }

  /** Starts `count` workers; when one cannot start, the others are stopped and its failure thrown. */
  async start(count: number): Promise<void> {
    try {
      await this.fork() // the first one binds the port (a fixed one, or the one the kernel chose for 0)
      await Promise.all(Array.from({length: count - 1}, () => this.fork()))
    } catch (error) {
      this.stopping = true
      for (const worker of this.live) worker.kill()
      throw error
    }
  }

  /** SIGTERM to every worker (each finishes its requests in flight); resolves when all have exited. */
  async stop(): Promise<void> {
    this.stopping = true
    await Promise.all(
      [...this.live].map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve())
            worker.process.kill('SIGTERM')
          }),
      ),
    )
  }

  /** One worker, resolved once it listens; rejected with its failure when it cannot start. */
  private fork(): Promise<void> {
    return new Promise((resolve, reject) => {
      // Each worker's own libuv pool serves its file store: more threads keep more I/O in flight.
      const worker = this.cluster.fork({UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '16'})
      this.live.add(worker)
      let failed = false
      worker.on('message', (message: Message) => {
        switch (message.type) {
          case 'failed': {
            failed = true // it could not start: starting another would fail the same way
            reject(Object.assign(new Error(message.error.message), message.error))
            break
          }

          case 'hello': {
            this.hand(worker)
            break
          }

          case 'listening': {
            if (this.listens(worker, message.port)) resolve()
            break
          }

          default: {
            this.metrics.handle(worker, message, () => [...this.live])
          }
        }
      })
      worker.on('exit', (code, signal) => {
        this.live.delete(worker)
        this.listening.delete(worker)
        if (this.stopping || failed) return
        serveLog('warn', `worker ${worker.process.pid} exited (${signal ?? code}); starting another`)
        this.fork().catch((error: Error) => serveLog('error', `cannot restart a worker: ${error.message}`))
      })
    })
  }

  /** Hands a worker that said hello its key, the admin token and the port to listen on. */
  private hand(worker: Worker): void {
    // Workers share the primary's socket only while they ask for the same address: with `:0`,
    // one started when no other is left listening would get a port of its own, so from then on
    // they ask for the port the first one was given.
    if (this.listening.size === 0) this.listenPort = this.port
    worker.send({
      adminToken: this.options.adminToken,
      key: this.key,
      port: this.listenPort,
      type: 'start',
    } satisfies Message)
  }

  /** Whether a worker listens where the others do (one that does not is stopped). */
  private listens(worker: Worker, port: number): boolean {
    if (this.port !== 0 && port !== this.port) {
      // (the last other worker died between this one's start and its listen)
      worker.kill()
      return false
    }

    this.port = port
    this.listening.add(worker)
    return true
  }
}
