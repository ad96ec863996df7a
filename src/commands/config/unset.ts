import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {checkSettingName, openSettings} from '../../cli/conf.js'

export default class ConfigUnset extends BaseCommand<typeof ConfigUnset> {
  static override args = {name: Args.string({description: 'setting name', required: true})}
  static override description = 'Remove a user setting, so its default applies again.'
  static override examples = ['<%= config.bin %> <%= command.id %> vault']

  async run(): Promise<{name: string; removed: boolean}> {
    const name = checkSettingName(this.args.name)
    const store = await openSettings(this.config.configDir)
    const removed = store.has(name)
    store.delete(name)
    return {name, removed}
  }
}
