import {createHash} from 'node:crypto'

import {RedisError, type RedisErrorCode, UsageError} from '../common/errors.js'
import {MAX_VAULT_BYTES} from '../common/limits.js'
import {redact, redactUrl} from '../common/redact.js'
import {guardReplies, ReplyRefused} from './guard.js'

/**
 * One connection to Redis, or to a Redis Cluster, shared by the token store and the Redis vault.
 * A URL names a cluster when the server it points at says so (`INFO cluster`): the link then
 * routes every command by its first key, follows MOVED/ASK itself, and retries a command that
 * failed while a slot was moving or a replica was taking over, for at most RETRY_MS.
 *
 * Everything goes through `send` (raw commands) and `script` (EVALSHA): the plain client and the
 * cluster client share no typed API worth the union types, and raw commands keep both the same.
 */
export class RedisLink {
  private readonly shas = new Map<string, string>()

  private constructor(
    private readonly client: SingleClient | undefined,
    private readonly cluster: ClusterClient | undefined,
    /** host:port[/db], for messages: never the password. */
    readonly where: string,
    private readonly failure: (error: unknown) => RedisError,
    private readonly subscriber: () => Promise<Subscriber>,
    /** Whether a refused reply closed the connection (then there is nothing to retry). */
    private readonly refused: () => boolean,
  ) {}

  /**
   * Connects, or fails with `code` within CONNECT_TIMEOUT_MS whatever goes wrong (an unreachable
   * host, a wrong password, no password, a bad database index): the first attempt is never
   * retried. Once connected, a lost connection is re-established in the background and commands
   * fail at once meanwhile (no offline queue), so callers answer 503 instead of hanging.
   */
  static async connect(url: string, code: RedisErrorCode, what: string): Promise<RedisLink> {
    const {href, where} = target(url)
    // A reply the guard refused closes its connection for good (the stream can no longer be
    // trusted, and a server trickling 2 GB would hold it forever): the commands waiting on it,
    // and every later one, fail with that reason rather than the client's "closed".
    let refused: ReplyRefused | undefined
    const isRefused = () => refused !== undefined
    const why = (error: unknown) => redact(describeRedisError(refused ?? error))
    const failure = (error: unknown) => new RedisError(code, `${what} at ${where} failed: ${why(error)}`)
    const cannotUse = (error: unknown) => new RedisError(code, `cannot use ${what} at ${where}: ${why(error)}`)
    const closeOnRefusal = (connection: {destroy(): void}) => (error: unknown) => {
      if (!(error instanceof ReplyRefused)) return // reconnects on its own; commands fail meanwhile and say so
      refused ??= error
      try {
        connection.destroy()
      } catch {} // already closed by an earlier refusal
    }

    // Loaded here, not at the top: only a command that uses Redis pays for the client.
    const {createClient, createCluster} = await import('redis')
    guardReplies(MAX_REPLY_BYTES)
    let connected = false
    const socket = {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(retries * 100, 1000) : cause),
    }
    const client = createClient({disableOfflineQueue: true, socket, url: href})
    client.on('error', closeOnRefusal(client))
    let isCluster = false
    await withDeadline(
      async () => {
        await client.connect()
        const info = String(await client.sendCommand(['INFO', 'cluster']))
        isCluster = /cluster_enabled:1/.test(info)
      },
      () => client.destroy(),
      cannotUse,
    )
    connected = true
    if (!isCluster) {
      const subscriber = async () => {
        const sub = client.duplicate()
        sub.on('error', closeOnRefusal(sub))
        await sub.connect()
        return sub as unknown as Subscriber
      }

      return new RedisLink(client as SingleClient, undefined, where, failure, subscriber, isRefused)
    }

