import type {ChalkInstance} from 'chalk'

import {safeJson} from '../common/terminal.js'
import {describeTime} from '../common/time.js'

export {safeJson, sanitize} from '../common/terminal.js'

/** Colour only when the stream is a terminal and NO_COLOR is unset (https://no-color.org). */
export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  const {FORCE_COLOR, NO_COLOR, TERM} = process.env
  if (NO_COLOR !== undefined && NO_COLOR !== '') return false
  if (FORCE_COLOR === '0' || FORCE_COLOR === 'false') return false
  if (FORCE_COLOR !== undefined && FORCE_COLOR !== '') return true
  if (TERM === 'dumb') return false
  return Boolean(stream.isTTY)
}

/**
 * A chalk for one stream; loaded only for colour, so that output into a pipe (or with NO_COLOR)
 * does not pay for it.
 */
export async function chalkFor(stream: NodeJS.WriteStream = process.stdout): Promise<ChalkInstance> {
  if (!colorEnabled(stream)) return PLAIN
  const {Chalk} = await import('chalk')
  return new Chalk({level: 1})
}

/** What a chalk without colour (level 0) does: every style, however chained, gives back the text. */
const PLAIN: ChalkInstance = new Proxy((...text: unknown[]) => text.join(' '), {
  // (no `then`: a promise resolving to this must not take it for one)
  get: (_, key) => (key === 'then' ? undefined : key === 'level' ? 0 : PLAIN),
}) as unknown as ChalkInstance

/** Prompts go to stderr and only when a person can answer: stdin a terminal and not in CI. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY) && !process.env.CI
}

/**
 * `token issue` and `token renew` without --json: the access token on stdout line 1 and the
 * refresh token, when there is one, on line 2, so that a script reading stdout keeps the session.
 * A live credential never goes to stderr alone (CI logs keep stderr): which line is which is told
 * there only to a person at a terminal.
 */
export function printTokens(
  out: {logErr(message: string): void; print(text: string): void},
  tokens: {access_token: string; refresh_token?: string},
  refreshLabel: string,
): void {
  const {access_token: access, refresh_token: refresh} = tokens
  if (refresh && process.stderr.isTTY) out.logErr(`line 1: the access token; line 2: ${refreshLabel}`)
  out.print(refresh ? `${access}\n${refresh}` : access)
}

/** Rows as columns two spaces apart, each as wide as its widest cell, without trailing blanks. */
export function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  )
}

/** Two-column key/value lines, aligned, for human output. */
export function table(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')
}

/** Pretty JSON with keys, strings and other values in their own colours (plain without colour). */
export function colorJson(value: unknown, c: ChalkInstance): string {
  const text = safeJson(value, 2)
  if (c.level === 0) return text
  return text.replaceAll(
    /("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g,
    (match, str, colon, lit) => {
      if (str) return colon ? c.cyan(str) + colon : c.green(str)
      return lit ? c.magenta(match) : c.yellow(match)
    },
  )
}

export const TIME_CLAIMS = ['exp', 'iat', 'nbf', 'sexp'] as const

/**
 * The registered times of a claim set as people read them, one line each: `exp  2026-…Z (in 14
 * minutes)`, an expired `exp` in red. Only numbers are shown, so the lines are safe as they are.
 */
export function timeLines(payload: Record<string, unknown>, now: number, c: ChalkInstance): string[] {
  const lines: string[] = []
  for (const name of TIME_CLAIMS) {
    const value = payload[name]
    if (typeof value !== 'number') continue
    const when = describeTime(value, now)
    // exp 1e300 or iat -9e15 are valid JSON numbers but no date: show them as they are.
    if (when === undefined) lines.push(`${name.padEnd(4)}  ${value} ${c.yellow('(not a representable date)')}`)
    else lines.push(`${name.padEnd(4)}  ${name === 'exp' && value * 1000 <= now ? c.red(`${when}, expired`) : when}`)
  }

  return lines
}
