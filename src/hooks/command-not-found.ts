import type {Hook, Interfaces} from '@oclif/core'

import {reportError} from '../cli/io.js'
import {UsageError} from '../common/errors.js'
import {closest} from '../common/suggest.js'

/**
 * An unknown command is a usage error (exit 2) like any other: one line naming the closest
 * commands as they are typed (`token issue`, not `token:issue`), or the error JSON with --json.
 */
const hook: Hook<'command_not_found'> = async function ({argv, config, id}) {
  reportUnknownCommand(config, id, (argv ?? []).includes('--json'))
}

export default hook

/** Reports `id` (`token:isue`, or `token isue`) as an unknown command; also for `help ID` (./help.ts). */
export function reportUnknownCommand(config: Interfaces.Config, id: string, json: boolean): void {
  const typed = id.replaceAll(':', ' ')
  const topics = config.topics.map((t) => t.name.replaceAll(':', ' '))
  const candidates = [
    ...new Set([...config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' ')), ...topics]),
  ]
  const ranked = closest(typed, candidates).map((name) => `\`${config.bin} ${name}\``)
  const topic = topics.find((t) => typed.startsWith(`${t} `))
  const hint =
    ranked.length > 0
      ? `: did you mean ${ranked.join(' or ')}?`
      : `: see \`${config.bin} ${topic ? `${topic} ` : ''}--help\``
  reportError(new UsageError(`unknown command \`${config.bin} ${typed}\`${hint}`), json)
}
