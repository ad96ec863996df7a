import type {ClientSummary} from '../../core/clients.js'

import {VaultCommand} from '../../cli/base.js'

export default class ClientList extends VaultCommand<typeof ClientList> {
  static override description = 'List the clients in the vault.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json | jq -r ".[].kid"',
  ]

  async run(): Promise<ClientSummary[]> {
    const {listClients} = await import('../../core/clients.js')
    const clients = listClients((await this.openVault()).document)
    if (!this.jsonEnabled()) {
      if (clients.length === 0) this.logErr('No clients yet: add one with `jwtis client add NAME`')
      else {
        const rows = [
          ['NAME', 'SIG', 'ENC', 'REFRESH', 'KEYS', 'CREATED'],
          ...clients.map((c) => [c.kid, c.sig_alg, c.enc_alg, c.refresh_strategy, String(c.keys), c.created]),
        ]
        const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
        for (const r of rows)
          this.print(
            r
              .map((cell, i) => cell.padEnd(widths[i]))
              .join('  ')
              .trimEnd(),
          )
      }
    }

    return clients
  }
}
