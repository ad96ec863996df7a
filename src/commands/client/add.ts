import {Args, Flags} from '@oclif/core'

import type {ClientKeysView} from '../../core/clients.js'

import {clock, VaultCommand} from '../../cli/base.js'
import {settingsFlags, settingsInput} from '../../cli/flags.js'
import {table} from '../../cli/output.js'

export default class ClientAdd extends VaultCommand<typeof ClientAdd> {
  static override args = {
    name: Args.string({description: 'client name (its `kid` in JWTIS requests)', required: true}),
  }
  static override description = `Register a client with its own signing and encryption keys.

Settings not given here follow the vault defaults (see \`jwtis vault status\`). The client token
is printed once, on stdout: the vault keeps only its hash. With --json the result is JWTIS's
RegisterClientResponse: kid, client_token, pub_sig_key, pub_enc_key, expiry (when the keys rotate,
as a NumericDate) and valid.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> billing',
    '<%= config.bin %> <%= command.id %> billing --sig-alg EdDSA --refresh-strategy refreshBoth --aud https://api.example.com',
    'TOKEN=$(<%= config.bin %> <%= command.id %> billing)',
  ]
  static override flags = {
    ...settingsFlags,
    aud: Flags.string({
      description: "audience this client may issue tokens for (repeatable; default: the client's name)",
      helpGroup: 'CLIENT',
      multiple: true,
    }),
  }

  async run(): Promise<ClientKeysView> {
    const {addClient} = await import('../../core/clients.js')
    const vault = await this.openVault()
    const result = await addClient(
      vault,
      this.args.name,
      {...settingsInput(this.flags), aud: this.flags.aud},
      new Date(clock()()),
    )
    if (!this.jsonEnabled()) {
      this.logErr(
        table([
          ['client', result.kid],
          ['signing key', `${result.pub_sig_key.kid} (${result.pub_sig_key.alg})`],
          ['encryption key', `${result.pub_enc_key.kid} (${result.pub_enc_key.alg})`],
          ['keys rotate', new Date(result.expiry * 1000).toISOString()],
        ]),
      )
      this.logErr('Client token (shown once, printed on stdout):')
      this.print(result.client_token!)
    }

    return result
  }
}
