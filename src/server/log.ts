import {randomBytes} from 'node:crypto'

import {redact} from '../common/redact.js'
import {safeJson, sanitizeLine} from '../common/terminal.js'

/**
 * `serve`'s stderr, one format per process: JSON lines (pino's shape, as fastify's access log
 * writes them) when stderr is a file, a pipe or a journal, so every line parses; readable text
 * lines when it is a terminal, where a person reads them. Start-up and shutdown lines, warnings
 * and the access log all go through here.
 */
export const textLog = (): boolean => process.stderr.isTTY === true

/** A request's path as the log and error answers show it: without its query (which may carry a credential), 200 characters at most. */
export function pathOf(url: string): string {
  const query = url.indexOf('?')
  return (query === -1 ? url : url.slice(0, query)).slice(0, 200)
}

const LEVELS = {error: 50, info: 30, warn: 40} as const

/** One line of serve's own (not a request's): `jwtis serve: …` on a terminal, a JSON line elsewhere. */
export function serveLog(level: keyof typeof LEVELS, message: string): void {
  // pino's order, as in the access log's lines
  const entry = {level: LEVELS[level], time: Date.now(), pid: process.pid, msg: redact(message)} // eslint-disable-line perfectionist/sort-objects
  const line = safeJson(entry)
  process.stderr.write(textLog() ? textLine(line) : `${line}\n`)
}

/** What pino writes to, on a terminal: each JSON line it makes, rewritten as text. */
export const textStream = {
  write(line: string): void {
    process.stderr.write(textLine(line))
  },
}

/** The fields a request line always has, shown first and without their names. */
const REQUEST_FIELDS = new Set(['level', 'method', 'msg', 'path', 'pid', 'reqId', 'status', 'time'])

/**
 * A JSON log line as a person reads it: `jwtis serve: POST /issue_token 403 REFRESH_REUSED
 * client=web ms=2.1 id=…` for a request, `jwtis serve: WARNING: …` for a warning. Values that
 * came from a request are shown quoted when they hold anything but printable ASCII, so a path
 * cannot drive the terminal.
 */
export function textLine(json: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(json) as Record<string, unknown>
  } catch {
    return `jwtis serve: ${shown(json.trimEnd())}\n`
  }

  const level = Number(entry.level)
  const prefix = level >= 50 ? 'ERROR: ' : level >= 40 ? 'WARNING: ' : ''
  const head =
    entry.msg === 'request'
      ? [entry.method, entry.path, entry.status, entry.code].filter((v) => v !== undefined).map((value) => shown(value))
      : [typeof entry.msg === 'string' ? sanitizeLine(entry.msg) : shown(entry.msg)]
  const rest = Object.entries(entry)
    .filter(([name, value]) => !REQUEST_FIELDS.has(name) && name !== 'code' && value !== undefined)
    .map(([name, value]) => `${name}=${shown(value)}`)
  if (entry.reqId !== undefined) rest.push(`id=${shown(entry.reqId)}`)
  return `jwtis serve: ${prefix}${[...head, ...rest].join(' ')}\n`
}

const shown = (value: unknown): string =>
  typeof value === 'string' && /^[\u0021-\u007E]*$/.test(value) ? value : value === undefined ? '' : safeJson(value)

/**
 * Request ids unique across workers and hosts: a random prefix per process and a counter. An
 * incoming `X-Request-Id` (a proxy's or a caller's) is kept when it is short and plain, so one
 * id follows a request through every hop; anything else is replaced, not logged.
 */
export function requestIds(): (request: {headers: Record<string, string | string[] | undefined>}) => string {
  const prefix = randomBytes(6).toString('hex')
  let counter = 0
  return (request) => {
    const given = request.headers['x-request-id']
    if (typeof given === 'string' && WELL_FORMED_ID.test(given)) return given
    counter += 1
    return `${prefix}-${counter.toString(36)}`
  }
}

/** Letters, digits and `-._:` (UUIDs, ULIDs, most proxies' ids), up to 128 characters. */
const WELL_FORMED_ID = /^[\w.:-]{1,128}$/
