import type {Worker} from 'node:cluster'

import type {Message} from './ipc.js'

import {Metrics, type MetricsSnapshot} from './metrics.js'

/** How long the primary waits for a worker's snapshot before leaving it out of a scrape. */
const SNAPSHOT_WAIT_MS = 1000

/**
 * The primary's side of /metrics with several workers: the worker that is scraped asks
 * (`metrics?`), and the answer is every live worker's snapshot summed, so that one scrape shows
 * the whole server whichever worker answers it.
 */
export class MetricsGatherer {
  private nextId = 0
  private readonly waiting = new Map<number, (snapshot: MetricsSnapshot) => void>()

  /** Takes the metrics messages of a worker (`live`: the workers to sum over); ignores the others. */
  handle(from: Worker, message: Message, live: () => Worker[]): void {
    if (message.type === 'metrics?')
      this.collect(live()).then((text) => from.send({id: message.id, text, type: 'metrics'} satisfies Message))
    else if (message.type === 'snapshot') this.waiting.get(message.id)?.(message.snapshot)
  }

  private async collect(workers: Worker[]): Promise<string> {
    const parts = await Promise.all(workers.map((worker) => this.snapshotOf(worker)))
    return Metrics.merged(parts.filter((p): p is MetricsSnapshot => p !== undefined)).render()
  }

  /** A worker's snapshot; undefined when it does not answer in time (rather than stalling the scrape). */
  private snapshotOf(worker: Worker): Promise<MetricsSnapshot | undefined> {
    return new Promise((resolve) => {
      const id = this.nextId++
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        // eslint-disable-next-line unicorn/no-useless-undefined -- no snapshot from this worker
        resolve(undefined)
      }, SNAPSHOT_WAIT_MS)
      this.waiting.set(id, (snapshot) => {
        clearTimeout(timer)
        this.waiting.delete(id)
        resolve(snapshot)
      })
      worker.send({id, type: 'snapshot?'} satisfies Message)
    })
  }
}

/**
 * A worker's side: answers the primary's `snapshot?` with its own metrics (once `local` gives
 * them), and returns what its /metrics route calls for the sum over all the workers.
 */
export function workerMetrics(local: () => Metrics | undefined): () => Promise<string> {
  const pending = new Map<number, (text: string) => void>()
  let nextId = 0
  process.on('message', (message: Message) => {
    const metrics = local()
    if (message.type === 'snapshot?' && metrics)
      process.send!({id: message.id, snapshot: metrics.snapshot(), type: 'snapshot'} satisfies Message)
    else if (message.type === 'metrics') pending.get(message.id)?.(message.text)
  })
  return () =>
    new Promise<string>((resolve) => {
      const id = nextId++
      pending.set(id, (text) => {
        pending.delete(id)
        resolve(text)
      })
      process.send!({id, type: 'metrics?'} satisfies Message)
    })
}
