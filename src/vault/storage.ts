/**
 * Where the sealed vault lives: a file, or a key in Redis. Storage only ever sees age-sealed
 * bytes and an opaque version; it never decrypts. Every write is `commit`: the newest bytes go
 * in, the bytes to store come out, and the storage makes that atomic against every other writer
 * (a file lock and an atomic rename; a compare-and-set on the version in Redis).
 */
export interface VaultStorage {
  /** Whether the stored version may differ from `version`, without I/O (asked on every request). */
  changedSince(version: string): boolean
  close(): Promise<void>
  /**
   * Runs `produce` on the newest stored version and stores what it returns; `produce` may run
   * more than once (Redis: after losing a race), always on the newest version. Returns the new
   * version.
   */
  commit(produce: (version: string, bytes: () => Promise<Uint8Array>) => Promise<Uint8Array>): Promise<string>
  /** Stores the first version; undefined when a vault is already there (it is left as it is). */
  create(bytes: Uint8Array): Promise<string | undefined>
  readonly kind: 'file' | 'redis'
  /** For people: a path, or a Redis URL without its password. */
  readonly location: string
  read(): Promise<{bytes: Uint8Array; version: string}>
  /** What opens this storage again (a path, or the whole URL): keep it in memory only. */
  readonly source: string
  /** The stored version, '' when there is none; cheap. */
  version(): Promise<string>
  /** Calls `onChange` soon after another writer commits (Redis pub/sub); absent for files. */
  watch?(onChange: () => void): Promise<void>
}

export interface StorageOptions {
  /** How long a write waits for other writers (the file lock, or Redis races) before VAULT_LOCKED. */
  lockTimeoutMs?: number
}

export const DEFAULT_LOCK_TIMEOUT_MS = 15_000
