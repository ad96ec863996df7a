import {Flags} from '@oclif/core'

import type {KeyRow} from '../../core/lifecycle.js'

import {clock, VaultCommand} from '../../cli/base.js'

export default class KeysList extends VaultCommand<typeof KeysList> {
  static override description = 'List keys with their state (active, retired until a date) and dates.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --client billing --json',
  ]
  static override flags = {client: Flags.string({char: 'c', description: 'only this client'})}

  async run(): Promise<KeyRow[]> {
    const {keyRows} = await import('../../core/lifecycle.js')
    const rows = keyRows((await this.openVault()).document, clock()(), this.flags.client)
    if (!this.jsonEnabled()) {
      const table = [
        ['CLIENT', 'USE', 'STATE', 'ALG', 'KID', 'CREATED', 'UNTIL'],
        ...rows.map((r) => [
          r.client ?? '(issuer)',
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
