/**
 * The fast entry parses command lines from the table the build derives from the oclif commands
 * (dist/fast/commands.json): for every command in it, a corpus of command lines (every flag in
 * each form oclif takes, and the usage errors) goes through oclif's own parsing (the command's
 * init, as `jwtis` runs it) and through src/fast/parse.ts, in-process. Whatever the fast parser
 * accepts, oclif parses to the same args and flags; whatever oclif refuses, the fast parser hands
 * back; and what oclif accepts without reading stdin, the fast parser accepts too.
 */
import {type Command, Config} from '@oclif/core'
import {normalizeArgv} from '@oclif/core/help'
import {helpAddition} from '@oclif/core/run'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {
  type CommandSpec,
  type FastTable,
  type FlagSpec,
  helpRequested,
  jsonEnabled,
  parseCommandLine,
  resolveCommand,
} from '../../src/fast/parse.js'
import {ROOT} from '../helpers/cli.js'

const table = JSON.parse(readFileSync(join(ROOT, 'dist/fast/commands.json'), 'utf8')) as FastTable
/** What oclif reads for an argument missing from the command line (stdin, cached as oclif caches it). */
const STDIN = 'from-stdin'
let config: Config

beforeAll(async () => {
  config = await Config.load(ROOT)
  // oclif reads stdin for a missing argument only when it is not a terminal: make that so here
  Object.defineProperty(process.stdin, 'isTTY', {configurable: true, value: undefined})
  const g = globalThis as {oclif?: Record<string, unknown>}
  g.oclif = {...g.oclif, stdinCache: STDIN}
})

type OclifCommand = Pick<Command, 'jsonEnabled'> & {init(): Promise<void>}
type OclifAnswer = {error: string} | {json: boolean; parsed: {args: unknown; flags: unknown}}

/** The command's own parse, as `jwtis` runs it (BaseCommand.init), and oclif's jsonEnabled. */
async function oclif(id: string, argv: string[]): Promise<OclifAnswer> {
  const CommandClass = await config.findCommand(id, {must: true}).load()
  // (init is protected: it is what oclif's run calls first, and what parses the command line)
  const command = new (CommandClass as unknown as new (argv: string[], config: Config) => OclifCommand)(argv, config)
  try {
    await command.init()
    const {args, flags} = command as unknown as {args: unknown; flags: unknown}
    return {json: command.jsonEnabled(), parsed: {args, flags}}
  } catch (error) {
    return {error: (error as Error).message}
  }
}

const SAMPLES: Partial<Record<NonNullable<FlagSpec['kind']>, (flag: FlagSpec) => string>> = {
  duration: () => '90s',
  integer: (flag) => String(flag.min ?? flag.max ?? 7),
}
const sample = (flag: FlagSpec) => flag.options?.[0] ?? SAMPLES[flag.kind!]?.(flag) ?? 'v1'

/** Values oclif refuses for a flag of this kind (none for one that keeps the value as typed). */
function badValues(flag: FlagSpec): string[] {
  if (flag.kind === 'duration') return ['5 minutes']
  if (flag.kind !== 'integer') return flag.options ? ['not-an-option'] : []
  const near = [flag.min === undefined ? [] : [flag.min - 1], flag.max === undefined ? [] : [flag.max + 1]].flat()
  return ['x', '1.5', '0x10', ' 7', ...near.map(String)]
}

/** Command lines for one command: each flag in every form, with and without what it needs, and errors. */
function corpus(spec: CommandSpec): string[][] {
  const required = Object.entries(spec.flags).filter(([, flag]) => flag.required)
  const base = required.flatMap(([name, flag]) =>
    flag.type === 'option' ? [`--${name}`, sample(flag)] : [`--${name}`],
  )
  const args = spec.args.map((arg) => arg.options?.[0] ?? `${arg.name}-value`)
  const lines: string[][] = [
    [...args, ...base],
    [...base, ...args],
    base,
    [...base, ...args, 'extra'],
    [...base, '--', ...args],
    [...base, '-', ...args.slice(1)],
    [...base, ...args, '--nonexistent'],
    [...base, ...args, '-Z'],
    [...base, ...args, '--json'],
    [...base, ...args, '--json', '--json'],
    [...base, '--', '--json'],
    [...base, ...args, '--help'],
    ...required.map(([name]) => [...args, ...base.filter((w, i) => w !== `--${name}` && base[i - 1] !== `--${name}`)]),
  ]
  for (const [name, flag] of Object.entries(spec.flags)) {
    const forms = flag.type === 'boolean' ? booleanForms(name, flag) : optionForms(name, flag, args)
    lines.push(...forms.map((form) => [...base, ...form]), ...forms.map((form) => [...args, ...form, ...base]))
    for (const other of [...(flag.dependsOn ?? []), ...(flag.exclusive ?? []), ...(flag.exactlyOne ?? [])]) {
      const given = spec.flags[other]?.type === 'option' ? [`--${other}`, sample(spec.flags[other])] : [`--${other}`]
      lines.push([...base, ...args, ...forms[0], ...given], [...base, ...args, ...given, ...forms[0]])
    }
  }

  return lines
}

