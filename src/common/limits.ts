import {ClaimsError, UsageError} from './errors.js'

/**
 * Bounds on what a user or a client can ask for. Each one turns input that would otherwise
 * crash, hang or mint a forever-valid credential into a clear usage error.
 */

/** No lifetime anywhere in jwtis is longer than this (10 years): it also keeps every date printable. */
export const MAX_DURATION_MS = 87_600 * 3_600_000

/** Default ceilings of the issuer (vault `issuer.limits`), when the vault sets none. */
export const DEFAULT_LIMITS = {maxAccessTtl: '24h', maxSessionTtl: '8760h'} as const

/** Claims deeper than this are refused: no honest claim set comes close, and deep ones crash recursive code. */
export const MAX_CLAIM_DEPTH = 32
/** The JSON of a claim set: it travels in every access token and, again, inside every refresh token. */
export const MAX_CLAIMS_BYTES = 16 * 1024

/**
 * The largest vault jwtis reads from Redis (the armored age text). A client with its keys is a
 * few KiB, so this holds thousands; it bounds what a server can make jwtis buffer (each reply is
 * held whole, then decoded and decrypted into copies of about the same size).
 */
export const MAX_VAULT_BYTES = 16 * 1024 * 1024

/**
 * How deep a parsed JSON value nests (an object or array counts one), computed without
 * recursion so that a hostile value cannot exhaust the stack here either. Stops early past `limit`.
 */
export function jsonDepth(value: unknown, limit = Infinity): number {
  let max = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (typeof v !== 'object' || v === null) continue
    const d = depth + 1
    if (d > max) max = d
    if (max > limit) return max
    for (const child of Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, d])
  }

  return max
}

/**
 * How deep JSON text nests, by scanning brackets outside strings: checked before `JSON.parse`
 * so that a body of 100,000 `[` never reaches a recursive parser or validator.
 */
export function textDepth(text: string, limit: number): number {
  let depth = 0
  let max = 0
  for (let i = 0; i < text.length; i++) {
    switch (text[i]) {
      case '"': {
        // skip the string, escapes included
        for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++
        break
      }

      case '[':
      case '{': {
        if (++depth > max) max = depth
        if (max > limit) return max
        break
      }

      case ']':
      case '}': {
        depth--
        break
      }
    }
  }

  return max
}

/** Refuses a claim set nested deeper than MAX_CLAIM_DEPTH or larger than MAX_CLAIMS_BYTES. */
export function checkClaimsSize(claims: Record<string, unknown>): void {
  if (jsonDepth(claims, MAX_CLAIM_DEPTH) > MAX_CLAIM_DEPTH) {
    throw new ClaimsError(`claims nest deeper than ${MAX_CLAIM_DEPTH} levels`)
  }

  const bytes = Buffer.byteLength(JSON.stringify(claims))
  if (bytes > MAX_CLAIMS_BYTES) {
    throw new ClaimsError(`claims are ${bytes} bytes of JSON, over the limit of ${MAX_CLAIMS_BYTES / 1024} KiB`)
  }
}

/**
 * A lifetime in ms, refused unless it is finite, at least a second (JWT times count whole
 * seconds: a shorter one makes a token expired as it is issued) and within `maxMs`.
 */
export function checkLifetime(ms: number, what: string, maxMs: number, maxText: string): number {
  if (!Number.isFinite(ms)) throw new UsageError(`${what} is not a finite duration`)
  if (ms <= 0) throw new UsageError(`${what} must be longer than 0s`)
  if (ms < 1000) throw new UsageError(`${what} must be at least 1s: token times count whole seconds`)
  if (ms > maxMs) throw new UsageError(`${what} is over the limit of ${maxText}`)
  return ms
}
