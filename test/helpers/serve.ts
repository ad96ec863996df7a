import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

import {BIN, cleanEnv, jwtisOk, NODE, scratch} from './cli.js'

export interface Served {
  admin: string
  child: ChildProcess
  exited: Promise<{code: null | number; signal: NodeJS.Signals | null}>
  /** Sends a JSON request; answers status and parsed body. */
  request: (method: string, path: string, body?: unknown, bearer?: string) => Promise<{body: any; status: number}>
  stderr: () => string
  /** stderr as the JSON lines it is when not a terminal (a line that does not parse fails the test). */
  stderrLines: () => Array<Record<string, unknown>>
  stop: (signal?: NodeJS.Signals) => Promise<void>
  url: string
}

/**
 * Starts `jwtis serve` as a real process and waits for its ready line. It listens on port 0 and
 * the ready line says which port the kernel gave it: a port picked free beforehand could be taken
 * by another test before serve binds it.
 */
export async function serve(
  vault: string,
  env: Record<string, string>,
  args: string[] = [],
  host = '127.0.0.1',
  /** A port of its own (a vault whose issuer is this server's URL needs it known beforehand). */
  port = 0,
): Promise<Served> {
  const child = spawn(NODE, [BIN, 'serve', '--vault', vault, '--listen', `${host}:${port}`, '--json', ...args], {
    env: cleanEnv({JWTIS_ADMIN_TOKEN: 'test-admin-token', ...env}),
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const exited = new Promise<{code: null | number; signal: NodeJS.Signals | null}>((resolve) => {
    child.on('exit', (code, signal) => resolve({code, signal}))
  })
  const ready = await new Promise<{listening: string}>((resolve, reject) => {
    const lines = createInterface({input: child.stdout!})
    lines.once('line', (line) => resolve(JSON.parse(line)))
    // (close, not exit: by then all of stderr has been read, for the message)
    child.once('close', (code) => reject(new Error(`jwtis serve exited ${code}: ${stderr}`)))
  })
  const url = ready.listening
  return {
    admin: env.JWTIS_ADMIN_TOKEN ?? 'test-admin-token',
    child,
    exited,
    async request(method, path, body, bearer) {
      const res = await fetch(`${url}${path}`, {
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: {
          ...(body === undefined ? {} : {'content-type': 'application/json'}),
          ...(bearer ? {authorization: `Bearer ${bearer}`} : {}),
        },
        method,
      })
      const text = await res.text()
      let parsed: unknown = text
      try {
        parsed = JSON.parse(text)
      } catch {}

      return {body: parsed, status: res.status}
    },
    stderr: () => stderr,
    stderrLines: () => jsonLines(stderr),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
    url,
  }
}

/** Every complete line of serve's stderr, parsed: each one must be JSON when stderr is not a terminal. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>
      } catch {
        throw new Error(`serve wrote a line that is not JSON on stderr: ${line}`)
      }
    })
}

/** The worker processes of a `serve` primary (ps exits 1 when there are none). */
export const workersOf = (pid: number): number[] =>
  spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], {encoding: 'utf8'})
    .stdout.split('\n')
    .map(Number)
    .filter(Boolean)

/**
 * POST /renew_token with a deadline, as real clients have: a request handed to a worker as it
 * was killed may never be answered. Undefined when it got no answer.
 */
export async function renewWithDeadline(
  url: string,
  clientToken: string,
  refreshToken: string,
  kid = 'app',
): Promise<undefined | {body: any; status: number}> {
  try {
    const res = await fetch(`${url}/renew_token`, {
      body: JSON.stringify({kid, refresh_token: refreshToken}),
      headers: {authorization: `Bearer ${clientToken}`, 'content-type': 'application/json'},
      method: 'POST',
      signal: AbortSignal.timeout(5000),
    })
    return {body: await res.json(), status: res.status}
  } catch {
    return undefined
  }
}

/**
 * A fresh vault with one client, `app`, whose refresh tokens rotate on every renewal
 * (refreshBoth), served with `args`: what the tests that kill workers under load start from.
 * `chains` refresh families of it, each with the last refresh token acknowledged.
 */
export async function serveRotatingClient(
  args: string[],
  chains: number,
): Promise<{chains: Array<{inFlight: boolean; last: string}>; server: Served; token: string}> {
  const s = scratch()
  const vault = join(s.dir, 'vault.age')
  await jwtisOk(['init', '--vault', vault], {env: s.env})
  const token = (
    await jwtisOk(['client', 'add', 'app', '--refresh-strategy', 'refreshBoth', '--vault', vault], {env: s.env})
  ).stdout.trim()
  const server = await serve(vault, s.env, args)
  const issued = await Promise.all(
    Array.from({length: chains}, async () => ({
      inFlight: false,
      last: (await server.request('POST', '/issue_token', {kid: 'app'}, token)).body.refresh_token as string,
    })),
  )
  return {chains: issued, server, token}
}
