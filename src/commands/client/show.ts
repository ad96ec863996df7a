import {Args} from '@oclif/core'

import type {ClientJson} from '../../cli/actions/clients.js'

import {VaultCommand} from '../../cli/base.js'

export default class ClientShow extends VaultCommand<typeof ClientShow> {
  static override args = {name: Args.string({description: 'client name', required: true})}
  static override description = 'Show a client: its settings and its public keys (never private ones).'
  static override examples = [
    '<%= config.bin %> <%= command.id %> billing',
    '<%= config.bin %> <%= command.id %> billing --json | jq .pub_sig_key',
  ]

  async run(): Promise<ClientJson> {
    const {showClientAction} = await import('../../cli/actions/clients.js')
    return showClientAction(this.context(), this.args.name)
  }
}
