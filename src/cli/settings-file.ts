import {readFileSync} from 'node:fs'
import {join} from 'node:path'

/**
 * User settings (`jwtis config`), never secrets. `conf` writes them to `config.json` in oclif's
 * config directory; every command reads that one small file directly, so that opening a vault
 * does not load conf and its schema validator.
 */
export const SETTINGS = {
  identity: 'identity file used to open the vault (after --identity, JWTIS_AGE_KEY, JWTIS_AGE_KEY_FILE)',
  vault: 'vault path used when neither --vault nor JWTIS_VAULT is given',
  'vault-id':
    'vault ids (comma-separated) trusted to have signed vaults you hold but did not create or re-key (after JWTIS_VAULT_ID)',
} as const

export type SettingName = keyof typeof SETTINGS

export function readSettings(configDir: string): Partial<Record<SettingName, string>> {
  try {
    const parsed = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as Record<string, unknown>
    return Object.fromEntries(Object.entries(parsed).filter(([k, v]) => k in SETTINGS && typeof v === 'string'))
  } catch {
    return {}
  }
}
