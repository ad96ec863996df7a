/**
 * jwtis as a library: the issuer the CLI and `serve` are built on. No oclif, no terminal I/O.
 * What is named here is the public API; everything else is internal and may change.
 *
 *   import {Issuer} from 'jwtis'
 *   import {Vault, keyResolver} from 'jwtis/vault'
 *   import {openStore} from 'jwtis/store'
 */

export {formatDuration, parseDuration} from '../common/duration.js'
// Errors (match on `code`) and durations as the CLI and the HTTP API take them
export {
  ClaimsError,
  ConflictError,
  ERROR_CODES,
  type ErrorCode,
  isJwtisError,
  JwksError,
  JwtisError,
  NotFoundError,
  RedisError,
  StoreError,
  TokenRejectedError,
  UsageError,
  VaultError,
} from '../common/errors.js'
export {
  type Enc,
  ENC_ALGS,
  type EncAlg,
  ENCS,
  REFRESH_STRATEGIES,
  type RefreshStrategy,
  SIG_ALGS,
  type SigAlg,
} from '../jose/algorithms.js'
// Token cryptography without a vault: keys from files or a JWKS, decoding
export {type Decoded, decodeToken} from '../jose/decode.js'
export {decryptJwe, encryptJwe} from '../jose/jwe.js'
export {type KeyEntry, Keyring} from '../jose/keyring.js'
export {type Verified, verifyJws, type VerifyOptions} from '../jose/verify.js'

export {
  addClient,
  type ClientSummary,
  type ClientView,
  clientView,
  getClient,
  listClients,
  removeClient,
  updateClient,
} from './clients.js'
export {importKey} from './import.js'
// The issuer: tokens, clients, keys, settings, the vault's administration
export {
  type Clock,
  type IssuedTokens,
  Issuer,
  type IssueRequest,
  type IssuerOptions,
  type KeyNotices,
} from './issuer.js'
export {type KeyRow, keyRows, publicPem, publishedKeys} from './lifecycle.js'
export {type RotatedKey, rotateKeys} from './rotation.js'

export {type EffectiveSettings, effectiveSettings, type SettingsInput} from './settings.js'
export {copyVault, initVault, rekeyVault, upgradeVault} from './vault-admin.js'
