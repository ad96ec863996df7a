import type {ClientSummary} from '../../core/clients.js'

import {VaultCommand} from '../../cli/base.js'

export default class ClientList extends VaultCommand<typeof ClientList> {
  static override description = 'List the clients in the vault.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json | jq -r ".[].kid"',
  ]

  async run(): Promise<ClientSummary[]> {
    const {listClientsAction} = await import('../../cli/actions/clients.js')
    return listClientsAction(this.context())
  }
}
