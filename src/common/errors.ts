/**
 * Every failure the issuer can report on purpose, as panva/jose reports its own: a class per kind
 * and a stable `code` (scripts and HTTP clients match on it), a one-line message, a cause. What a
 * code means at an edge lives at that edge: the CLI's exit codes in src/cli/exit-codes.ts, the
 * HTTP statuses in src/server/errors.ts, both tables keyed by the codes listed here.
 */
import {sanitizeLine} from './terminal.js'

export abstract class JwtisError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: {cause?: unknown},
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** The token, refresh token or JWE was rejected. */
export const REJECTION_CODES = [
  'ALG_NOT_ALLOWED',
  'AUDIENCE_MISMATCH',
  'BAD_SIGNATURE',
  'CLAIM_INVALID',
  'DECRYPT_FAILED',
  'FINGERPRINT_MISMATCH',
  'ISSUER_MISMATCH',
  'MALFORMED_TOKEN',
  'REFRESH_REUSED',
  'SUBJECT_MISMATCH',
  'TOKEN_EXPIRED',
  'TOKEN_NOT_YET_VALID',
  'TOKEN_REVOKED',
  'TOKEN_TOO_LARGE',
  'TOKEN_TOO_OLD',
  'UNKNOWN_KID',
  'UNSUPPORTED_CRIT',
  'WRONG_CLIENT',
  'WRONG_TYPE',
] as const
export type RejectionCode = (typeof REJECTION_CODES)[number]

/**
 * A token refused. Its message may quote the token's own values (a kid, an issuer, a type), which
 * a forger chooses: kept on one line and free of terminal controls, whatever they hold.
 */
export class TokenRejectedError extends JwtisError<RejectionCode> {
  constructor(code: RejectionCode, message: string, options?: {cause?: unknown}) {
    super(code, sanitizeLine(message), options)
  }
}

/** Bad flag, bad value or missing input; BAD_KEY: a key that cannot be used as given. */
export const USAGE_CODES = ['BAD_KEY', 'USAGE'] as const
/** Claims that cannot be issued (a reserved claim overridden, a non-object claim set). */
export const CLAIMS_CODES = ['AUDIENCE_NOT_ALLOWED', 'BAD_CLAIMS', 'SCOPE_NOT_ALLOWED'] as const
export type ClaimsCode = (typeof CLAIMS_CODES)[number]
export type UsageCode = (typeof USAGE_CODES)[number] | ClaimsCode

export class UsageError extends JwtisError<UsageCode> {
  constructor(message: string, code: UsageCode = 'USAGE') {
    super(code, message)
  }
}

export class ClaimsError extends UsageError {
  constructor(message: string, code: ClaimsCode = 'BAD_CLAIMS') {
    super(message, code)
  }
}

/** The vault cannot be used: missing, wrong key, corrupt, newer format, locked too long, unwritable. */
export const VAULT_CODES = [
  'VAULT_BAD_KEY',
  'VAULT_CORRUPT',
  'VAULT_LOCKED',
  'VAULT_NOT_AUTHENTIC',
  'VAULT_NOT_FOUND',
  'VAULT_TOO_NEW',
  'VAULT_UNAVAILABLE',
  'VAULT_UNSAFE',
  'VAULT_UNWRITABLE',
] as const
export type VaultErrorCode = (typeof VAULT_CODES)[number]

export class VaultError extends JwtisError<VaultErrorCode> {}

/**
 * The token store cannot take an operation now; a full disk under the file store keeps the code
 * every other full disk has (VAULT_UNWRITABLE), so scripts match one code for it.
 */
export const STORE_CODES = ['STORE_UNAVAILABLE', 'VAULT_UNWRITABLE'] as const
export type StoreErrorCode = (typeof STORE_CODES)[number]

export class StoreError extends JwtisError<StoreErrorCode> {}

/** Redis failed the one using it (the token store or a vault kept in Redis): its code is that user's. */
export const REDIS_CODES = ['STORE_UNAVAILABLE', 'VAULT_UNAVAILABLE'] as const
export type RedisErrorCode = (typeof REDIS_CODES)[number]

export class RedisError extends JwtisError<RedisErrorCode> {}

/** A JWKS named by URL (`--jwks`, a client's `jwks_uri`) could not be fetched. */
export const JWKS_CODES = ['JWKS_UNAVAILABLE'] as const

export class JwksError extends JwtisError<(typeof JWKS_CODES)[number]> {}

/** A named thing does not exist. */
export const NOT_FOUND_CODES = ['CLIENT_NOT_FOUND', 'FAMILY_NOT_FOUND', 'KEY_NOT_FOUND', 'SETTING_NOT_FOUND'] as const

export class NotFoundError extends JwtisError<(typeof NOT_FOUND_CODES)[number]> {}

/** A named thing already exists. */
export const CONFLICT_CODES = ['CLIENT_EXISTS', 'IDENTITY_EXISTS', 'KEY_EXISTS', 'VAULT_EXISTS'] as const

export class ConflictError extends JwtisError<(typeof CONFLICT_CODES)[number]> {}

/** Every code a JwtisError of this module can carry: the keys of the edges' tables. */
export const ERROR_CODES = [
  ...new Set([
    ...CLAIMS_CODES,
    ...CONFLICT_CODES,
    ...JWKS_CODES,
    ...NOT_FOUND_CODES,
    ...REDIS_CODES,
    ...REJECTION_CODES,
    ...STORE_CODES,
    ...USAGE_CODES,
    ...VAULT_CODES,
  ]),
]
export type ErrorCode = (typeof ERROR_CODES)[number]

export const isJwtisError = (error: unknown): error is JwtisError => error instanceof JwtisError
