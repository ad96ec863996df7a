import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {checkSettingName} from '../../cli/conf.js'
import {readSettings} from '../../cli/settings-file.js'
import {NotFoundError} from '../../common/errors.js'

export default class ConfigGet extends BaseCommand<typeof ConfigGet> {
  static override args = {name: Args.string({description: 'setting name', required: true})}
  static override description = 'Print one user setting (exit 4 when it is not set).'
  static override examples = ['<%= config.bin %> <%= command.id %> vault']

  async run(): Promise<{name: string; value: string}> {
    const name = checkSettingName(this.args.name)
    const value = readSettings(this.config.configDir)[name]
    if (value === undefined) throw new NotFoundError('SETTING_NOT_FOUND', `setting "${name}" is not set`)
    if (!this.jsonEnabled()) this.print(value)
    return {name, value}
  }
}