function booleanForms(name: string, flag: FlagSpec): string[][] {
  return [
    [`--${name}`],
    [`--no-${name}`],
    [`--${name}`, `--no-${name}`],
    [`--no-${name}`, `--${name}`],
    [`--${name}=true`],
    ...(flag.char ? [[`-${flag.char}`], [`-${flag.char}${flag.char}`]] : []),
    ...(flag.aliases ?? []).map((alias) => [`--${alias}`]),
  ]
}

function optionForms(name: string, flag: FlagSpec, args: string[]): string[][] {
  const value = sample(flag)
  return [
    [`--${name}`, value],
    [`--${name}=${value}`],
    [`--${name}=`],
    [`--${name}`, value, `--${name}`, flag.options?.at(-1) ?? 'v2'],
    [`--${name}`, value, ...args],
    [`--${name}`, value, '--json', ...args],
    [`--${name}`],
    [`--${name}`, '--json'],
    [`--${name}`, '--'],
    [`--${name}`, '-5'],
    [`--${name}`, '-'],
    [`--${name}`, '--nonexistent'],
    ...badValues(flag).map((bad) => [`--${name}`, bad]),
    ...(flag.options ?? []).map((option) => [`--${name}`, option]),
    ...(flag.char ? [[`-${flag.char}`, value], [`-${flag.char}${value}`], [`-${flag.char}=${value}`]] : []),
    ...(flag.aliases ?? []).map((alias) => [`--${alias}`, value]),
  ]
}

/** Lines beyond the generated ones: the combinations the hot commands' users type. */
const HAND_PICKED: Record<string, string[][]> = {
  'token:issue': [
    ['-c', 'app', '--sub=alice', '--claim', 'a=1', '--claim', 'b=2', '--aud', 'x', '--aud', 'y', '--json'],
    ['-capp', '--aud', 'x', 'y', '--refresh', '--ttl', '1h30m', '--nbf', '5m', '--encrypt'],
    ['--client', 'app', '--batch', '--claims', '{}'],
    ['--client', 'app', '--batch', '--quiet', '--progress'],
    ['--client', 'app', '--quiet'],
    ['--client', 'app', '--no-refresh'],
    ['--client', 'app', '--ttl', '-5'],
    ['--client', 'app', '--ttl', '0'],
    ['--client', 'app', '--client', 'other'],
    ['--client', '--sub', 'x'],
    ['--', '--client', 'app'],
  ],
  'token:verify': [
    ['TOKEN', '--aud', 'a', '--aud', 'b', '--alg', 'ES256', '--iss', 'i', '--sub', 's', '--typ', 'JWT'],
    ['--aud', 'a', 'TOKEN'],
    ['--aud', 'a', '--sub', 's', 'TOKEN'],
    ['TOKEN', '--key', 'k', '--jwks', 'j'],
    ['TOKEN', '--client', 'c', '--key', 'k'],
    ['TOKEN', '-c', 'c', '--jwks', 'j'],
    ['TOKEN', '--check-revoked', '--key', 'k'],
    ['TOKEN', '--check-revoked', '--client', 'c', '--leeway', '1m', '--max-age', '1h'],
    ['TOKEN', '--leeway', '30s', '--key', 'k'],
    ['TOKEN', '--allow-no-exp', '--no-allow-no-exp'],
    ['TOKEN', 'OTHER'],
    ['-', '--key', 'k'],
    ['--key', 'k'],
    ['--', '-c'],
  ],
}

