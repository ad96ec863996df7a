/**
 * A Redis link's failures are RedisErrors carrying the code of the one using it (the token store's
 * STORE_UNAVAILABLE, a Redis vault's VAULT_UNAVAILABLE), never a password in the message.
 */
import {createServer} from 'node:net'
import {describe, expect, it} from 'vitest'

import {RedisError, UsageError} from '../../src/common/errors.js'
import {RedisLink} from '../../src/redis/link.js'

/** A loopback port nothing listens on (taken, then given back). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => {
    server.close(resolve)
  })
  return port
}

describe('a Redis link that cannot connect', () => {
  it.each([
    ['STORE_UNAVAILABLE', 'the Redis store'],
    ['VAULT_UNAVAILABLE', 'the Redis vault'],
  ] as const)('fails with a RedisError %s naming %s and where, without the password', async (code, what) => {
    const port = await closedPort()
    const error = await RedisLink.connect(`redis://user:s3cret-pw@127.0.0.1:${port}/2?name=x`, code, what).catch(
      (error_: unknown) => error_,
    )
    expect(error).toBeInstanceOf(RedisError)
    expect(error).toMatchObject({code, message: expect.stringContaining(`cannot use ${what} at 127.0.0.1:${port}/2: `)})
    expect((error as Error).message).not.toContain('s3cret-pw')
  })

  it('refuses a URL that does not parse as a usage error (a mistyped value, not a Redis away), the URL redacted', async () => {
    const error = await RedisLink.connect('redis://:pw@[bad', 'STORE_UNAVAILABLE', 'the Redis store').catch(
      (error_: unknown) => error_,
    )
    expect(error).toBeInstanceOf(UsageError)
    expect(error).toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/is not a valid redis:\/\/ URL$/),
    })
    expect((error as Error).message).not.toContain(':pw@')
  })
})
