import {createServer, type Socket} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'

export interface FakeRedis {
  /** When a hostile reply was announced, and when the client closed that connection (ms since the epoch). */
  announced?: number
  close: () => Promise<void>
  closed?: number
  /** Every command received, in order. */
  commands: string[][]
  /** Bytes of hostile payload written before the client closed the connection. */
  sent: number
  url: string
  /**
   * `closed`, once the client has hung up on the hostile reply, or undefined after `ms`: the
   * client's answer (an HTTP 503, an exit) can arrive before the fake sees the connection close.
   */
  whenClosed: (ms: number) => Promise<number | undefined>
}

const TRICKLE = Buffer.alloc(1 << 20, 'x')
/** Payload written before giving up: enough to show a client that buffers it, little enough not to hurt the machine. */
const MAX_TRICKLE = 256 * TRICKLE.length

/**
 * Anything listening where Redis should be: a loopback server speaking just enough RESP for
 * node-redis to connect (its CLIENT SETINFO, INFO, PING get plausible answers, anything else
 * +OK), which answers the commands `hostile` picks with a reply announcing 2 GB (GET: a bulk
 * string; MGET: an array holding one) and then trickles 1 MiB every 10 ms.
 */
export async function fakeRedis(hostile: (command: string[]) => boolean): Promise<FakeRedis> {
  const sockets = new Set<Socket>()
  let hungUp!: (at: number) => void
  const hangUp = new Promise<number>((resolve) => {
    hungUp = resolve
  })
  const fake: FakeRedis = {
    async close() {},
    commands: [],
    sent: 0,
    url: '',
    whenClosed: (ms) => Promise.race([hangUp, sleep(ms, undefined, {ref: false}).then(() => fake.closed)]),
  }
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    let pending = Buffer.alloc(0)
    socket.on('data', (data) => {
      pending = Buffer.concat([pending, data])
      for (let command = takeCommand(); command; command = takeCommand()) answer(socket, command)
    })
    socket.on('close', () => {
      sockets.delete(socket)
      if (fake.announced && !fake.closed) {
        fake.closed = Date.now()
        hungUp(fake.closed)
      }
    })

    /** One command (a RESP array of bulk strings) off the front of what was received, if whole. */
    function takeCommand(): string[] | undefined {
      const text = pending.toString('latin1')
      const head = /^\*(\d+)\r\n/.exec(text)
      if (!head) return undefined
      const args: string[] = []
      let at = head[0].length
      for (let i = 0; i < Number(head[1]); i++) {
        const arg = /^\$(\d+)\r\n/.exec(text.slice(at))
        if (!arg || text.length < at + arg[0].length + Number(arg[1]) + 2) return undefined
        at += arg[0].length
        args.push(text.slice(at, at + Number(arg[1])))
        at += Number(arg[1]) + 2
      }

      pending = pending.subarray(at)
      return args
    }
  })

  function answer(socket: Socket, command: string[]): void {
    fake.commands.push(command)
    const name = command[0].toUpperCase()
    if (hostile(command)) {
      fake.announced ??= Date.now()
      socket.write(name === 'MGET' ? '*2\r\n$2000000000\r\n' : '$2000000000\r\n')
      const timer = setInterval(() => {
        if (socket.destroyed || fake.sent >= MAX_TRICKLE) return clearInterval(timer)
        socket.write(TRICKLE)
        fake.sent += TRICKLE.length
      }, 10)
      socket.on('close', () => clearInterval(timer))
    } else
      switch (name) {
        // the token store's one-time look for logouts recorded in clear, on connecting: none
        case 'HEXISTS': {
          socket.write(':0\r\n')
          break
        }

        case 'HGETALL': {
          socket.write('*0\r\n')
          break
        }

        case 'INFO': {
          const info = '# Cluster\r\ncluster_enabled:0\r\n'
          socket.write(`$${info.length}\r\n${info}\r\n`)
          break
        }

        case 'PING': {
          socket.write('+PONG\r\n')
          break
        }

        default: {
          socket.write('+OK\r\n')
        }
      }
  }

  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  fake.url = `redis://127.0.0.1:${(server.address() as {port: number}).port}`
  fake.close = async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => {
      server.close(resolve)
    })
  }

  return fake
}
