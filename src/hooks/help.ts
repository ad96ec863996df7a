import {Help} from '@oclif/core'

import {reportUnknownCommand} from './command-not-found.js'

/**
 * oclif's help, except for a subject it does not know (`jwtis help nope`, `jwtis nope --help`):
 * that is reported as any unknown command is, one line with the closest commands, exit 2.
 */
export default class JwtisHelp extends Help {
  override async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv)
    } catch (error) {
      // (oclif's own wording, the one place it names the subject it could not find)
      const unknown = /^Command (.+) not found\.$/.exec((error as Error).message)
      if (!unknown) throw error
      reportUnknownCommand(this.config, unknown[1], argv.includes('--json'))
    }
  }
}