describe('the fast parser and oclif agree', () => {
  it('covers the hot commands, and says why it leaves any command to oclif', () => {
    expect(Object.keys(table.commands)).toEqual(expect.arrayContaining(['token:issue', 'token:verify']))
    for (const reason of Object.values(table.unsupported)) expect(reason).toMatch(/^(flag --|arg )?\S.*: \S/)
  })

  it.each(Object.keys(table.commands))('%s', async (id) => {
    const spec = table.commands[id]
    const differences: unknown[] = []
    let accepted = 0
    for (const argv of [...corpus(spec), ...(HAND_PICKED[id] ?? [])]) {
      const fast = await parseCommandLine(spec, argv)
      const answer = await oclif(id, argv)
      const readStdin = 'parsed' in answer && Object.values(answer.parsed.args as object).includes(STDIN)
      const agrees =
        'parsed' in answer && !readStdin
          ? fast !== undefined && isEqual(fast, answer.parsed) && jsonEnabled(table, spec, argv, {}) === answer.json
          : fast === undefined
      if (!agrees) differences.push({argv, fast, oclif: answer})
      if (fast) accepted++
    }

    expect(differences).toEqual([])
    expect(accepted).toBeGreaterThan(0)
  })

  it('turns JSON output on from the environment as oclif does', async () => {
    const spec = table.commands['token:verify']
    for (const value of ['json', 'JSON', 'text', '']) {
      process.env.JWTIS_CONTENT_TYPE = value
      try {
        const answer = await oclif('token:verify', ['TOKEN'])
        expect(answer).toHaveProperty('json', jsonEnabled(table, spec, ['TOKEN']))
      } finally {
        delete process.env.JWTIS_CONTENT_TYPE
      }
    }
  })

  it('leaves a missing argument unset as oclif does when stdin is a terminal', async () => {
    const lines: Array<[string, string[]]> = [
      ['token:revoke', ['--client', 'app']],
      ['token:decode', ['--json']],
      ['jwk:thumbprint', []],
    ]
    Object.defineProperty(process.stdin, 'isTTY', {configurable: true, value: true})
    try {
      for (const [id, argv] of lines) {
        const answer = await oclif(id, argv)
        expect(answer).toHaveProperty('parsed')
        expect(await parseCommandLine(table.commands[id], argv, true)).toStrictEqual(
          (answer as {parsed: unknown}).parsed,
        )
      }
    } finally {
      Object.defineProperty(process.stdin, 'isTTY', {configurable: true, value: undefined})
    }
  })

  it('finds the command id where oclif does', async () => {
    for (const id of Object.keys(table.commands)) {
      const words = id.split(':')
      for (const argv of [words, [...words, '--json'], [...words, 'a=b'], [...words, 'extra', '--json']]) {
        const found = resolveCommand(table, argv)
        expect(found).toBeDefined()
        if (isEqual([found!.id, ...found!.rest], normalizeArgv(config, [...argv]))) continue
        // oclif reads a word after a command without arguments as more of its id: no such command
        expect(await parseCommandLine(table.commands[id], found!.rest)).toBeUndefined()
      }
    }

    // oclif's other readings of a command line are its to make
    for (const argv of [
      ['token:issue'],
      ['token'],
      ['token', 'nope'],
      ['help', 'token', 'issue'],
      ['--json', 'token'],
    ]) {
      expect(resolveCommand(table, argv)).toBeUndefined()
    }
  })

  it('sees a help flag where oclif does', () => {
    const lines = [
      ['token', 'issue', '--help'],
      ['token', 'issue', '-h'],
      ['token', 'verify', 'x', '--iss', '-h'],
      ['token', 'verify', '--', '--help'],
      ['token', 'verify', '--helpful'],
      ['token', 'verify', '--h'],
    ]
    for (const argv of lines) expect([argv, helpRequested(table, argv)]).toEqual([argv, helpAddition(argv, config)])
  })
})

/** Equal the way oclif's output is: the same keys with the same values (none undefined on either side). */
function isEqual(a: unknown, b: unknown): boolean {
  try {
    expect(a).toStrictEqual(b)
    return true
  } catch {
    return false
  }
}
