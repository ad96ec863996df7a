import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {checkSettingName, checkVaultSetting, normalizeSetting, openSettings} from '../../cli/conf.js'

export default class ConfigSet extends BaseCommand<typeof ConfigSet> {
  static override args = {
    name: Args.string({description: 'setting name (vault, identity, vault-id)', required: true}),
    value: Args.string({description: 'value', required: true}),
  }
  static override summary = 'Set a user setting.'
  static override description = `Settings hold paths and preferences, never secrets.

vault     vault path used when neither --vault nor JWTIS_VAULT is given (its directory must exist)
identity  identity file used when no --identity, JWTIS_AGE_KEY or JWTIS_AGE_KEY_FILE is given
vault-id  vault ids (comma-separated) that signed vaults you were added to (after JWTIS_VAULT_ID)`
  static override examples = [
    '<%= config.bin %> <%= command.id %> vault ~/jwtis/vault.age',
    '<%= config.bin %> <%= command.id %> vault-id jwtis-vault-Qm9vZ2xlIGlzIG5vdCBhIHZhdWx0IGlkLCBidXQgdGhpcyBpcw',
  ]

  async run(): Promise<{name: string; value: string}> {
    const name = checkSettingName(this.args.name)
    const value = normalizeSetting(name, this.args.value)
    const warning = name === 'vault' ? checkVaultSetting(value) : undefined
    const store = await openSettings(this.config.configDir)
    store.set(name, value)
    this.logErr(`${name} = ${value}`)
    if (warning) this.logErr(warning)
    return {name, value}
  }
}