    client.destroy()
    const cluster = createCluster(clusterOptions(href))
    // a node's connection reports on `node-error`; the cluster's own (slot discovery) on `error`
    cluster.on('error', closeOnRefusal(cluster)).on('node-error', closeOnRefusal(cluster))
    await withDeadline(
      () => cluster.connect().then(() => {}),
      () => cluster.destroy(),
      cannotUse,
    )
    const shared = cluster as unknown as ClusterClient & Subscriber
    return new RedisLink(undefined, shared, where, failure, async () => shared, isRefused)
  }

  async close(): Promise<void> {
    const {client, cluster} = this
    this.subscribed?.then((s) => s !== (cluster as unknown) && s.destroy()).catch(() => {})
    // closed already when a refused reply closed it
    if (client?.isOpen) await client.close().catch(() => client.destroy())
    if (cluster?.isOpen) await cluster.close().catch(() => cluster.destroy())
  }

  /**
   * Runs a Lua script with EVALSHA, in one round trip. A server that does not know it yet (or
   * forgot it: a restart, SCRIPT FLUSH) answers NOSCRIPT: it is loaded there (SCRIPT LOAD routed
   * by the same key) and run again.
   */
  async script(source: string, keys: string[], args: string[]): Promise<unknown> {
    let sha = this.shas.get(source)
    if (sha === undefined) {
      sha = createHash('sha1').update(source).digest('hex')
      this.shas.set(source, sha)
    }

    const evalsha = [sha, String(keys.length), ...keys, ...args]
    return this.call(keys[0], async (send) => {
      try {
        return await send(['EVALSHA', ...evalsha])
      } catch (error) {
        if (!/NOSCRIPT/.test((error as Error).message)) throw error
        await send(['SCRIPT', 'LOAD', source])
        return send(['EVALSHA', ...evalsha])
      }
    })
  }

  /** One command, routed (in a cluster) by `key`. */
  async send<T = unknown>(key: string | undefined, args: string[]): Promise<T> {
    return this.call(key, (send) => send(args)) as Promise<T>
  }

  private subscribed: Promise<Subscriber> | undefined

  /** Calls `listener` for each message on `channel` (a connection of its own; the cluster's pub/sub node). */
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    this.subscribed ??= this.subscriber()
    const sub = await this.subscribed
    await sub.subscribe(channel, listener)
  }

  /**
   * Runs `op` against the node owning `key`. Errors are this link's failure (a RedisError: STORE_UNAVAILABLE
   * or VAULT_UNAVAILABLE, exit 3, HTTP 503), never a bug. In a cluster, the errors of a slot on
   * the move or a failover in progress are retried for RETRY_MS; every caller's operation is
   * safe to repeat (the scripts are written so that a repeat of a write that landed is seen as
   * landed).
   */
  private async call(key: string | undefined, op: (send: (args: string[]) => Promise<unknown>) => Promise<unknown>) {
    const send = this.cluster
      ? (args: string[]) => this.cluster!.sendCommand(key, false, args)
      : (args: string[]) => this.client!.sendCommand(args)
    const deadline = Date.now() + (this.cluster ? RETRY_MS : 0)
    for (let attempt = 0; ; attempt++) {
      try {
        return await op(send)
      } catch (error) {
        if (this.refused() || (isReplyError(error) && !TRANSIENT.test((error as Error).message)))
          throw this.failure(error)
        if (Date.now() >= deadline) throw this.failure(error)
        await new Promise((resolve) => {
          setTimeout(resolve, Math.min(50 * (attempt + 1), 250))
        })
      }
    }
  }
}

/** The largest reply read from Redis: a vault of the largest size in an MGET reply, with its version and framing. */
const MAX_REPLY_BYTES = MAX_VAULT_BYTES + 1024
/** How long connecting (and authenticating) may take before Redis is reported unavailable. */
const CONNECT_TIMEOUT_MS = 5000
/** How long a cluster command is retried through a failover or a slot migration. */
const RETRY_MS = 2000
const TRANSIENT = /^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK|LOADING|MASTERDOWN|READONLY)\b/

type SingleClient = {
  close(): Promise<void>
  destroy(): void
  readonly isOpen: boolean
  sendCommand(args: string[]): Promise<unknown>
}
type ClusterClient = {
  close(): Promise<void>
  destroy(): void
  readonly isOpen: boolean
  sendCommand(key: string | undefined, readonly: boolean, args: string[]): Promise<unknown>
}
type Subscriber = {
  destroy(): void
  subscribe(channel: string, listener: (message: string) => void): Promise<void>
}

/** The URL the client is given (?name= and the like are jwtis's, not the client's) and host:port[/db] for messages. */
function target(url: string): {href: string; where: string} {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new UsageError(`${redactUrl(url)} is not a valid redis:// URL`)
  }

  u.search = ''
  return {href: u.href, where: `${u.hostname}:${u.port || 6379}${u.pathname.length > 1 ? u.pathname : ''}`}
}

/** A cluster found through the URL's server: the URL's credentials for every node it discovers. */
function clusterOptions(href: string) {
  const {hostname, password, port, username} = new URL(href)
  return {
    defaults: {
      disableOfflineQueue: true,
      ...(password ? {password: decodeURIComponent(password)} : {}),
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        reconnectStrategy: (retries: number) => Math.min(retries * 100, 1000),
      },
      ...(username ? {username: decodeURIComponent(username)} : {}),
    },
    rootNodes: [{url: `${href.startsWith('rediss:') ? 'rediss' : 'redis'}://${hostname}:${port || 6379}`}],
  }
}

function isReplyError(error: unknown): boolean {
  return (error as Error)?.constructor?.name === 'ErrorReply' || (error as Error)?.name === 'ErrorReply'
}

async function withDeadline(
  op: () => Promise<void>,
  abandon: () => void,
  fail: (error: unknown) => Error,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      op(),
      new Promise((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000}s`)),
          CONNECT_TIMEOUT_MS,
        )
      }),
    ])
  } catch (error) {
    try {
      abandon()
    } catch {}

    throw fail(error)
  } finally {
    clearTimeout(timer)
  }
}

function describeRedisError(error: unknown): string {
  const message = (error as Error)?.message ?? String(error)
  if (/WRONGPASS|invalid (username-)?password/i.test(message)) return 'wrong user name or password'
  if (/NOAUTH/i.test(message)) return 'the server needs a password: put it in the URL'
  if (/DB index is out of range|invalid DB index/i.test(message)) return 'no such database number on that server'
  if (/The client is closed|ClientClosed|offline/i.test(message)) return 'not connected (Redis is down or restarting)'
  return message || (error as Error)?.name || 'connection failed'
}
