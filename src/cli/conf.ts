import {statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'

import {UsageError} from '../common/errors.js'
import {hasPassword, isRedisUrl} from '../redis/url.js'
import {isVaultId, pinnedIds} from '../vault/authenticity.js'
import {type SettingName, SETTINGS} from './settings-file.js'

/** The user settings store; `conf` writes `config.json` in oclif's config directory. */
export async function openSettings(configDir: string) {
  const {default: Conf} = await import('conf')
  // 0600 like everything else jwtis writes: settings name where the vault and identity are
  return new Conf<Partial<Record<SettingName, string>>>({
    configFileMode: 0o600,
    configName: 'config',
    cwd: configDir,
    projectName: 'jwtis',
  })
}

export function checkSettingName(name: string): SettingName {
  if (name in SETTINGS) return name as SettingName
  throw new UsageError(`unknown setting "${name}": use one of ${Object.keys(SETTINGS).join(', ')}`)
}

/**
 * `vault` and `identity` are paths, stored absolute so they mean the same from any directory; the
 * vault may also be a Redis URL, kept as it is, but never with a password in it: settings are a
 * plain file, and a password belongs in the environment (JWTIS_VAULT) or a secret store.
 * `vault-id` is a list of public vault ids.
 */
export function normalizeSetting(name: SettingName, value: string): string {
  if (name === 'vault-id') {
    const ids = pinnedIds(value)
    const bad = ids.find((id) => !isVaultId(id))
    if (ids.length === 0 || bad !== undefined)
      throw new UsageError(`${bad ?? 'that'} is not a vault id (jwtis-vault-…, as \`jwtis vault status\` shows it)`)
    return ids.join(',')
  }

  if (!isRedisUrl(value)) return resolve(value)
  if (!URL.canParse(value)) throw new UsageError('that is not a valid redis:// URL')
  if (hasPassword(value))
    throw new UsageError(
      'settings are not for secrets: give a Redis URL with a password in JWTIS_VAULT (or --vault), not in a setting',
    )
  return value
}

/**
 * A vault file for the `vault` setting: its directory must be there (a mistyped path is refused
 * now, exit 2, not at the next command), the file itself may come later (`init` writes it).
 * Returns a warning when it does not exist yet.
 */
export function checkVaultSetting(path: string): string | undefined {
  if (isRedisUrl(path)) return undefined
  const dir = dirname(path)
  if (!statSync(dir, {throwIfNoEntry: false})?.isDirectory())
    throw new UsageError(`${path}: the directory ${dir} does not exist`)
  if (statSync(path, {throwIfNoEntry: false})) return undefined
  return `warning: ${path} does not exist yet (\`jwtis init --vault ${path}\` creates it)`
}

/**
 * Adds `add` to the pinned vault ids (the `vault-id` setting) and drops `drop`: what `init
 * --recipient` and `vault rekey` do for the holder adding others, so it reads their writes, and
 * no longer trusts a vault key that a removed holder knows.
 */
export async function repin(configDir: string, change: {add?: string; drop?: string}): Promise<void> {
  const settings = await openSettings(configDir)
  const before = pinnedIds(settings.get('vault-id'))
  const after = before.filter((id) => id !== change.drop)
  if (change.add && !after.includes(change.add)) after.push(change.add)
  if (after.length === before.length && after.every((id) => before.includes(id))) return
  if (after.length > 0) settings.set('vault-id', after.join(','))
  else settings.delete('vault-id')
}
