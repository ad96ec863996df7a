import type {ClientSettings, VaultDocument} from '../model/document.js'
import type {Vault} from '../vault/vault.js'

import {formatDuration, parseDuration} from '../common/duration.js'
import {UsageError} from '../common/errors.js'
import {storeKeyOf} from '../model/document.js'
import {checkSettings, issuerLimits, normalizeSettings, type SettingsInput} from './settings.js'

/**
 * The vault's own settings, by the names of `init`'s flags: the issuer, its ceilings, and the
 * defaults of new clients (`client add` flags override them per client; clients already made
 * keep their own settings unless they follow the defaults).
 */
const DEFAULTS = {
  'access-ttl': 'accessTtl',
  enc: 'enc',
  'enc-alg': 'encAlg',
  'encrypt-access': 'encryptAccess',
  'key-ttl': 'keyTtl',
  'refresh-seal': 'refreshSeal',
  'refresh-strategy': 'refreshStrategy',
  'refresh-ttl': 'refreshTtl',
  'session-ttl': 'sessionTtl',
  'sig-alg': 'sigAlg',
} as const satisfies Record<string, keyof ClientSettings & keyof SettingsInput>

export const VAULT_SETTINGS = [
  'issuer',
  'max-access-ttl',
  'max-session-ttl',
  ...(Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>),
] as const
export type VaultSetting = (typeof VAULT_SETTINGS)[number]
export type SettingValue = boolean | string

const MAX_ISSUER_CHARS = 1024

/** An issuer name: what `iss` carries. Any non-empty text without control characters; OAuth/OIDC want an https URL. */
export function checkIssuer(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > MAX_ISSUER_CHARS || /[\u0000-\u001F\u007F]/.test(name))
    throw new UsageError(`the issuer is 1 to ${MAX_ISSUER_CHARS} characters without control characters`)
  return name
}

export function checkVaultSetting(key: string): VaultSetting {
  if (!(VAULT_SETTINGS as readonly string[]).includes(key))
    throw new UsageError(`unknown vault setting "${key}": one of ${VAULT_SETTINGS.join(', ')}`)
  return key as VaultSetting
}

/** Every setting's value as it applies now (a default left unset shows what applies). */
export function vaultSettings(doc: Readonly<VaultDocument>): Record<VaultSetting, SettingValue> {
  const limits = issuerLimits(doc)
  const d = doc.issuer.defaults
  const defaults = Object.entries(DEFAULTS).map(([flag, member]) => [flag, d[member]])
  return {
    issuer: doc.issuer.name,
    'max-access-ttl': limits.maxAccessTtl,
    'max-session-ttl': limits.maxSessionTtl,
    ...Object.fromEntries(defaults),
    'encrypt-access': d.encryptAccess ?? false,
    // a vault made before refresh_seal existed seals to the client (see effectiveSettings)
    'refresh-seal': d.refreshSeal ?? 'client',
  } as Record<VaultSetting, SettingValue>
}

/**
 * Changes one setting, validated as `init` validates its flag (a usage error leaves the vault
 * as it was): defaults and ceilings must still agree. Renaming the issuer pins what the token
 * store was keyed by before (its subject key, and the Redis key prefix), so refresh families
 * made under the old name keep working.
 */
export async function setVaultSetting(
  vault: Vault,
  key: string,
  value: string,
): Promise<{key: VaultSetting; previous: SettingValue; value: SettingValue}> {
  const name = checkVaultSetting(key)
  return vault.update((doc) => {
    const previous = vaultSettings(doc)[name]
    if (name === 'issuer') {
      const issuer = checkIssuer(value)
      doc.storeKey = storeKeyOf(doc)
      doc.issuer.storeName ??= doc.issuer.name
      if (issuer !== doc.issuer.name)
        doc.issuer.formerNames = [...new Set([doc.issuer.name, ...(doc.issuer.formerNames ?? [])])].filter(
          (name) => name !== issuer,
        )
      doc.issuer.name = issuer
      return {key: name, previous, value: issuer}
    }

    if (name === 'max-access-ttl' || name === 'max-session-ttl') {
      const limit = formatDuration(parseDuration(value, name))
      doc.issuer.limits = {...doc.issuer.limits, [name === 'max-access-ttl' ? 'maxAccessTtl' : 'maxSessionTtl']: limit}
      checkClients(doc)
    } else {
      const member = DEFAULTS[name]
      const given = normalizeSettings({[member]: member === 'encryptAccess' ? bool(value) : value})
      // Defaults are for clients made from now on: one made before keeps what it had (its keys
      // were made for its algorithms, its refresh tokens sealed its way).
      for (const client of Object.values(doc.clients))
        if (!Object.hasOwn(client.settings, member)) Object.assign(client.settings, {[member]: previous})
      Object.assign(doc.issuer.defaults, given)
    }

    checkSettings(doc.issuer.defaults, issuerLimits(doc))
    return {key: name, previous, value: vaultSettings(doc)[name]}
  })
}

/** New ceilings hold for every client already registered too, or they are refused. */
function checkClients(doc: VaultDocument): void {
  const limits = issuerLimits(doc)
  for (const [name, client] of Object.entries(doc.clients)) {
    try {
      checkSettings({...doc.issuer.defaults, ...client.settings}, limits)
    } catch (error) {
      throw new UsageError(`client ${name}: ${(error as Error).message}`)
    }
  }
}

function bool(value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true'
  throw new UsageError(`encrypt-access is true or false, not ${JSON.stringify(value)}`)
}
