/**
 * jwtis as a library: the issuer the CLI and `serve` are built on. No oclif, no terminal I/O.
 *
 *   import {Issuer} from 'jwtis'
 *   import {Vault, keyResolver} from 'jwtis/vault'
 *   import {openStore} from 'jwtis/store'
 */
export * from './algorithms.js'
export * from './claims.js'
export * from './clients.js'
export * from './duration.js'
export * from './errors.js'
export * from './issuer.js'
export * from './jwe.js'
export * from './keyring.js'
export * from './keys.js'
export * from './nested.js'
export * from './rotation.js'
export * from './secrets.js'
export * from './settings.js'
export {MAX_TOKEN_BYTES, type Verified, verifyJws, type VerifyOptions} from './verify.js'
