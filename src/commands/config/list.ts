import {BaseCommand} from '../../cli/base.js'
import {readSettings, SETTINGS} from '../../cli/settings-file.js'

export default class ConfigList extends BaseCommand<typeof ConfigList> {
  static override description = 'List the user settings that are set.'
  static override examples = ['<%= config.bin %> <%= command.id %>']

  async run(): Promise<Record<string, string>> {
    const settings = readSettings(this.config.configDir)
    if (!this.jsonEnabled()) {
      for (const name of Object.keys(SETTINGS) as Array<keyof typeof SETTINGS>) {
        if (settings[name] !== undefined) this.print(`${name}=${settings[name]}`)
      }
    }

    return settings
  }
}
