import * as fc from 'fast-check'
/**
 * The reply guard: it follows RESP framing across any split of the stream, refuses a reply that
 * announces or grows past its limit before the payload arrives, and refuses what is not RESP.
 * The last test pins where it sits in the installed node-redis (a deep import of its decoder):
 * if an upgrade moves or reshapes it, that test fails here rather than the guard going missing.
 */
import {createRequire} from 'node:module'
import {describe, expect, it} from 'vitest'

import {guardReplies, ReplyGuard, ReplyRefused} from '../../src/redis/guard.js'

const MAX = 1024
const valid = [
  '+OK\r\n',
  '-ERR no such key\r\n',
  ':42\r\n',
  ':-7\r\n',
  '$5\r\nhello\r\n',
  '$0\r\n\r\n',
  '$-1\r\n',
  '*-1\r\n',
  '*0\r\n',
  '*2\r\n$3\r\nabc\r\n$-1\r\n', // what MGET of a vault and its version looks like
  `$${MAX - 10}\r\n${'x'.repeat(MAX - 10)}\r\n`, // a reply just under the limit
  '*3\r\n:1\r\n*2\r\n+a\r\n+b\r\n%1\r\n+k\r\n$1\r\nv\r\n',
  '_\r\n',
  '#t\r\n',
  ',3.14\r\n',
  ',-inf\r\n',
  '(12345678901234567890\r\n',
  '=8\r\ntxt:abcd\r\n',
  '~2\r\n:1\r\n:2\r\n',
  '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\n1\r\n',
  '!5\r\nERR x\r\n',
  '$4\r\na\r\nb\r\n', // CR and LF inside a bulk string are data
].join('')

/** Feeds `text` to a new guard in the given pieces; answers the refusal, if any. */
function feed(text: Buffer | string, cuts: number[] = []): ReplyRefused | undefined {
  const bytes = Buffer.from(text)
  const guard = new ReplyGuard(MAX)
  let from = 0
  try {
    for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
      guard.feed(bytes.subarray(from, cut))
      from = cut
    }
  } catch (error) {
    expect(error).toBeInstanceOf(ReplyRefused)
    return error as ReplyRefused
  }

  return undefined
}

describe('the RESP reply guard', () => {
  it('passes replies as Redis writes them, however the stream is cut', () => {
    expect(feed(valid)).toBeUndefined()
    expect(
      feed(
        valid,
        Array.from({length: valid.length}, (_, i) => i),
      ),
    ).toBeUndefined()
    fc.assert(
      fc.property(fc.array(fc.nat(valid.length)), (cuts) => feed(valid, cuts) === undefined),
      {seed: 20},
    )
  })

  it('refuses at the header a reply that announces more than the limit, before any of its payload', () => {
    for (const header of [
      '$2000000000\r\n',
      '*2\r\n$2000000000\r\n', // nested, as in an MGET reply
      `$${MAX + 1}\r\n`,
      '*2000000000\r\n', // the client would make an array of that length
      '%400\r\n', // 800 values of at least 3 bytes
      '>9999999999999\r\n',
    ]) {
      expect(feed(header)?.message, header).toMatch(/more than 1024 bytes/)
      // and when the header arrives a byte at a time
      expect(
        feed(
          header,
          Array.from({length: header.length}, (_, i) => i),
        )?.message,
      ).toMatch(/more than 1024 bytes/)
    }
  })

  it('refuses a reply that grows past the limit: a long simple string, many small values', () => {
    expect(feed(`+${'a'.repeat(MAX)}`, [100, 500])?.message).toMatch(/more than 1024 bytes/)
    expect(feed(`*300\r\n${':1\r\n'.repeat(300)}`)?.message).toMatch(/more than 1024 bytes/)
    // the limit is per reply: many replies in a row are fine
    expect(feed('+OK\r\n'.repeat(1000))).toBeUndefined()
  })

  it('refuses what is not RESP as Redis writes it, and everything after it', () => {
    for (const bad of [
      'HTTP/1.1 400 Bad Request\r\n',
      '|1\r\n+a\r\n+b\r\n+c\r\n', // attributes: the client cannot read them either
      '$3\r\nabcd\r\n', // longer than announced
      '+OK\r\r\n',
      ':12a\r\n',
      '$-2\r\n',
      `$${'9'.repeat(50)}\r\n`,
      '#true\r\n',
      '=2\r\nab\r\n',
    ]) {
      expect(feed(bad)?.message ?? `passed: ${bad}`).toMatch(/is that a Redis server\?/)
    }

    const guard = new ReplyGuard(MAX)
    expect(() => guard.feed(Buffer.from('?'))).toThrow(ReplyRefused)
    expect(() => guard.feed(Buffer.from('+OK\r\n'))).toThrow(ReplyRefused)
  })

  it("sits in front of the installed client's decoder: what it refuses never reaches the decoder", () => {
    guardReplies(MAX)
    const load = createRequire(createRequire(import.meta.url).resolve('redis'))
    const {Decoder} = load('@redis/client/dist/lib/RESP/decoder.js')
    const replies: unknown[] = []
    const decoder = () =>
      new Decoder({
        getTypeMapping: () => ({}),
        onErrorReply: (error: Error) => replies.push(error.message),
        onPush: (push: unknown) => replies.push(push),
        onReply: (reply: unknown) => replies.push(reply),
      })
    const d = decoder()
    d.write(Buffer.from('*2\r\n$3\r\nabc\r\n$-1\r\n'))
    d.write(Buffer.from('-ERR x\r\n'))
    expect(replies).toEqual([['abc', null], 'ERR x'])

    const hostile = decoder()
    expect(() => hostile.write(Buffer.from('*2\r\n$2000000000\r\n'))).toThrow(ReplyRefused)
    // the client resets its decoder after an error: the refusal stands for that connection
    hostile.reset()
    expect(() => hostile.write(Buffer.from('+OK\r\n'))).toThrow(ReplyRefused)
    expect(replies).toHaveLength(2)
    // a reset without a refusal (a reconnection) starts afresh
    const cut = decoder()
    cut.write(Buffer.from('$10\r\nabc'))
    cut.reset()
    cut.write(Buffer.from('+fresh\r\n'))
    expect(replies).toEqual([['abc', null], 'ERR x', 'fresh'])
  })
})
