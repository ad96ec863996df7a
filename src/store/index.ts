import type {TokenStore} from './store.js'

import {env} from '../common/config.js'
import {UsageError} from '../common/errors.js'
import {redactUrl} from '../common/redact.js'
import {isRedisUrl, redisUrl} from '../redis/url.js'

export type {Family, FamilyStatus, StoredFamily, Subject, TokenStore} from './store.js'

/**
 * The store a command uses, decided here only: `--store`, else JWTIS_STORE, else the vault's own
 * Redis when the vault is kept there (one service to run), else the file store beside the vault.
 */
export function storeChoice(flag: string | undefined, vault?: {inRedis: boolean; source: string}): string {
  return flag ?? env('JWTIS_STORE') ?? (vault?.inRedis ? vault.source : 'file')
}

/**
 * Opens the store a `--store` value names: `file` (default: beside the vault), `memory`, or
 * `redis://host:port[/db]` (shared by several `serve` instances; keys namespaced by issuer).
 * The file and Redis stores need the vault's `storeKey` (see storeKeyOf) to hash subjects.
 */
export async function openStore(
  spec: string | undefined,
  vaultPath: string,
  issuer: string,
  options: {groupCommit?: boolean; storeKey?: string} = {},
): Promise<TokenStore> {
  const {storeKey} = options
  const value = spec ?? 'file'
  if (value === 'file') {
    if (isRedisUrl(vaultPath))
      throw new UsageError(
        'the file store lives beside a vault file: with a vault in Redis, keep the tokens there too (the default) or use --store memory',
      )
    const {FileStore} = await import('./file.js')
    return new FileStore(`${vaultPath}.tokens`, {groupCommit: options.groupCommit, storeKey: needed(storeKey)})
  }

  if (value === 'memory') {
    const {MemoryStore} = await import('./memory.js')
    return new MemoryStore()
  }

  if (isRedisUrl(value)) {
    const {RedisStore} = await import('./redis.js')
    return RedisStore.connect(redisUrl(value), issuer, needed(storeKey))
  }

  throw new UsageError(`unknown store "${redactUrl(value)}": use file, memory, or a redis:// or rediss:// URL`)
}

function needed(storeKey: string | undefined): string {
  if (storeKey === undefined)
    throw new TypeError('openStore: the file and Redis stores need storeKey (storeKeyOf(vault.document))')
  return storeKey
}
