import type {VaultKey} from '../vault/age.js'
import type {MetricsSnapshot} from './metrics.js'

/**
 * What the `serve` primary and its workers say to each other over IPC. A worker says hello once
 * it listens for messages and gets its key and port (`start`); it answers `listening`, or
 * `failed` when it cannot start. The `metrics` and `snapshot` pairs sum /metrics over all the
 * workers (./cluster-metrics.ts).
 */
export type Message =
  | {adminToken: string; key: VaultKey; port: number; type: 'start'}
  | {error: StartFailure; type: 'failed'}
  | {id: number; snapshot: MetricsSnapshot; type: 'snapshot'}
  | {id: number; text: string; type: 'metrics'}
  | {id: number; type: 'metrics?'}
  | {id: number; type: 'snapshot?'}
  | {port: number; type: 'listening'}
  | {type: 'hello'}

/** Why a worker could not start, as the primary rethrows it (its error code included). */
export interface StartFailure {
  address?: string
  code?: string
  message: string
  port?: number
}
