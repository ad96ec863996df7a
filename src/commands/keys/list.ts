import {Flags} from '@oclif/core'

import {clock, VaultCommand} from '../../cli/base.js'

export interface KeyRow {
  alg: string
  client: string
  created: string
  kid: string
  retire_after: null | string
  /** When the key rotates on use (active) or is dropped (retired). */
  rotate_after: null | string
  state: 'active' | 'expired' | 'retired'
  use: string
}

export default class KeysList extends VaultCommand<typeof KeysList> {
  static override description = 'List keys with their state (active, retired until a date) and dates.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --client billing --json',
  ]
  static override flags = {client: Flags.string({char: 'c', description: 'only this client'})}

  async run(): Promise<KeyRow[]> {
    const {clientSettings, getClient} = await import('../../core/clients.js')
    const doc = (await this.openVault()).document
    const now = clock()()
    const names = this.flags.client ? [this.flags.client] : Object.keys(doc.clients).sort()
    const rows: KeyRow[] = []
    for (const client of names) {
      const {keyTtlMs} = clientSettings(doc, client)
      for (const k of getClient(doc, client).keys) {
        const gone = k.state === 'retired' && k.retireAfter !== null && Date.parse(k.retireAfter) <= now
        rows.push({
          alg: k.jwk.alg,
          client,
          created: k.created,
          kid: k.jwk.kid,
          retire_after: k.retireAfter,
          rotate_after: k.state === 'active' ? new Date(Date.parse(k.created) + keyTtlMs).toISOString() : null,
          state: gone ? 'expired' : k.state,
          use: k.use,
        })
      }
    }

    if (!this.jsonEnabled()) {
      const table = [
        ['CLIENT', 'USE', 'STATE', 'ALG', 'KID', 'CREATED', 'UNTIL'],
        ...rows.map((r) => [
          r.client,
          r.use,
          r.state,
          r.alg,
          r.kid,
          r.created,
          r.retire_after ?? `rotates ${r.rotate_after}`,
        ]),
      ]
      const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)))
      for (const row of table)
        this.print(
          row
            .map((cell, i) => cell.padEnd(widths[i]))
            .join('  ')
            .trimEnd(),
        )
    }

    return rows
  }
}
