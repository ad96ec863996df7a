/**
 * The CLI's exit codes are a table keyed by error code (src/cli/exit-codes.ts): every code an
 * error class can carry has an entry, the entries are the contract's exit classes, and a failure
 * of each class is reported with its code's exit.
 */
import {describe, expect, it} from 'vitest'

import {EXIT_CODES, exitCodeOf} from '../../src/cli/exit-codes.js'
import {toReport} from '../../src/cli/io.js'
import {
  CLAIMS_CODES,
  ClaimsError,
  CONFLICT_CODES,
  ConflictError,
  ERROR_CODES,
  JWKS_CODES,
  JwksError,
  NOT_FOUND_CODES,
  NotFoundError,
  REDIS_CODES,
  RedisError,
  REJECTION_CODES,
  STORE_CODES,
  StoreError,
  TokenRejectedError,
  USAGE_CODES,
  UsageError,
  VAULT_CODES,
  VaultError,
} from '../../src/common/errors.js'

/** The contract's exit classes, written out code by code (CONTRACT.md, "Conventions"). */
const CONTRACT: Record<number, string[]> = {
  1: `ALG_NOT_ALLOWED AUDIENCE_MISMATCH BAD_SIGNATURE CLAIM_INVALID DECRYPT_FAILED FINGERPRINT_MISMATCH
    ISSUER_MISMATCH MALFORMED_TOKEN REFRESH_REUSED SUBJECT_MISMATCH TOKEN_EXPIRED TOKEN_NOT_YET_VALID
    TOKEN_REVOKED TOKEN_TOO_LARGE TOKEN_TOO_OLD UNKNOWN_KID UNSUPPORTED_CRIT WRONG_CLIENT WRONG_TYPE`.split(/\s+/),
  2: ['AUDIENCE_NOT_ALLOWED', 'BAD_CLAIMS', 'BAD_KEY', 'SCOPE_NOT_ALLOWED', 'USAGE'],
  3: `JWKS_UNAVAILABLE STORE_UNAVAILABLE VAULT_BAD_KEY VAULT_CORRUPT VAULT_LOCKED VAULT_NOT_AUTHENTIC
    VAULT_NOT_FOUND VAULT_TOO_NEW VAULT_UNAVAILABLE VAULT_UNSAFE VAULT_UNWRITABLE`.split(/\s+/),
  4: ['CLIENT_NOT_FOUND', 'FAMILY_NOT_FOUND', 'KEY_NOT_FOUND', 'SETTING_NOT_FOUND'],
  5: ['CLIENT_EXISTS', 'IDENTITY_EXISTS', 'KEY_EXISTS', 'VAULT_EXISTS'],
  70: ['INTERNAL'],
}

const CONTRACT_EXIT: Record<string, number> = Object.fromEntries(
  Object.entries(CONTRACT).flatMap(([exit, codes]) => codes.map((code) => [code, Number(exit)])),
)

describe('the exit code table', () => {
  it('has an entry for every code an error class can carry, and nothing else', () => {
    expect(Object.keys(EXIT_CODES).sort()).toEqual([...ERROR_CODES, 'INTERNAL'].sort())
  })

  it("holds the contract's exit class of each code", () => {
    expect(EXIT_CODES).toEqual(CONTRACT_EXIT)
  })

  it('gives a code it does not know the exit of a bug, prototype names included', () => {
    expect([exitCodeOf('NO_SUCH_CODE'), exitCodeOf('constructor'), exitCodeOf('toString')]).toEqual([70, 70, 70])
  })
})

describe('a failure of each error class', () => {
  const samples = [
    ...REJECTION_CODES.map((code) => new TokenRejectedError(code, 'rejected')),
    ...USAGE_CODES.map((code) => new UsageError('bad', code)),
    ...CLAIMS_CODES.map((code) => new ClaimsError('bad claims', code)),
    ...VAULT_CODES.map((code) => new VaultError(code, 'vault')),
    ...STORE_CODES.map((code) => new StoreError(code, 'store')),
    ...REDIS_CODES.map((code) => new RedisError(code, 'redis')),
    ...JWKS_CODES.map((code) => new JwksError(code, 'jwks')),
    ...NOT_FOUND_CODES.map((code) => new NotFoundError(code, 'missing')),
    ...CONFLICT_CODES.map((code) => new ConflictError(code, 'exists')),
  ]

  it.each(samples.map((error) => [error.name, error.code, error] as const))(
    '%s %s is reported with its code and its exit class',
    (_name, code, error) => {
      expect(toReport(error)).toEqual({code, exit: CONTRACT_EXIT[code], message: error.message})
    },
  )

  it('carries a code and message only, no exit code or HTTP status of its own', () => {
    for (const error of samples) expect(Object.keys(error).sort()).toEqual(['code', 'name'])
  })
})
