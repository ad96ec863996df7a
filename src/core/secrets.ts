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

/** Compares two `hashSecret` results in constant time (hash a presented secret once, then compare). */
export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
