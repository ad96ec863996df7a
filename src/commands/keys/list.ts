import {Flags} from '@oclif/core'

import type {KeyRow} from '../../core/lifecycle.js'

import {VaultCommand} from '../../cli/base.js'

export default class KeysList extends VaultCommand<typeof KeysList> {
  static override description = 'List keys with their state (active, retired until a date) and dates.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --client billing --json',
  ]
  static override flags = {client: Flags.string({char: 'c', description: 'only this client'})}

  async run(): Promise<KeyRow[]> {
    const {listKeysAction} = await import('../../cli/actions/keys.js')
    return listKeysAction(this.context(), this.flags.client)
  }
}
