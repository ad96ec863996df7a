/**
 * Failed authentications per client address in a fixed window. Past the limit, that address
 * gets 429 for the rest of the window, whatever it sends: guessing client tokens or the admin
 * token stays slow even though each guess is cheap to check.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, {failures: number; resetAt: number}>()

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Seconds until `address` may try again, or 0 when it may now. */
  blockedFor(address: string, now = Date.now()): number {
    const w = this.windows.get(address)
    if (!w || w.resetAt <= now) return 0
    return w.failures >= this.maxFailures ? Math.ceil((w.resetAt - now) / 1000) : 0
  }

  fail(address: string, now = Date.now()): void {
    let w = this.windows.get(address)
    if (!w || w.resetAt <= now) {
      w = {failures: 0, resetAt: now + this.windowMs}
      this.windows.set(address, w)
    }

    w.failures++
    if (this.windows.size > 10_000) this.sweep(now)
  }

  private sweep(now: number): void {
    for (const [address, w] of this.windows) if (w.resetAt <= now) this.windows.delete(address)
  }
}
