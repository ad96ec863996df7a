import {Args} from '@oclif/core'

import {VaultCommand} from '../../cli/base.js'

export default class VaultSet extends VaultCommand<typeof VaultSet> {
  static override writesVault = true
  static override args = {
    key: Args.string({description: 'setting name (see `jwtis vault get`)', required: true}),
    value: Args.string({description: 'new value, as the init flag of that name takes it', required: true}),
  }
  static override summary = "Change one of the vault's settings: the issuer, a ceiling, a default of new clients."
  static override description = `Settings: issuer (the iss claim of new tokens; a URL for OAuth/OIDC), max-access-ttl, max-session-ttl, and the defaults of new clients by init's flag names: access-ttl, enc, enc-alg, encrypt-access (true|false), key-ttl, refresh-seal, refresh-strategy, refresh-ttl, session-ttl, sig-alg. Values are checked as init checks its flags; a bad one is a usage error (exit 2) and the vault is left as it was. A new default is for clients added from then on: clients already registered keep what they have (change one with \`jwtis client update\`). New ceilings must hold for the defaults and for every registered client.

A new issuer applies to tokens issued from then on; tokens issued before keep the old iss until they expire (verifiers that check iss need the new value), and refresh tokens issued before keep renewing, into tokens with the new iss.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> issuer https://auth.example.com',
    '<%= config.bin %> <%= command.id %> access-ttl 10m',
    '<%= config.bin %> <%= command.id %> max-session-ttl 2160h --json',
  ]

  async run(): Promise<unknown> {
    const {vaultSetAction} = await import('../../cli/actions/vault-settings.js')
    return vaultSetAction(this.context(), this.args.key, this.args.value)
  }
}
