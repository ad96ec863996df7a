import {UsageError} from './errors.js'
import {MAX_DURATION_MS} from './limits.js'

/** Go's `time.ParseDuration` units, in milliseconds. */
const UNITS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  ms: 1,
  ns: 1e-6,
  s: 1000,
  us: 1e-3,
  μs: 1e-3,
  µs: 1e-3,
}

const GO_DURATION = 'a Go duration such as 90s, 15m, 72h or 1h30m'

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y

/**
 * Parses a Go duration string (`90s`, `15m`, `1h30m`, `1.5h`) into milliseconds, as JWTIS and
 * its clients write them. A bare `0` is allowed, as in Go. Negative durations are refused: no
 * lifetime in jwtis can be negative. `expected` names, in the error, what else the caller takes.
 */
export function parseDuration(input: string, what = 'duration', expected = GO_DURATION): number {
  const text = input.trim()
  if (text === '0') return 0
  let total = 0
  PART.lastIndex = 0
  let matched = 0
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text)
    if (!m) break
    total += Number(m[1]) * UNITS[m[2]]
    matched = PART.lastIndex
  }

  if (text.length === 0 || matched !== text.length || text.length > 64) {
    throw new UsageError(`invalid ${what} "${clip(input)}": use ${expected}`)
  }

  return checkRange(total, what)
}

/** Durations in JSON bodies: a Go string, or integer nanoseconds (as Go's encoding/json sends them). */
export function durationFromJson(value: number | string, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new UsageError(`invalid ${what}: ${value}`)
    return checkRange(value / 1e6, what)
  }

  return parseDuration(value, what)
}

/** The shortest Go duration string for a whole number of milliseconds (`4320h`, `1h30m`, `90s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  let rest = Math.round(ms)
  let out = ''
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size)
    if (n > 0) {
      out += `${n}${unit}`
      rest -= n * size
    }
  }

  return out
}

/** Every duration jwtis takes is finite and at most MAX_DURATION_MS (10 years). */
function checkRange(ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    throw new UsageError(`${what} is too long: at most ${formatDuration(MAX_DURATION_MS)} (10 years)`)
  }

  return ms
}

const clip = (text: string): string => (text.length > 40 ? `${text.slice(0, 40)}…` : text)
