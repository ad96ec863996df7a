import {Args} from '@oclif/core'

import type {ClientView} from '../../core/clients.js'

import {clock, VaultCommand} from '../../cli/base.js'
import {table} from '../../cli/output.js'
import {settingsJson} from '../../core/settings.js'

/** A client as `--json` shows it: the view, with its settings snake_case like every other key. */
export type ClientJson = Omit<ClientView, 'settings'> & {settings: Record<string, unknown>}

export default class ClientShow extends VaultCommand<typeof ClientShow> {
  static override args = {name: Args.string({description: 'client name', required: true})}
  static override description = 'Show a client: its settings and its public keys (never private ones).'
  static override examples = [
    '<%= config.bin %> <%= command.id %> billing',
    '<%= config.bin %> <%= command.id %> billing --json | jq .pub_sig_key',
  ]

  async run(): Promise<ClientJson> {
    const {clientView} = await import('../../core/clients.js')
    const view = clientView((await this.openVault()).document, this.args.name, new Date(clock()()))
    if (!this.jsonEnabled()) {
      const s = view.settings
      this.print(
        table([
          ['client', view.kid],
          ['created', view.created],
          ['signing', s.sigAlg],
          ['encryption', `${s.encAlg} ${s.enc}`],
          ['refresh strategy', s.refreshStrategy],
          ['refresh seal', s.refreshSeal],
          ['lifetimes', `access ${s.accessTtl}, refresh ${s.refreshTtl}, session ${s.sessionTtl}, keys ${s.keyTtl}`],
          ['audiences', view.aud.join(', ')],
          ['keys rotate', `${new Date(view.expiry * 1000).toISOString()}${view.valid ? '' : ' (due)'}`],
          ...view.keys.map((k): [string, string] => [
            `${k.use} key`,
            `${k.kid} ${k.alg} ${k.state}${k.retire_after ? ` until ${k.retire_after}` : ''}`,
          ]),
        ]),
      )
    }

    return {...view, settings: settingsJson(view.settings)}
  }
}
