import {UsageError} from './errors.js'

/** "in 14 minutes", "3 hours ago": how far `ms` is from `now`, for people reading token times. */
export function relativeTime(ms: number, now: number): string {
  const diff = ms - now
  const abs = Math.abs(diff)
  const units: Array<[string, number]> = [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1000],
  ]
  const [unit, size] = units.find(([, size]) => abs >= size) ?? ['second', 1000]
  const n = Math.round(abs / size)
  const text = `${n} ${unit}${n === 1 ? '' : 's'}`
  return diff >= 0 ? `in ${text}` : `${text} ago`
}

/**
 * A NumericDate claim (seconds since the epoch) as people read it: `2026-…Z (in 14 minutes)`.
 * Undefined for what is no date: not a number, or beyond what a Date can hold (`exp: 1e300`).
 */
export function describeTime(seconds: unknown, now: number): string | undefined {
  const date = isoDate(seconds)
  return date && `${date} (${relativeTime((seconds as number) * 1000, now)})`
}

/** A NumericDate claim as an RFC 3339 date (UTC); undefined for what is no date, as describeTime. */
export function isoDate(seconds: unknown): string | undefined {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return undefined
  const date = new Date(seconds * 1000)
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}

const WHEN =
  'a Go duration from now (15m, +1h, -5m), an RFC 3339 time (2026-01-02T15:04:05Z) or seconds since the epoch'

/**
 * A point in time as people give one: a duration from `now` (`15m`, `+1h`, `-5m`), an RFC 3339
 * time, or seconds since the epoch. Returns milliseconds since the epoch.
 */
export async function parseWhen(value: string, now: number, flag: string): Promise<number> {
  if (/^\d+$/.test(value)) return representable(Number(value) * 1000, value, flag)
  if (/^\d{4}-\d\d-\d\d/.test(value)) {
    const ms = Date.parse(value)
    if (Number.isNaN(ms)) throw new UsageError(`${flag} ${value} is not an RFC 3339 time`)
    return ms
  }

  const {parseDuration} = await import('./duration.js')
  const negative = value.startsWith('-')
  const ms = parseDuration(value.replace(/^[+-]/, ''), flag, WHEN)
  return representable(negative ? now - ms : now + ms, value, flag)
}

/** A time a JavaScript Date (and so a NumericDate claim) can hold: ±8.64e15 ms around 1970. */
function representable(ms: number, value: string, flag: string): number {
  if (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15) return ms
  throw new UsageError(`${flag} ${value.length > 24 ? `${value.slice(0, 24)}…` : value} is beyond any date`)
}
