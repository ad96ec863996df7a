/**
 * Builds the fast entry's table (dist/fast/commands.json) from the oclif command classes, at
 * build time (`npm run bundle` runs `node dist/fast/table.js`), so that the fast entry parses
 * every command line from the very definitions oclif parses it with (./parse.ts), and loads no
 * oclif to do it. A command whose definition uses anything ./parse.ts does not implement is
 * listed as unsupported, with the reason, and the fast entry leaves it to oclif.
 */
import {Args, type Command, Config, Flags, Plugin} from '@oclif/core'
import {writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {isDeepStrictEqual} from 'node:util'

import type {ArgSpec, CommandSpec, FastTable, FlagSpec} from './parse.js'

import {valueKinds} from '../cli/flags.js'

type Definition = Record<string, unknown>

/** What changes nothing in a parse: texts and markers for help. */
const HELP_KEYS = [
  'defaultHelp',
  'description',
  'helpGroup',
  'helpLabel',
  'helpValue',
  'hidden',
  'input',
  'name',
  'summary',
]
const FLAG_KEYS = new Set([
  'aliases',
  'allowNo',
  'char',
  'default',
  'dependsOn',
  'exactlyOne',
  'exclusive',
  'multiple',
  'multipleNonGreedy',
  'options',
  'parse',
  'required',
  'type',
  ...HELP_KEYS,
])
const INTEGER_KEYS = new Set(['max', 'min', ...FLAG_KEYS])
const ARG_KEYS = new Set(['default', 'ignoreStdin', 'options', 'parse', 'required', 'type', ...HELP_KEYS])
// oclif's own parse functions, which keep the value as typed
const AS_TYPED = new Set([Flags.string().parse, Flags.boolean().parse, Args.string().parse].map(String))
// oclif's integer flags share one parse function, which ./parse.ts follows (min and max included)
const INTEGER = Flags.integer().parse

class Unsupported extends Error {}

export async function buildTable(root: string): Promise<FastTable> {
  const config = await Config.load(root)
  // the root plugin from its classes, not from an oclif.manifest.json older than this build
  const plugin = new Plugin({ignoreManifest: true, isRoot: true, root, type: 'core'})
  await plugin.load()
  const others = [...config.plugins.values()].filter((p) => !p.isRoot)
  const table: FastTable = {
    commands: {},
    helpFlags: [...new Set(['--help', ...(config.pjson.oclif.additionalHelpFlags ?? [])])],
    ids: [plugin, ...others].flatMap((p) =>
      p.commands.flatMap((c) => [c.id, ...c.aliases, ...(c.hiddenAliases ?? [])]),
    ),
    jsonEnv: config.scopedEnvVarKeys('CONTENT_TYPE'),
    unsupported: {},
  }
  for (const id of plugin.commandIDs) {
    try {
      table.commands[id] = commandSpec(await plugin.findCommand(id, {must: true}))
    } catch (error) {
      if (!(error instanceof Unsupported)) throw error
      table.unsupported[id] = error.message
    }
  }

  return table
}

function commandSpec(command: Command.Class): CommandSpec {
  if (command.strict === false) throw new Unsupported('strict: false')
  if ((command as {'--'?: unknown})['--'] !== undefined) throw new Unsupported("'--'")
  if (command.state === 'deprecated') throw new Unsupported('deprecated')
  // as Command.parse merges them (oclif's aggregateFlags)
  const merged = {...command.baseFlags, ...command.flags}
  const flags = (command.enableJsonFlag ? {json: Flags.boolean(), ...merged} : merged) as Record<string, Definition>
  let optional = false
  const args = Object.entries((command.args ?? {}) as Record<string, Definition>).map(([name, arg]) => {
    // oclif refuses a required argument after an optional one (a definition error): its to report
    if (arg.required && optional) throw new Unsupported(`arg ${name}: required after optional`)
    optional ||= !arg.required
    return argSpec(name, arg)
  })
  return {
    args,
    enableJson: Boolean(command.enableJsonFlag),
    flags: Object.fromEntries(Object.entries(flags).map(([name, flag]) => [name, flagSpec(name, flag)])),
  }
}

function flagSpec(name: string, flag: Definition): FlagSpec {
  const kind = flag.parse === INTEGER ? 'integer' : valueKinds.get(flag.parse)
  if (kind === 'integer') understood(`flag --${name}`, {...flag, parse: undefined}, INTEGER_KEYS)
  else if (!kind) understood(`flag --${name}`, flag, FLAG_KEYS)
  const spec = pick(flag, [
    'aliases',
    'allowNo',
    'char',
    'dependsOn',
    'exactlyOne',
    'exclusive',
    'max',
    'min',
    'multiple',
    'multipleNonGreedy',
    'options',
    'required',
    'type',
  ])
  if (flag.default !== undefined) spec.default = plain(`flag --${name}`, flag.default)
  if (kind) spec.kind = kind
  return spec as unknown as FlagSpec
}

function argSpec(name: string, arg: Definition): ArgSpec {
  understood(`arg ${name}`, arg, ARG_KEYS)
  const spec: Definition = {name, ...pick(arg, ['ignoreStdin', 'options', 'required'])}
  if (arg.default !== undefined) spec.default = plain(`arg ${name}`, arg.default)
  return spec as unknown as ArgSpec
}

/** The keys that are set (the table leaves out what is undefined or false). */
function pick(definition: Definition, keys: string[]): Definition {
  return Object.fromEntries(
    keys.flatMap((key) => (definition[key] === undefined || definition[key] === false ? [] : [[key, definition[key]]])),
  )
}

/** Refuses a definition with a key the parser does not follow, or its own parse function. */
function understood(what: string, definition: Definition, keys: Set<string>): void {
  for (const [key, value] of Object.entries(definition)) {
    if (value === undefined || value === false) continue
    if (!keys.has(key)) throw new Unsupported(`${what}: ${key}`)
  }

  if (typeof definition.parse === 'function' && !AS_TYPED.has(String(definition.parse))) {
    throw new Unsupported(`${what}: its own parse`)
  }
}

/** A default the table holds as it is (not one computed when the command runs, nor an object JSON changes). */
function plain(what: string, value: unknown): unknown {
  const copy = typeof value === 'function' ? undefined : JSON.parse(JSON.stringify(value) ?? 'null')
  if (!isDeepStrictEqual(copy, value)) throw new Unsupported(`${what}: a default of its own kind`)
  return copy
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  writeFileSync(new URL('commands.json', import.meta.url), `${JSON.stringify(await buildTable(root))}\n`)
}
