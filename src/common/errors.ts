/**
 * Every failure the issuer can report on purpose. `code` is stable (scripts and HTTP clients
 * match on it); `exitCode` is the CLI's exit status class from the contract; `status` is the
 * HTTP status `serve` answers with.
 */
export abstract class JwtisError extends Error {
  abstract readonly exitCode: number
  abstract readonly status: number

  constructor(
    readonly code: string,
    message: string,
    options?: {cause?: unknown},
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** The token, refresh token or JWE was rejected (exit 1). */
export type RejectionCode =
  | 'ALG_NOT_ALLOWED'
  | 'AUDIENCE_MISMATCH'
  | 'BAD_SIGNATURE'
  | 'CLAIM_INVALID'
  | 'DECRYPT_FAILED'
  | 'FINGERPRINT_MISMATCH'
  | 'ISSUER_MISMATCH'
  | 'MALFORMED_TOKEN'
  | 'REFRESH_REUSED'
  | 'SUBJECT_MISMATCH'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'TOKEN_REVOKED'
  | 'TOKEN_TOO_LARGE'
  | 'TOKEN_TOO_OLD'
  | 'UNKNOWN_KID'
  | 'UNSUPPORTED_CRIT'
  | 'WRONG_CLIENT'
  | 'WRONG_TYPE'

const rejectionStatus: Partial<Record<RejectionCode, number>> = {
  FINGERPRINT_MISMATCH: 403,
  REFRESH_REUSED: 403,
  TOKEN_EXPIRED: 409,
  TOKEN_REVOKED: 403,
  WRONG_CLIENT: 403,
}

export class TokenRejectedError extends JwtisError {
  readonly exitCode = 1
  readonly status: number

  constructor(
    override readonly code: RejectionCode,
    message: string,
    options?: {cause?: unknown},
  ) {
    super(code, message, options)
    this.status = rejectionStatus[code] ?? 403
  }
}

/** Bad flag, bad value or missing input (exit 2). */
export class UsageError extends JwtisError {
  readonly exitCode = 2
  readonly status: number = 400

  constructor(message: string, code = 'USAGE') {
    super(code, message)
  }
}

/** Claims that cannot be issued (a reserved claim overridden, a non-object claim set). */
export class ClaimsError extends UsageError {
  override readonly status = 422

  constructor(message: string, code: 'AUDIENCE_NOT_ALLOWED' | 'BAD_CLAIMS' = 'BAD_CLAIMS') {
    super(message, code)
  }
}

export type VaultErrorCode =
  | 'JWKS_UNAVAILABLE'
  | 'STORE_UNAVAILABLE'
  | 'VAULT_BAD_KEY'
  | 'VAULT_CORRUPT'
  | 'VAULT_LOCKED'
  | 'VAULT_NOT_AUTHENTIC'
  | 'VAULT_NOT_FOUND'
  | 'VAULT_TOO_NEW'
  | 'VAULT_UNAVAILABLE'
  | 'VAULT_UNSAFE'
  | 'VAULT_UNWRITABLE'

/** Failures that pass: another process holds the lock, or Redis is away for now (HTTP 503). */
const UNAVAILABLE = new Set<VaultErrorCode>([
  'JWKS_UNAVAILABLE',
  'STORE_UNAVAILABLE',
  'VAULT_LOCKED',
  // serve keeps the last authentic document; what it cannot do meanwhile (a write) waits for a holder
  'VAULT_NOT_AUTHENTIC',
  // (to serve, which opened it at start: its storage lost it, e.g. a FLUSHALL)
  'VAULT_NOT_FOUND',
  'VAULT_UNAVAILABLE',
  // a full disk or a read-only one: the service cannot take writes now, not a bug (503 over HTTP)
  'VAULT_UNWRITABLE',
])

/** The vault cannot be used: missing, wrong key, corrupt, newer format, locked too long (exit 3). */
export class VaultError extends JwtisError {
  readonly exitCode = 3
  readonly status: number

  constructor(
    override readonly code: VaultErrorCode,
    message: string,
    options?: {cause?: unknown},
  ) {
    super(code, message, options)
    this.status = UNAVAILABLE.has(code) ? 503 : 500
  }
}

/** A named thing does not exist (exit 4). */
export class NotFoundError extends JwtisError {
  readonly exitCode = 4
  readonly status = 404

  // Narrows `code` to this class's codes.
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor
  constructor(code: 'CLIENT_NOT_FOUND' | 'FAMILY_NOT_FOUND' | 'KEY_NOT_FOUND' | 'SETTING_NOT_FOUND', message: string) {
    super(code, message)
  }
}

/** A named thing already exists (exit 5). */
export class ConflictError extends JwtisError {
  readonly exitCode = 5
  readonly status = 403

  // eslint-disable-next-line @typescript-eslint/no-useless-constructor
  constructor(code: 'CLIENT_EXISTS' | 'IDENTITY_EXISTS' | 'KEY_EXISTS' | 'VAULT_EXISTS', message: string) {
    super(code, message)
  }
}

export const isJwtisError = (error: unknown): error is JwtisError => error instanceof JwtisError
