import {type ChildProcess, spawn} from 'node:child_process'
import {createServer} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

/** A throwaway Debian redis-server on a free loopback port, no persistence. */
export async function startRedis(
  options: {password?: string} = {},
): Promise<{port: number; stop: () => Promise<void>; url: string}> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      ...(options.password ? ['--requirepass', options.password] : []),
    ],
    {stdio: 'ignore'},
  )
  const {createClient} = await import('redis')
  const url = `redis://${options.password ? `:${options.password}@` : ''}127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    const probe = createClient({socket: {reconnectStrategy: false}, url})
    probe.on('error', () => {})
    try {
      await probe.connect()
      await probe.ping()
      await probe.close()
      break
    } catch {
      if (i > 100) throw new Error('redis-server did not start')
      await sleep(50)
    }
  }

  return {
    port,
    async stop() {
      child.kill('SIGTERM')
      await new Promise((r) => {
        child.once('exit', r)
      })
    },
    url,
  }
}
