import {Args, Flags} from '@oclif/core'

import type {ClientView} from '../../core/clients.js'

import {clock, VaultCommand} from '../../cli/base.js'
import {oauthFlags, oauthInput, settingsFlags, settingsInput} from '../../cli/flags.js'
import {table} from '../../cli/output.js'

/** Algorithms are fixed by the client's keys: everything else may change. */
const changeable = Object.fromEntries(
  Object.entries(settingsFlags).filter(([name]) => !['enc', 'enc-alg', 'sig-alg'].includes(name)),
) as Omit<typeof settingsFlags, 'enc' | 'enc-alg' | 'sig-alg'>

export default class ClientUpdate extends VaultCommand<typeof ClientUpdate> {
  static override args = {name: Args.string({description: 'client name', required: true})}
  static override writesVault = true
  static override summary = `Change a client's audiences, lifetimes, refresh strategy or OAuth registration.`
  static override description = `--aud replaces the list of audiences the client may issue tokens for (by default only its own name); a request for any other audience is refused (exit 2, HTTP 422), and with --aud, \`jwtis token verify\` accepts only tokens of clients registered for it. --scope and --redirect-uri replace their lists too, --jwks the client's assertion keys. Keys and algorithms are not changed here: see \`jwtis keys rotate\`.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> billing --aud https://api.example.com --aud https://billing.example.com',
    '<%= config.bin %> <%= command.id %> billing --access-ttl 5m --refresh-strategy refreshBoth',
  ]
  static override flags = {
    ...changeable,
    ...oauthFlags,
    aud: Flags.string({
      description: 'audience the client may issue tokens for (repeatable; replaces the list)',
      helpGroup: 'CLIENT',
      multiple: true,
      multipleNonGreedy: true,
    }),
  }

  async run(): Promise<ClientView> {
    const {updateClient} = await import('../../core/clients.js')
    const {aud, jwks, 'redirect-uri': redirectUri, scope, ...flags} = this.flags
    const input = {...settingsInput(flags), ...(await oauthInput({jwks, 'redirect-uri': redirectUri, scope})), aud}
    const view = await updateClient(await this.openVault(), this.args.name, input, new Date(clock()()))
    if (!this.jsonEnabled()) {
      const s = view.settings
      this.logErr(
        table([
          ['client', view.kid],
          ['audiences', view.aud.join(', ')],
          ['lifetimes', `access ${s.accessTtl}, refresh ${s.refreshTtl}, session ${s.sessionTtl}, keys ${s.keyTtl}`],
          ['refresh strategy', s.refreshStrategy],
          ['refresh seal', s.refreshSeal],
        ]),
      )
    }

    return view
  }
}
