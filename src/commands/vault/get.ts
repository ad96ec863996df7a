import {Args} from '@oclif/core'

import {VaultCommand} from '../../cli/base.js'

export default class VaultGet extends VaultCommand<typeof VaultGet> {
  static override args = {
    key: Args.string({description: 'setting name (all of them when omitted)'}),
  }
  static override summary = "Show the vault's settings: the issuer, its ceilings, the defaults of new clients."
  static override description = `Settings: issuer (the iss claim), max-access-ttl, max-session-ttl, and the defaults of new clients by init's flag names: access-ttl, enc, enc-alg, encrypt-access, key-ttl, refresh-seal, refresh-strategy, refresh-ttl, session-ttl, sig-alg. With KEY, its value alone on stdout (--json: {key, value}); without, all of them (--json: one object). Change them with \`jwtis vault set\`.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> issuer',
    '<%= config.bin %> <%= command.id %> --json',
  ]

  async run(): Promise<unknown> {
    const {vaultGetAction} = await import('../../cli/actions/vault-settings.js')
    return vaultGetAction(this.context(), this.args.key)
  }
}
