/**
 * oclif's command-line parsing, for the fast entry, from the table of command definitions that
 * the build derives from the oclif commands themselves (./table.ts writes dist/fast/commands.json).
 * Each function answers what oclif would, or undefined where oclif should answer: every usage
 * error (oclif words and reports it), and reading an argument from stdin. The steps follow
 * oclif's own Parser (lib/parser/parse.js and validate.js in oclif/core) and Command
 * (jsonEnabled), quirks included; test/fast/parse.test.ts runs both on the same command lines.
 * No oclif import: this is the start-up path.
 */
import {type ValueKind, valueParsers} from '../cli/flag-values.js'

/** A flag as oclif's parser sees it (only what changes a parse; the table leaves out help texts). */
export interface FlagSpec {
  /** Long aliases (oclif also takes a one-letter one as `-x`). */
  aliases?: string[]
  allowNo?: boolean
  char?: string
  default?: unknown
  dependsOn?: string[]
  exactlyOne?: string[]
  exclusive?: string[]
  /** A value parsed by ../cli/flag-values.ts, or oclif's integer; absent: the value as typed. */
  kind?: 'integer' | ValueKind
  /** An integer flag's bounds. */
  max?: number
  min?: number
  multiple?: boolean
  /** Each value needs its own flag (`--aud a --aud b`), so a word after one is an argument. */
  multipleNonGreedy?: boolean
  options?: string[]
  required?: boolean
  type: 'boolean' | 'option'
}

export interface ArgSpec {
  default?: unknown
  /** Without it, oclif reads a missing argument from stdin (unless stdin is a terminal). */
  ignoreStdin?: boolean
  name: string
  options?: string[]
  required?: boolean
}

export interface CommandSpec {
  args: ArgSpec[]
  /** oclif's `enableJsonFlag`. */
  enableJson: boolean
  flags: Record<string, FlagSpec>
}

export interface FastTable {
  /** Commands whose definitions the parser here fully understands. */
  commands: Record<string, CommandSpec>
  /** Words before the flags that show help instead (oclif's `--help` and additionalHelpFlags). */
  helpFlags: string[]
  /** Every command id and alias of the CLI, as oclif matches command lines to them. */
  ids: string[]
  /** The variables that turn on JSON output for every command (oclif's `<BIN>_CONTENT_TYPE`). */
  jsonEnv: string[]
  /** Commands left to oclif, with what the parser here does not understand in them. */
  unsupported: Record<string, string>
}

export interface Parsed {
  args: Record<string, unknown>
  flags: Record<string, unknown>
}

/** The command id and the words after it, as oclif reads them with topics separated by spaces. */
export function resolveCommand(table: FastTable, argv: string[]): undefined | {id: string; rest: string[]} {
  // `topic:command` is oclif's too, and rare: left to it
  if (argv[0]?.includes(':')) return undefined
  const usable = new Set(table.ids.flatMap((id) => id.split(':').map((_, i, parts) => parts.slice(0, i + 1).join(':'))))
  let words = 0
  while (words < argv.length && usable.has(argv.slice(0, words + 1).join(':'))) words++
  // A word that is no command's goes on to the parse: for a command without arguments it is
  // an unexpected one, and oclif, which reads it as part of the id instead, refuses it too.
  const id = argv.slice(0, words).join(':')
  return Object.hasOwn(table.commands, id) ? {id, rest: argv.slice(words)} : undefined
}

/** Whether oclif shows help instead of running the command (a help flag before any `--`). */
export function helpRequested(table: FastTable, argv: string[]): boolean {
  for (const arg of argv) {
    if (table.helpFlags.includes(arg)) return true
    if (arg === '--') return false
  }

  return false
}

/** oclif's `jsonEnabled()`: `--json` before any `--`, or the CLI's CONTENT_TYPE variable set to json. */
export function jsonEnabled(table: FastTable, spec: CommandSpec, argv: string[], env = process.env): boolean {
  if (!spec.enableJson) return false
  const set = table.jsonEnv.find((name) => env[name])
  if (set && env[set]!.toLowerCase() === 'json') return true
  const json = argv.indexOf('--json')
  const end = argv.indexOf('--')
  return json !== -1 && (end === -1 || json < end)
}

