/**
 * Issue 23 against the real `jwtis serve` process: its stderr is JSON lines, every one, when it
 * is not a terminal and text on a pseudo-terminal; request ids are unique across workers, an
 * incoming X-Request-Id is kept and echoed, a refused request's line names its code; the admin
 * token from JWTIS_ADMIN_TOKEN_FILE; the port range and the TLS reminder at start.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {request as httpRequest} from 'node:http'
import {join} from 'node:path'
import {beforeAll, describe, expect, it, vi} from 'vitest'

import {BIN, cleanEnv, hasTool, jwtis, jwtisOk, NODE, scratch} from '../helpers/cli.js'
import {jsonLines, serve, workersOf} from '../helpers/serve.js'

const ADMIN = 'admin-token-for-the-log-tests-0123456789'
const ADMIN_ENV = {JWTIS_ADMIN_TOKEN: ADMIN}
const s = scratch()
const vault = join(s.dir, 'vault.age')
beforeAll(async () => {
  await jwtisOk(['init', '--vault', vault], {env: s.env})
})

/** One request on a connection of its own (no keep-alive), so that requests spread over the workers. */
function call(
  url: string,
  {body, headers = {}, method = 'GET'}: {body?: unknown; headers?: Record<string, string>; method?: string},
): Promise<{body: any; headers: Record<string, unknown>; status: number}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {agent: false, headers, method}, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => {
        text += d
      })
      res.on('end', () => {
        let parsed: unknown = text
        try {
          parsed = JSON.parse(text)
        } catch {}

        resolve({body: parsed, headers: res.headers, status: res.statusCode!})
      })
    })
    req.on('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

/** `serve` without --json: ready once its stderr says where it listens. */
async function servePlain(args: string[], env: Record<string, string> = ADMIN_ENV) {
  const child = spawn(NODE, [BIN, 'serve', '--vault', vault, ...args], {env: cleanEnv({...s.env, ...env})})
  let stderr = ''
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const exited = new Promise<null | number>((resolve) => {
    child.on('close', resolve)
  })
  await vi.waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr}`)
      expect(stderr).toContain('listening on')
    },
    {interval: 50, timeout: 30_000},
  )
  const listening = jsonLines(stderr).find((line) => String(line.msg).startsWith('listening on'))!
  const url = /http:\/\/\S+/.exec(String(listening.msg))![0].replace('0.0.0.0', '127.0.0.1')
  return {
    lines: () => jsonLines(stderr),
    stdout: () => stdout,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
    url,
  }
}

describe('stderr off a terminal: JSON lines', () => {
  it('every line parses, the start and stop lines too; ids unique across two workers; the code of a refusal', async () => {
    const server = await servePlain(['--listen', '127.0.0.1:0', '--workers', '2'])
    let lines: Array<Record<string, unknown>>
    try {
      const auth = {'content-type': 'application/json'}
      const web = await call(`${server.url}/register/web`, {
        body: {refresh_strategy: 'refreshBoth'},
        headers: {...auth, authorization: `Bearer ${ADMIN}`},
        method: 'POST',
      })
      expect(web.status).toBe(201)
      const client = {...auth, authorization: `Bearer ${web.body.client_token}`}
      const issued = await call(`${server.url}/issue_token`, {body: {kid: 'web'}, headers: client, method: 'POST'})
      const renew = {body: {kid: 'web', refresh_token: issued.body.refresh_token}, headers: client, method: 'POST'}
      expect((await call(`${server.url}/renew_token`, renew)).status).toBe(201)
      const reused = await call(`${server.url}/renew_token`, {
        ...renew,
        headers: {...client, 'x-request-id': 'theft-check-1'},
      })
      expect([reused.status, reused.body.error.code, reused.headers['x-request-id']]).toEqual([
        403,
        'REFRESH_REUSED',
        'theft-check-1',
      ])
      for (let i = 0; i < 12; i++) expect((await call(`${server.url}/ping`, {})).status).toBe(200)
    } finally {
      await server.stop()
      lines = server.lines()
    }

    expect(lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^listening on http:\/\/127\.0\.0\.1:\d+ \(vault .*, 2 workers\)$/),
        'SIGTERM: finishing requests in flight',
        'stopped',
      ]),
    )
    const requests = lines.filter((line) => line.msg === 'request')
    expect(requests).toHaveLength(16)
    expect(new Set(requests.map((line) => line.pid)).size).toBe(2)
    const ids = requests.map((line) => line.reqId)
    expect(new Set(ids).size).toBe(ids.length)
    expect(requests.find((line) => line.reqId === 'theft-check-1')).toMatchObject({
      code: 'REFRESH_REUSED',
      path: '/renew_token',
      status: 403,
    })
    expect(requests.filter((line) => line.code !== undefined)).toHaveLength(1)
    expect(JSON.stringify(lines)).not.toMatch(/eyJ|jwtis_[\w-]{20}/)
  })

  it('without an admin token: the random one on stdout, and a warning that it changes on every restart', async () => {
    const server = await servePlain(['--listen', '127.0.0.1:0', '--workers', '1'], {})
    try {
      const [, token] = /^admin token: (\S+)$/m.exec(server.stdout())!
      expect(server.lines()).toContainEqual(
        expect.objectContaining({
          level: 40,
          msg: 'the admin token printed on stdout is random and changes on every restart: keep one in a file and name it with JWTIS_ADMIN_TOKEN_FILE',
        }),
      )
      expect(JSON.stringify(server.lines())).not.toContain(token)
    } finally {
      await server.stop()
    }
  })
})

describe.skipIf(!hasTool('script', ['--version'], 'util-linux script, for a pseudo-terminal'))(
  'stderr on a terminal: text lines',
  () => {
    it('the start, each request (with its id and code) and the stop as one readable line each', async () => {
      const command = `exec ${[NODE, BIN, 'serve', '--vault', vault, '--listen', '127.0.0.1:0', '--workers', '1'].join(' ')}`
      const script: ChildProcess = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
        env: cleanEnv({...s.env, JWTIS_ADMIN_TOKEN: ADMIN}),
      })
      let out = ''
      script.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d.replaceAll('\r\n', '\n')
      })
      const closed = new Promise((resolve) => {
        script.on('close', resolve)
      })
      try {
        await vi.waitFor(() => expect(out).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/), {timeout: 30_000})
        const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]
        await call(`${url}/issue_token`, {headers: {'x-request-id': 'tty-1'}, method: 'POST'})
        await vi.waitFor(() => expect(out).toContain('id=tty-1'))
      } finally {
        for (const pid of workersOf(script.pid!)) process.kill(pid, 'SIGTERM')
        await closed
      }

      const lines = out.split('\n').filter(Boolean)
      expect(lines.filter((line) => line.startsWith('{'))).toEqual([])
      expect(lines).toContainEqual(
        expect.stringMatching(/^jwtis serve: listening on http:\/\/127\.0\.0\.1:\d+ \(vault /),
      )
      expect(lines).toContainEqual(
        expect.stringMatching(/^jwtis serve: POST \/issue_token 401 UNAUTHORIZED .*remote=127\.0\.0\.1 .*id=tty-1$/),
      )
      expect(lines).toContain('jwtis serve: stopped')
    })
  },
)

describe('the admin token from a file: JWTIS_ADMIN_TOKEN_FILE', () => {
  it('is read without its trailing newline: its token registers a client', async () => {
    const file = join(s.dir, 'admin-token')
    writeFileSync(file, `${ADMIN}\n`, {mode: 0o600})
    const server = await serve(vault, {...s.env, JWTIS_ADMIN_TOKEN: '', JWTIS_ADMIN_TOKEN_FILE: file}, [
      '--workers',
      '1',
    ])
    try {
      expect((await server.request('POST', '/register/from-file', {}, ADMIN)).status).toBe(201)
      // (a token ending in a newline could not be sent in a header: the file's newline was dropped)
      expect(server.stderr()).not.toContain(ADMIN)
    } finally {
      await server.stop()
    }
  })

  it.each([
    ['missing', () => join(s.dir, 'nowhere'), /^JWTIS_ADMIN_TOKEN_FILE .*nowhere: cannot read it \(ENOENT\)$/],
    [
      'empty',
      () => write('empty', '\n'),
      /^JWTIS_ADMIN_TOKEN_FILE .*empty: expected the admin token on one line, found none$/,
    ],
    [
      'several lines',
      () => write('two', 'a\nb\n'),
      /^JWTIS_ADMIN_TOKEN_FILE .*two: expected the admin token on one line, found several lines$/,
    ],
  ])('%s: exit 2, one line', async (_what, path, message) => {
    const result = await jwtis(['serve', '--vault', vault, '--listen', '127.0.0.1:0', '--json'], {
      env: {...s.env, JWTIS_ADMIN_TOKEN_FILE: path()},
    })
    expect(result.code).toBe(2)
    expect(JSON.parse(result.stdout).error.message).toMatch(message)
  })

  it('both it and JWTIS_ADMIN_TOKEN: exit 2, keep one', async () => {
    const result = await jwtis(['serve', '--vault', vault, '--listen', '127.0.0.1:0'], {
      env: {...s.env, JWTIS_ADMIN_TOKEN: ADMIN, JWTIS_ADMIN_TOKEN_FILE: write('both', ADMIN)},
    })
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain('JWTIS_ADMIN_TOKEN and JWTIS_ADMIN_TOKEN_FILE are both set: keep one')
    expect(result.stderr).not.toContain(ADMIN)
  })
})

describe('start-up messages', () => {
  it('a port past 65535 names the range', async () => {
    const result = await jwtis(['serve', '--vault', vault, '--listen', '127.0.0.1:190822'], {env: s.env})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--listen 127.0.0.1:190822: port 190822 is out of range: a port is 0–65535')
  })

  it('off loopback: one reminder that TLS belongs in front; none on loopback', async () => {
    const wide = await servePlain(['--listen', '0.0.0.0:0', '--workers', '2'])
    const local = await servePlain(['--listen', '127.0.0.1:0', '--workers', '1'])
    try {
      const reminder = (lines: Array<Record<string, unknown>>) =>
        lines.filter((line) => /put TLS in front of it \(a reverse proxy, with --trust-proxy\)/.test(String(line.msg)))
      expect(reminder(wide.lines())).toEqual([expect.objectContaining({level: 40})])
      expect(reminder(local.lines())).toEqual([])
    } finally {
      await Promise.all([wide.stop(), local.stop()])
    }
  })
})

function write(name: string, text: string): string {
  const file = join(s.dir, name)
  writeFileSync(file, text, {mode: 0o600})
  return file
}
