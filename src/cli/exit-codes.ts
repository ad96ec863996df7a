import type {ErrorCode} from '../common/errors.js'

/**
 * The contract's exit codes, keyed by error code: 1 the token or JWE was rejected, 2 a usage
 * error, 3 the vault (or what stands in for it: the token store, Redis, a JWKS URL) cannot be
 * used, 4 a named thing does not exist, 5 it already exists, 70 a bug. The type makes a code
 * without an entry a compile error.
 */
/* eslint-disable perfectionist/sort-objects -- grouped by exit class, as the contract lists them */
export const EXIT_CODES: Readonly<Record<'INTERNAL' | ErrorCode, number>> = {
  ALG_NOT_ALLOWED: 1,
  AUDIENCE_MISMATCH: 1,
  BAD_SIGNATURE: 1,
  CLAIM_INVALID: 1,
  DECRYPT_FAILED: 1,
  FINGERPRINT_MISMATCH: 1,
  ISSUER_MISMATCH: 1,
  MALFORMED_TOKEN: 1,
  REFRESH_REUSED: 1,
  SUBJECT_MISMATCH: 1,
  TOKEN_EXPIRED: 1,
  TOKEN_NOT_YET_VALID: 1,
  TOKEN_REVOKED: 1,
  TOKEN_TOO_LARGE: 1,
  TOKEN_TOO_OLD: 1,
  UNKNOWN_KID: 1,
  UNSUPPORTED_CRIT: 1,
  WRONG_CLIENT: 1,
  WRONG_TYPE: 1,

  AUDIENCE_NOT_ALLOWED: 2,
  SCOPE_NOT_ALLOWED: 2,
  BAD_CLAIMS: 2,
  BAD_KEY: 2,
  USAGE: 2,

  JWKS_UNAVAILABLE: 3,
  STORE_UNAVAILABLE: 3,
  VAULT_BAD_KEY: 3,
  VAULT_CORRUPT: 3,
  VAULT_LOCKED: 3,
  VAULT_NOT_AUTHENTIC: 3,
  VAULT_NOT_FOUND: 3,
  VAULT_TOO_NEW: 3,
  VAULT_UNAVAILABLE: 3,
  VAULT_UNSAFE: 3,
  VAULT_UNWRITABLE: 3,

  CLIENT_NOT_FOUND: 4,
  FAMILY_NOT_FOUND: 4,
  KEY_NOT_FOUND: 4,
  SETTING_NOT_FOUND: 4,

  CLIENT_EXISTS: 5,
  IDENTITY_EXISTS: 5,
  KEY_EXISTS: 5,
  VAULT_EXISTS: 5,

  INTERNAL: 70,
}
/* eslint-enable perfectionist/sort-objects */

/** The exit code of a failure's code; one this table does not know (none should get here) is a bug's. */
export const exitCodeOf = (code: string): number =>
  Object.hasOwn(EXIT_CODES, code) ? EXIT_CODES[code as ErrorCode] : EXIT_CODES.INTERNAL
