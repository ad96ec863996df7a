import type {SettingValue, VaultSetting} from '../../core/vault-settings.js'
import type {ActionContext} from './context.js'

import {table} from '../output.js'

/** `jwtis vault get [KEY]`: one setting's value alone on stdout, or every setting as a table. */
export async function vaultGetAction(
  ctx: ActionContext,
  key: string | undefined,
): Promise<Partial<Record<VaultSetting, SettingValue>> | {key: VaultSetting; value: SettingValue}> {
  const {checkVaultSetting, vaultSettings} = await import('../../core/vault-settings.js')
  // an unknown key is refused before the vault is opened
  const name = key === undefined ? undefined : checkVaultSetting(key)
  const settings = vaultSettings((await ctx.openVault()).document)
  if (name !== undefined) {
    if (!ctx.json) ctx.print(String(settings[name]))
    return {key: name, value: settings[name]}
  }

  if (!ctx.json) ctx.print(table(Object.entries(settings).map(([k, v]) => [k, String(v)])))
  return settings
}

/** `jwtis vault set KEY VALUE`: one vault setting changed, validated as `init` validates its flag. */
export async function vaultSetAction(
  ctx: ActionContext,
  key: string,
  value: string,
): Promise<{key: VaultSetting; previous: SettingValue; value: SettingValue}> {
  const {checkVaultSetting, setVaultSetting} = await import('../../core/vault-settings.js')
  checkVaultSetting(key)
  const result = await setVaultSetting(await ctx.openVault(), key, value)
  ctx.logErr(`${result.key} = ${result.value} (was ${result.previous})`)
  if (result.key === 'issuer' && result.value !== result.previous) {
    ctx.logErr(
      `New tokens carry iss ${JSON.stringify(result.value)}; tokens issued before keep ${JSON.stringify(result.previous)} until they expire, and refresh tokens keep renewing (into tokens with the new iss). Verifiers that check iss need the new value.`,
    )
  }

  return result
}
