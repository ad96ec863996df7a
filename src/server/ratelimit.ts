import {isIPv6} from 'node:net'

/**
 * Failed authentications per client address in a fixed window. Past the limit, that address's
 * failures get 429 for the rest of the window, telling a misconfigured or hostile caller to back
 * off. A valid credential from the same address still passes (auth.ts): behind a reverse proxy
 * every caller shares one address. So the limiter does not make guessing slow; the 256 random
 * bits of a client token (and of a generated admin token) do.
 *
 * Memory and time stay bounded whatever an attacker does: at most `capacity` addresses are
 * tracked (the least recently failing one is forgotten first, in O(1), as a Map keeps insertion
 * order), and an IPv6 address counts as its /64, the block one host or customer usually gets.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, {failures: number; resetAt: number}>()

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs = 60_000,
    private readonly capacity = 10_000,
  ) {}

  /** How many addresses are tracked now (never more than the capacity). */
  get size(): number {
    return this.windows.size
  }

  /** Seconds until `address` may try again, or 0 when it may now. */
  blockedFor(address: string, now = Date.now()): number {
    const w = this.windows.get(limiterKey(address))
    if (!w || w.resetAt <= now) return 0
    return w.failures >= this.maxFailures ? Math.ceil((w.resetAt - now) / 1000) : 0
  }

  fail(address: string, now = Date.now()): void {
    const key = limiterKey(address)
    let w = this.windows.get(key)
    if (w) this.windows.delete(key) // re-inserted below: now the most recent
    if (!w || w.resetAt <= now) w = {failures: 0, resetAt: now + this.windowMs}
    w.failures++
    this.windows.set(key, w)
    if (this.windows.size > this.capacity) this.windows.delete(this.windows.keys().next().value!)
  }
}

/** The unit an address is limited as: an IPv4 address itself, an IPv6 address by its /64. */
export function limiterKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]
  if (!isIPv6(address)) return address
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`
}

function expandIPv6(address: string): string[] {
  const [head, tail = ''] = address.split('%')[0].split('::')
  const left = head ? head.split(':') : []
  const right = address.includes('::') && tail ? tail.split(':') : []
  // A trailing dotted quad (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) fills two groups.
  const groups = left.length + right.length + (/\./.test(right.at(-1) ?? left.at(-1) ?? '') ? 1 : 0)
  const fill = address.includes('::') ? Array.from({length: 8 - groups}, () => '0') : []
  return [...left, ...fill, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
}
