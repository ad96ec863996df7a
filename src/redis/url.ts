import {resolve} from 'node:path'

/** Whether a location names Redis. URL schemes are case-insensitive (RFC 3986 §3.1): Redis:// is redis://. */
export const isRedisUrl = (value: string): boolean => /^rediss?:\/\//i.test(value)

/** A Redis URL with its scheme in lower case, as the client expects it. */
export const redisUrl = (value: string): string => value.replace(/^[a-z]+/i, (scheme) => scheme.toLowerCase())

/** Where a vault is, as given on the command line: a Redis URL, or a path made absolute. */
export const vaultLocation = (given: string): string => (isRedisUrl(given) ? redisUrl(given) : resolve(given))

/** Whether a Redis URL carries a password: such a URL never goes into a settings file. */
export function hasPassword(value: string): boolean {
  try {
    return isRedisUrl(value) && new URL(value).password !== ''
  } catch {
    return false
  }
}
