import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
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

export interface RedisServer {
  port: number
  /** Starts it again on the same port (and, when persistent, with the data it had). */
  restart: () => Promise<void>
  stop: (signal?: NodeJS.Signals) => Promise<void>
  url: string
}

/**
 * A throwaway Debian redis-server on a free loopback port. No persistence unless `dir` is given
 * (then, unless a cluster node, an fsync-always append-only file there, so a killed server
 * comes back with every acknowledged write); `cluster` starts it as a cluster node.
 */
export async function startRedis(
  options: {cluster?: boolean; dir?: string; password?: string; port?: number} = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freePort())
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    ...(options.dir ? ['--dir', options.dir] : []),
    ...(options.dir && !options.cluster ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(options.cluster
      ? ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000']
      : []),
    ...(options.password ? ['--requirepass', options.password] : []),
  ]
  const url = `redis://${options.password ? `:${options.password}@` : ''}127.0.0.1:${port}`
  let child: ChildProcess
  const start = async () => {
    child = spawn('redis-server', args, {cwd: options.dir, stdio: 'ignore'})
    await waitForRedis(url)
  }

  await start()
  return {
    port,
    restart: start,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill(signal)
      await new Promise((r) => {
        child.once('exit', r)
      })
    },
    url,
  }
}

async function waitForRedis(url: string): Promise<void> {
  const {createClient} = await import('redis')
  for (let i = 0; ; i++) {
    const probe = createClient({socket: {reconnectStrategy: false}, url})
    probe.on('error', () => {})
    try {
      await probe.connect()
      await probe.ping()
      await probe.close()
      return
    } catch {
      if (i > 100) throw new Error('redis-server did not start')
      await sleep(50)
    }
  }
}

/**
 * A Redis Cluster of three masters on loopback, made as a user would: three `redis-server
 * --cluster-enabled yes` and `redis-cli --cluster create`. Resolves once every slot is served.
 */
export async function startRedisCluster(dir: string): Promise<{stop: () => Promise<void>; url: string}> {
  const nodes = await Promise.all([0, 1, 2].map(() => startRedis({cluster: true, dir})))
  const created = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
    {encoding: 'utf8'},
  )
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`)
  for (let i = 0; ; i++) {
    const info = spawnSync('redis-cli', ['-p', String(nodes[0].port), 'CLUSTER', 'INFO'], {encoding: 'utf8'}).stdout
    if (/cluster_state:ok/.test(info)) break
    if (i > 100) throw new Error(`the cluster did not come up: ${info}`)
    await sleep(100)
  }

  return {
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()))
    },
    url: nodes[0].url,
  }
}
