/**
 * `jwtis/vault`: the sealed vault document (an age file, or a key in Redis) and the keys that open
 * it. What is named here is the public API; everything else is internal.
 */
export {
  type ClientRecord,
  type ClientSettings,
  DEFAULT_SETTINGS,
  FORMAT_VERSION,
  type KeyRecord,
  newDocument,
  storeKeyOf,
  type VaultDocument,
} from '../model/document.js'
export {ageDecrypt, ageEncrypt, newIdentity, parseIdentities, recipientOf, type VaultKey} from './age.js'
export {keyResolver, type UnlockSources} from './unlock.js'
export {type KeyResolver, resolveVaultPath, Vault, type VaultOptions} from './vault.js'
