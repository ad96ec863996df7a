/**
 * "Did you mean": the names closest to a mistyped one, for errors that name the next step (an
 * unknown command, an unknown client).
 */
export function closest(typed: string, names: Iterable<string>, limit = 3): string[] {
  const most = Math.max(2, Math.floor(typed.length / 3))
  return [...new Set(names)]
    .map((name) => ({distance: editDistance(typed, name), name}))
    .filter(({distance, name}) => distance <= most || name.startsWith(`${typed} `))
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map(({name}) => name)
}

/** Levenshtein distance: small inputs (names), so the plain O(n·m) table. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = row
  }

  return previous[b.length]
}
