import {resolve} from 'node:path'

import {UsageError} from '../core/errors.js'
import {type SettingName, SETTINGS} from './settings-file.js'

/** The user settings store; `conf` writes `config.json` in oclif's config directory. */
export async function openSettings(configDir: string) {
  const {default: Conf} = await import('conf')
  return new Conf<Partial<Record<SettingName, string>>>({configName: 'config', cwd: configDir, projectName: 'jwtis'})
}

export function checkSettingName(name: string): SettingName {
  if (name in SETTINGS) return name as SettingName
  throw new UsageError(`unknown setting "${name}": use one of ${Object.keys(SETTINGS).join(', ')}`)
}

/** Both settings are paths: store them absolute, so they mean the same from any directory. */
export const normalizeSetting = (value: string): string => resolve(value)
