import {randomBytes} from 'node:crypto'

import {UsageError, VaultError} from '../common/errors.js'
import {redactUrl} from '../common/redact.js'
import {RedisLink} from '../redis/link.js'
import {armor, ARMOR_BEGIN} from './age.js'
import {DEFAULT_LOCK_TIMEOUT_MS, type StorageOptions, type VaultStorage} from './storage.js'

/**
 * Stores the sealed bytes if the version is still the one they were made from, and says so on
 * the change channel. KEYS: bytes, version, writer. ARGV: expected version, bytes, writer nonce,
 * channel. Returns the new version, or false when another writer came first; a repeat of a
 * write that landed (its reply lost, the call retried) returns the version it made.
 */
const CAS = `
local v = redis.call('GET', KEYS[2])
if v ~= ARGV[1] then
  if v and redis.call('GET', KEYS[3]) == ARGV[3] then return v end
  return false
end
local n = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
redis.call('PUBLISH', ARGV[4], n)
return tostring(n)
`

/** The first version, only where there is no vault yet. Same KEYS and ARGV as CAS. */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], '1')
redis.call('SET', KEYS[3], ARGV[3])
redis.call('PUBLISH', ARGV[4], '1')
return '1'
`

/**
 * A vault kept in Redis: `redis://[user:pass@]host:port[/db][?name=NAME]`. The key
 * `jwtis:vault:{NAME}` (NAME `default` unless given) holds exactly the bytes a vault file holds
 * (ASCII-armored age, so `redis-cli --raw GET 'jwtis:vault:{default}' | age -d -i identity.txt`
 * opens it), `…:version` counts the writes, `…:writer` names the last writer, and every write is
 * announced on the channel `…:changed`. The hash tag keeps the three keys in one cluster slot,
 * so the compare-and-set is one script.
 */
export class RedisStorage implements VaultStorage {
  readonly kind = 'redis'
  private stale = false
  private readonly keys: string[]
  private readonly channel: string

  private constructor(
    private readonly link: RedisLink,
    readonly source: string,
    readonly location: string,
    name: string,
    private readonly options: StorageOptions,
  ) {
    const base = `jwtis:vault:{${name}}`
    this.keys = [base, `${base}:version`, `${base}:writer`]
    this.channel = `${base}:changed`
  }

  static async connect(url: string, options: StorageOptions = {}): Promise<RedisStorage> {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new UsageError(`${redactUrl(url)} is not a valid redis:// URL`)
    }

    const name = parsed.searchParams.get('name') ?? 'default'
    if (!/^[\w.-]{1,64}$/.test(name))
      throw new UsageError(`vault name "${name}" in the URL: use letters, digits, ".", "_" or "-"`)
    parsed.search = ''
    const link = await RedisLink.connect(parsed.href, 'VAULT_UNAVAILABLE', 'the Redis vault')
    const location = `${redactUrl(parsed.href).replace(/\/$/, '')}${name === 'default' ? '' : `?name=${name}`}`
    return new RedisStorage(link, url, location, name, options)
  }

  changedSince(): boolean {
    return this.stale
  }

  async close(): Promise<void> {
    await this.link.close()
  }

  async commit(produce: (version: string, bytes: () => Promise<Uint8Array>) => Promise<Uint8Array>): Promise<string> {
    const deadline = Date.now() + (this.options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS)
    for (let attempt = 0; ; attempt++) {
      const {bytes, version} = await this.read()
      const next = await produce(version, async () => bytes)
      const landed = await this.write(CAS, version, next)
      if (landed !== null) return landed
      // Another writer came first: wait a little (jittered, so racers spread out) and apply the
      // change again to what it wrote.
      if (Date.now() > deadline)
        throw new VaultError(
          'VAULT_LOCKED',
          `the vault at ${this.location} kept changing under this write (${attempt + 1} tries); nothing was written, retry`,
        )
      await new Promise((resolve) => {
        setTimeout(resolve, Math.random() * Math.min(20 * 2 ** attempt, 500))
      })
    }
  }

  async create(bytes: Uint8Array): Promise<string | undefined> {
    return (await this.write(CREATE, '', bytes)) ?? undefined
  }

  async read(): Promise<{bytes: Uint8Array; version: string}> {
    const [text, version] = await this.link.send<Array<null | string>>(this.keys[0], [
      'MGET',
      this.keys[0],
      this.keys[1],
    ])
    if (text === null)
      throw new VaultError(
        'VAULT_NOT_FOUND',
        `no vault at ${this.location}: create one with \`jwtis init --vault URL\`, or copy one in with \`jwtis vault copy FILE URL\``,
      )
    this.stale = false
    return {bytes: Buffer.from(text, 'utf8'), version: version ?? ''}
  }

  async version(): Promise<string> {
    return (await this.link.send<null | string>(this.keys[1], ['GET', this.keys[1]])) ?? ''
  }

  async watch(onChange: () => void): Promise<void> {
    await this.link.subscribe(this.channel, () => {
      this.stale = true
      onChange()
    })
  }

  private async write(script: string, expected: string, bytes: Uint8Array): Promise<null | string> {
    const nonce = randomBytes(12).toString('base64url')
    const version = await this.link.script(script, this.keys, [expected, armored(bytes), nonce, this.channel])
    return typeof version === 'string' ? version : null
  }
}

/**
 * The text stored: armored age as it is; a binary age file (a vault written before vaults were
 * armored) armored on the way in. Armor is an encoding, not a re-encryption: `age -d` reads both,
 * and `redis-cli --raw GET` adds a newline that only the armored form tolerates.
 */
function armored(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('latin1')
  return text.startsWith(ARMOR_BEGIN) ? text : armor(bytes)
}
