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
