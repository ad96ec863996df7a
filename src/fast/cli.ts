/**
 * The fast entry: the hot commands without loading oclif (whose import alone costs more than the
 * rest of the command). bin/run.js calls `run(argv)` first; it parses the command line from the
 * table of the oclif commands' own definitions (./table.ts, ./parse.ts) and answers false, before
 * doing anything, for whatever it does not fully understand (help, a usage error, a command it
 * has no body for...), so that oclif then runs the command and reports usage errors its own way.
 * The command bodies (./run.ts) are the very ones the oclif commands run (src/cli/actions).
 *
 * Bundled by esbuild (dist/fast/cli.cjs, small: every command line comes through it) apart from
 * ./run.ts (dist/fast/run.cjs), which only a command the fast entry runs loads. Both are
 * CommonJS: an ES module bundle imports, up front, every built-in module any code in it uses
 * (readline, child_process, tty...), where esbuild's CommonJS output requires each in the lazy
 * initializer of the module that uses it, so a command loads the built-ins of what it runs; and
 * on Node 20 a required module costs less to load than an imported one. Node 20 also gets a code
 * cache for the larger one (./code-cache.ts).
 */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import type {FastCommand} from './run.js'

import {requireCached} from './code-cache.js'
import {type FastTable, helpRequested, jsonEnabled, parseCommandLine, resolveCommand} from './parse.js'

/** The commands the fast entry runs: every one whose body is in src/cli/actions. */
const FAST: ReadonlySet<string> = new Set<FastCommand>([
  'client:list',
  'client:show',
  'jwe:decrypt',
  'jwe:encrypt',
  'jwk:create',
  'jwk:public',
  'jwk:thumbprint',
  'keys:export',
  'keys:list',
  'token:decode',
  'token:issue',
  'token:renew',
  'token:revoke',
  'token:sign',
  'token:verify',
])

/** Runs the command `argv` names; false when oclif should run it instead. */
export async function run(argv: string[]): Promise<boolean> {
  const table = process.platform === 'win32' ? undefined : readTable()
  const command = table && resolveCommand(table, argv)
  if (!table || !command || !FAST.has(command.id) || helpRequested(table, argv)) return false
  const id = command.id as FastCommand
  const spec = table.commands[id]
  const parsed = await parseCommandLine(spec, command.rest)
  if (!parsed) return false
  const {runCommand} = requireCached<typeof import('./run.js')>(fileURLToPath(new URL('run.cjs', import.meta.url)))
  await runCommand(id, parsed, jsonEnabled(table, spec, command.rest))
  return true
}

function readTable(): FastTable | undefined {
  try {
    return JSON.parse(readFileSync(new URL('commands.json', import.meta.url), 'utf8')) as FastTable
  } catch {
    return undefined // not built (a checkout without `npm run build`): oclif runs everything
  }
}
