/**
 * The fast entry: the hot commands without loading oclif (whose import alone costs more than the
 * rest of the command). bin/run.js calls `run(argv)` first; it parses the command line from the
 * table of the oclif commands' own definitions (./table.ts, ./parse.ts) and answers false, before
 * doing anything, for whatever it does not fully understand (help, a usage error, a command it
 * has no body for...), so that oclif then runs the command and reports usage errors its own way.
 * The command bodies are the very ones the oclif commands run (src/cli/actions).
 *
 * Built into one file by esbuild (dist/fast/cli.js), so that starting it reads one module.
 */
import {readFileSync} from 'node:fs'

import type {ActionContext} from '../cli/actions/context.js'
import type {IssueFlags} from '../cli/actions/issue.js'
import type {VerifyFlags} from '../cli/actions/verify.js'

import * as io from '../cli/io.js'
import {canPrompt} from '../cli/output.js'
import {registerSecret, SECRET_ENV} from '../common/redact.js'
import {type FastTable, helpRequested, jsonEnabled, parseCommandLine, type Parsed, resolveCommand} from './parse.js'

interface Body {
  run(ctx: ActionContext, parsed: Parsed): Promise<unknown>
  /** False for a use of the command that oclif runs instead. */
  takes?(parsed: Parsed): boolean
}

/** The commands the fast entry runs, by oclif command id. */
const BODIES: Record<string, Body> = {
  'token:issue': {
    async run(ctx, {flags}) {
      const {issueAction} = await import('../cli/actions/issue.js')
      return issueAction(ctx, flags as unknown as IssueFlags)
    },
    // --batch starts worker threads from the files beside oclif's command; a batch dwarfs oclif's start-up
    takes: ({flags}) => flags.batch !== true,
  },
  'token:verify': {
    async run(ctx, {args, flags}) {
      const {verifyAction} = await import('../cli/actions/verify.js')
      return verifyAction(ctx, args.token as string | undefined, flags as unknown as VerifyFlags)
    },
  },
}

/** Runs the command `argv` names; false when oclif should run it instead. */
export async function run(argv: string[]): Promise<boolean> {
  const table = process.platform === 'win32' ? undefined : readTable()
  const command = table && resolveCommand(table, argv)
  if (!table || !command || !Object.hasOwn(BODIES, command.id) || helpRequested(table, argv)) return false
  const body = BODIES[command.id]
  const spec = table.commands[command.id]
  const parsed = await parseCommandLine(spec, command.rest)
  if (!parsed || body.takes?.(parsed) === false) return false
  await runBody(body, parsed, jsonEnabled(table, spec, command.rest))
  return true
}

function readTable(): FastTable | undefined {
  try {
    return JSON.parse(readFileSync(new URL('commands.json', import.meta.url), 'utf8')) as FastTable
  } catch {
    return undefined // not built (a checkout without `npm run build`): oclif runs everything
  }
}

/** What VaultCommand does around a command body: secrets to redact, the vault, errors, JSON output. */
async function runBody(body: Body, parsed: Parsed, json: boolean): Promise<void> {
  for (const name of SECRET_ENV) registerSecret(process.env[name])
  const dir = io.configDir()
  const ctx: ActionContext = {
    json,
    logErr: (message) => io.logErr(json, message),
    async openIssuer(store) {
      const vault = await io.openVault(dir, parsed.flags as io.VaultFlags, {
        promptPassphrase: canPrompt() ? (path) => askPassphrase(`Passphrase for ${path}:`) : undefined,
      })
      return io.issuerOver(vault, store)
    },
    print: io.print,
    readInput: io.readInput,
  }
  try {
    const result = await body.run(ctx, parsed)
    if (json && result) io.printJson(result)
  } catch (error) {
    io.reportError(error as Error, json)
  } finally {
    await io.closeVaults()
  }
}

async function askPassphrase(message: string): Promise<string> {
  const {password} = await import('@inquirer/prompts')
  return password({mask: true, message}, {output: process.stderr})
}
