import {Args, Flags} from '@oclif/core'

import {VaultCommand} from '../../cli/base.js'
import {canPrompt} from '../../cli/output.js'
import {UsageError} from '../../common/errors.js'

export default class ClientRemove extends VaultCommand<typeof ClientRemove> {
  static override aliases = ['client rm']
  static override args = {name: Args.string({description: 'client name', required: true})}
  static override writesVault = true
  static override summary = 'Remove a client and all its keys.'
  static override description = `Its tokens stop verifying at once.

Asks to confirm on a terminal; elsewhere pass --yes.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> billing',
    '<%= config.bin %> <%= command.id %> billing --yes',
  ]
  static override flags = {yes: Flags.boolean({char: 'y', description: 'do not ask to confirm'})}

  async run(): Promise<{kid: string; removed: true}> {
    const {getClient, removeClient} = await import('../../core/clients.js')
    const vault = await this.openVault()
    const {name} = this.args
    getClient(vault.document, name)
    if (!this.flags.yes) {
      if (!canPrompt()) throw new UsageError(`removing client "${name}" deletes its keys: pass --yes to confirm`)
      const {confirm} = await import('@inquirer/prompts')
      const ok = await confirm(
        {default: false, message: `Remove client "${name}" and its keys? Its tokens will stop verifying.`},
        {output: process.stderr},
      )
      if (!ok) throw new UsageError('not removed')
    }

    await removeClient(vault, name)
    this.logErr(`Removed client ${name}`)
    return {kid: name, removed: true}
  }
}
