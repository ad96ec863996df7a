import type {StorageOptions, VaultStorage} from './storage.js'

import {isRedisUrl, redisUrl} from '../redis/url.js'
import {FileStorage} from './file-storage.js'

/** The storage a vault location names: a redis:// or rediss:// URL, or a file path. */
export async function openStorage(given: string, options: StorageOptions = {}): Promise<VaultStorage> {
  if (isRedisUrl(given)) {
    const {RedisStorage} = await import('./redis-storage.js')
    return RedisStorage.connect(redisUrl(given), options)
  }

  return FileStorage.at(given, options)
}