/** The args and flags oclif parses from `argv` (the words after the command id), or undefined. */
export async function parseCommandLine(
  spec: CommandSpec,
  argv: string[],
  stdinIsTTY = Boolean(process.stdin.isTTY),
): Promise<Parsed | undefined> {
  const tokens = tokenize(spec, argv)
  if (!tokens) return undefined
  const args = argValues(spec, tokens.positionals, stdinIsTTY)
  const flags = await flagValues(spec, tokens.given)
  if (!args || !flags || !valid(spec, flags, tokens.given)) return undefined
  return {args, flags: flags.values}
}

interface Tokens {
  /** Per flag given: its values, or for a boolean flag the words that set it. */
  given: Map<string, string[]>
  positionals: string[]
}

/** oclif's first pass (Parser.parse): which words are which flag's, and the positional arguments. */
function tokenize(spec: CommandSpec, argv: string[]): Tokens | undefined {
  const given = new Map<string, string[]>()
  const positionals: string[] = []
  const pending = [...argv]
  // the last option flag: while it is a (greedy) multiple one, the words after it are more of its values
  let current: string | undefined
  let flagsDone = false
  while (pending.length > 0) {
    const word = pending.shift()!
    if (!flagsDone && word.startsWith('-') && word !== '-') {
      if (word === '--') {
        flagsDone = true
        continue
      }

      const found = findWithValue(spec, word, pending)
      if (found) {
        const taken = takeFlag(spec, found, word, pending, given)
        if (taken === false) return undefined
        current = taken ?? current
        continue
      }

      if (!/^-\d/.test(word)) return undefined // an unknown flag (a negative number is a value)
    }

    if (!flagsDone && current !== undefined && greedy(spec.flags[current])) given.get(current)!.push(word)
    else positionals.push(word)
  }

  return {given, positionals}
}

/**
 * Records a flag's word (a boolean flag) or value (an option flag, whose name it returns);
 * false when oclif refuses it (given twice, or without a value).
 */
function takeFlag(
  spec: CommandSpec,
  {isLong, name}: {isLong: boolean; name: string},
  word: string,
  pending: string[],
  given: Map<string, string[]>,
): false | string | undefined {
  const words = given.get(name) ?? []
  given.set(name, words)
  if (spec.flags[name].type === 'boolean') {
    words.push(word)
    // -abc: the rest of the characters are flags of their own
    if (!isLong && word.length > 2) pending.unshift(`-${word.slice(2)}`)
    return undefined
  }

  if (!spec.flags[name].multiple && words.length > 0) return false
  const value = isLong || word.length < 3 ? pending.shift() : word.slice(word[2] === '=' ? 3 : 2)
  if (value === undefined || findFlag(spec, value)) return false
  words.push(value)
  return name
}

/**
 * The flag a word names; `--name=value` (a word no flag has) is the flag `--name` followed by
 * the word `value`, which goes back to `pending` (as oclif does, for a boolean flag too).
 */
function findWithValue(spec: CommandSpec, word: string, pending: string[]) {
  const found = findFlag(spec, word)
  const eq = word.indexOf('=')
  if (found || eq === -1) return found
  const head = findFlag(spec, word.slice(0, eq))
  if (head) pending.unshift(word.slice(eq + 1))
  return head
}

function findFlag(spec: CommandSpec, word: string): undefined | {isLong: boolean; name: string} {
  const entries = Object.entries(spec.flags)
  const byAlias = (alias: string) => entries.find(([, flag]) => flag.aliases?.includes(alias))
  if (word.startsWith('--')) {
    const name = word.slice(2)
    if (Object.hasOwn(spec.flags, name)) return {isLong: true, name}
    const aliased = byAlias(name)
    if (aliased) return {isLong: true, name: aliased[0]}
    if (!word.startsWith('--no-')) return undefined
    const negated = word.slice('--no-'.length)
    const flag: [string, FlagSpec] | undefined = Object.hasOwn(spec.flags, negated)
      ? [negated, spec.flags[negated]]
      : byAlias(negated)
    return flag && flag[1].type === 'boolean' && flag[1].allowNo ? {isLong: true, name: flag[0]} : undefined
  }

  const char = word[1]
  if (word.startsWith('-') && char !== undefined) {
    const flag = byAlias(char) ?? entries.find(([, f]) => f.char === char)
    if (flag) return {isLong: false, name: flag[0]}
  }

  return undefined
}

