import {createRequire} from 'node:module'

/** A reply a server sent that jwtis will not read: larger than the limit, or not RESP. */
export class ReplyRefused extends Error {
  override readonly name = 'ReplyRefused'
}

const TYPES = new Set(Buffer.from('+-:(,#_$!=*>~%'))
const BLOBS = new Set(Buffer.from('$!='))
const CR = 13
const LF = 10
const PLUS = 0x2b
const MINUS = 0x2d
/** The end of a blob: not a type byte, its line must be empty. */
const PAYLOAD_END = 0
/** A header line longer than this is not a length, a number or a flag. */
const MAX_HEADER = 40
/** What the fixed-form lines (:, (, ,, #, _) may hold: anything else would put the client's decoder out of step. */
const SCALAR: Record<string, RegExp> = {
  '#': /^[ft]$/,
  '(': /^[+-]?\d+$/,
  ',': /^(nan|[+-]?(inf|[\d.]+([Ee][+-]?\d+)?))$/,
  ':': /^[+-]?\d+$/,
  _: /^$/,
}

/**
 * Follows the framing of the RESP2/RESP3 replies on one connection, without decoding them, and
 * refuses (throws ReplyRefused) one that announces or grows to more than `max` bytes, before
 * any of it reaches a decoder that would buffer it: a blob's announced length is checked at its
 * header, so `$2000000000` followed by a trickle is refused at once. A header or framing that
 * is not RESP as Redis writes it is refused too: past it the replies can no longer be counted.
 */
export class ReplyGuard {
  /** Values still to read before the current reply is whole; 0 between replies. */
  private expected = 0
  /** Bytes of the current reply so far. */
  private size = 0
  private state: 'lf' | 'line' | 'payload' | 'type' = 'type'
  /** The type byte of the line being read (PAYLOAD_END after a blob), and its text when it is parsed. */
  private type = 0
  private line = ''
  /** Payload bytes still to come in the current blob. */
  private left = 0
  /** Set once a reply was refused: nothing more is read on this connection. */
  refused: ReplyRefused | undefined

  constructor(private readonly max: number) {}

  feed(chunk: Buffer): void {
    if (this.refused) throw this.refused
    try {
      this.scan(chunk)
    } catch (error) {
      this.refused = error as ReplyRefused
      throw error
    }
  }

  private scan(chunk: Buffer): void {
    for (let i = 0; i < chunk.length;) {
      if (this.expected === 0) {
        this.expected = 1
        this.size = 0
      }

      const start = i
      switch (this.state) {
        case 'lf': {
          if (chunk[i++] !== LF) throw notResp('a line not ended by CRLF')
          this.state = 'type'
          this.endLine()
          break
        }

        case 'line': {
          const cr = chunk.indexOf(CR, i)
          const end = cr === -1 ? chunk.length : cr
          // simple strings and errors are counted, not kept; every other line is short
          if (this.type !== PLUS && this.type !== MINUS) {
            this.line += chunk.toString('latin1', i, end)
            if (this.line.length > MAX_HEADER) throw notResp('a header line too long')
          }

          i = end
          if (cr !== -1) {
            i++
            this.state = 'lf'
          }

          break
        }

        case 'payload': {
          const take = Math.min(this.left, chunk.length - i)
          i += take
          this.left -= take
          if (this.left === 0) this.startLine(PAYLOAD_END)
          break
        }

        case 'type': {
          const type = chunk[i++]
          if (!TYPES.has(type)) throw notResp(`a reply of unknown type 0x${type.toString(16)}`)
          this.startLine(type)
          break
        }
      }

      this.size += i - start
      if (this.size > this.max) throw this.tooLarge()
    }
  }

  private startLine(type: number): void {
    this.state = 'line'
    this.type = type
    this.line = ''
  }

  /** A line is complete: the value it ends is read, and those it announces are to come. */
  private endLine(): void {
    this.expected += this.announced() - 1
  }

  /** Checks the line just read; answers how many values it announces (a blob: its payload; an aggregate: its members). */
  private announced(): number {
    const {line, type} = this
    const char = String.fromCodePoint(type)
    if (type === PAYLOAD_END) {
      if (line !== '') throw notResp('a bulk string longer than announced')
      return 0
    }

    if (char === '+' || char === '-') return 0
    if (SCALAR[char]) {
      if (!SCALAR[char].test(line)) throw notResp(`a malformed "${char}" reply`)
      return 0
    }

    // the client reads "-1" as a null only for these types
    if (line === '-1' && '$!*>'.includes(char)) return 0
    if (!/^\d+$/.test(line)) throw notResp(`a malformed "${char}" header`)
    const n = Number(line)
    if (BLOBS.has(type)) {
      if (char === '=' && n < 4) throw notResp('a malformed verbatim string')
      if (this.size + n + 2 > this.max) throw this.tooLarge()
      this.left = n
      this.state = 'payload'
      if (n === 0) this.startLine(PAYLOAD_END)
      return 1
    }

    // an aggregate: each of its values takes at least 3 bytes ("_\r\n")
    const values = char === '%' ? 2 * n : n
    if (this.size + 3 * values > this.max) throw this.tooLarge()
    return values
  }

  private tooLarge(): ReplyRefused {
    return new ReplyRefused(`it sent a reply of more than ${size(this.max)}, more than jwtis reads: refused unread`)
  }
}

const size = (bytes: number) => (bytes >= 2 ** 20 ? `${Math.floor(bytes / 2 ** 20)} MiB` : `${bytes} bytes`)
const notResp = (what: string) => new ReplyRefused(`it sent ${what}: is that a Redis server?`)

const GUARDED = Symbol.for('jwtis.replyGuard')

/**
 * Puts a ReplyGuard in front of every RESP decoder of the node-redis client. The client has no
 * reply size limit, and its decoder buffers a bulk string of whatever length a server announces
 * (2 GB from anything listening on the port is 4 GB resident, then a crash). `Decoder.write` is
 * where every byte a server sends enters the client: the guard sees each chunk first, and a
 * refusal throws there, which the client reports as an `error` event of the connection (the
 * caller closes it). test/redis/guard.test.ts pins this against the installed client.
 */
export function guardReplies(max: number): void {
  // resolved from `redis` itself, so it is the copy of @redis/client that `redis` loads
  const load = createRequire(createRequire(import.meta.url).resolve('redis'))
  const {Decoder} = load('@redis/client/dist/lib/RESP/decoder.js') as {Decoder?: {prototype: DecoderMethods}}
  const proto = Decoder?.prototype
  if (typeof proto?.write !== 'function' || typeof proto.reset !== 'function')
    throw new Error(
      'the installed redis client has no RESP decoder where jwtis guards it: its replies cannot be bounded',
    )
  if (proto[GUARDED]) return
  const guards = new WeakMap<object, ReplyGuard>()
  const {reset, write} = proto
  proto.write = function (chunk) {
    let guard = guards.get(this)
    if (!guard) guards.set(this, (guard = new ReplyGuard(max)))
    guard.feed(chunk)
    write.call(this, chunk)
  }

  // a reconnection starts the stream afresh; a refusal stands (its connection is being closed)
  proto.reset = function () {
    if (!guards.get(this)?.refused) guards.delete(this)
    reset.call(this)
  }

  proto[GUARDED] = true
}

interface DecoderMethods {
  [GUARDED]?: boolean
  reset(this: object): void
  write(this: object, chunk: Buffer): void
}
