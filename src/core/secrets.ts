import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'

const TOKEN_PREFIX = 'jwtis_'

/** A client's bearer secret: 256 random bits, recognisable by its prefix in logs and secret scanners. */
export function newClientToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url')
}

/** Client tokens are high-entropy, so one SHA-256 is enough to store them safely (no password KDF). */
export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('base64url')}`
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret))
  const b = Buffer.from(storedHash)
  return a.length === b.length && timingSafeEqual(a, b)
}