interface FlagValues {
  /** Flags that took their default (oclif's `setFromDefault`). */
  defaulted: Set<string>
  values: Record<string, unknown>
}

/** oclif's `_flags`: each flag's value, from its words or its default; undefined for a bad value. */
async function flagValues(spec: CommandSpec, given: Map<string, string[]>): Promise<FlagValues | undefined> {
  const values: Record<string, unknown> = {}
  const defaulted = new Set<string>()
  for (const [name, flag] of Object.entries(spec.flags)) {
    const words = given.get(name)
    if (!words) {
      defaulted.add(name)
      if (flag.default !== undefined) values[name] = flag.default
      continue
    }

    if (flag.type === 'boolean') {
      const negations = [name, ...(flag.aliases ?? [])].map((n) => `--no-${n}`)
      values[name] = !negations.includes(words.at(-1)!)
      continue
    }

    if (words.some((word) => flag.options && !flag.options.includes(word))) return undefined
    try {
      const parsed = await Promise.all(words.map((word) => flagValue(flag, name, word)))
      values[name] = flag.multiple ? parsed : parsed[0]
    } catch {
      return undefined // oclif reports it
    }
  }

  return {defaulted, values}
}

function flagValue(flag: FlagSpec, name: string, word: string): Promise<number> | string {
  if (flag.kind === 'integer') return integer(flag, word)
  return flag.kind ? valueParsers[flag.kind](word, name) : word
}

/** oclif's Flags.integer: digits with an optional minus, within min and max; throws otherwise. */
async function integer({max, min}: FlagSpec, word: string): Promise<number> {
  const value = Number.parseInt(word, 10)
  if (!/^-?\d+$/.test(word) || value < (min ?? value) || value > (max ?? value)) throw new Error('oclif reports it')
  return value
}

/** oclif's `_args` and the checks on them; undefined where oclif refuses or reads stdin. */
function argValues(spec: CommandSpec, positionals: string[], stdinIsTTY: boolean): Record<string, unknown> | undefined {
  if (positionals.length > spec.args.length) return undefined // unexpected arguments
  const args: Record<string, unknown> = {}
  for (const [i, arg] of spec.args.entries()) {
    if (i < positionals.length) {
      if (arg.options && !arg.options.includes(positionals[i])) return undefined
      args[arg.name] = positionals[i]
      continue
    }

    // (oclif reads stdin for it with a 10 ms timeout: its race, not one to restate here)
    if (!arg.ignoreStdin && !stdinIsTTY) return undefined
    if (arg.default || arg.default === false) args[arg.name] = arg.default
    else if (arg.required) return undefined
  }

  return args
}

/**
 * oclif's validateFlags: required flags, dependsOn (defaults count), exclusive (they do not) and
 * exactlyOne (they do: a flag set refuses the others of its list, one unset needs one of them).
 */
function valid(spec: CommandSpec, {defaulted, values}: FlagValues, given: Map<string, string[]>): boolean {
  const set = (other: string) => values[other] !== undefined
  return Object.entries(spec.flags).every(([name, flag]) => {
    if (!set(name)) return !flag.required && (!flag.exactlyOne?.length || flag.exactlyOne.some((other) => set(other)))
    if (flag.dependsOn?.some((other) => !set(other))) return false
    if (flag.exactlyOne?.some((other) => other !== name && set(other))) return false
    return defaulted.has(name) || !flag.exclusive?.some((other) => given.has(other) && values[other] !== undefined)
  })
}

const greedy = (flag: {multiple?: boolean; multipleNonGreedy?: boolean}): boolean =>
  Boolean(flag.multiple && !flag.multipleNonGreedy)
