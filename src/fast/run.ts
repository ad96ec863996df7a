/**
 * What runs a command the fast entry (./cli.ts) has parsed: the command bodies the oclif commands
 * run (src/cli/actions), and what VaultCommand does around them. Bundled on its own
 * (dist/fast/run.js) and loaded only when the fast entry runs a command, so that a command
 * left to oclif does not load it.
 */
import type {ActionContext} from '../cli/actions/context.js'
import type {IssueFlags} from '../cli/actions/issue.js'
import type {VerifyFlags} from '../cli/actions/verify.js'
import type {Parsed} from './parse.js'

import * as io from '../cli/io.js'
import {canPrompt} from '../cli/output.js'
import {env, SECRET_VARIABLES} from '../common/config.js'
import {registerSecret} from '../common/redact.js'

/** The command bodies, by oclif command id. */
const ACTIONS = {
  async 'token:issue'(ctx: ActionContext, {flags}: Parsed) {
    const {issueAction} = await import('../cli/actions/issue.js')
    return issueAction(ctx, flags as unknown as IssueFlags)
  },
  async 'token:verify'(ctx: ActionContext, {args, flags}: Parsed) {
    const {verifyAction} = await import('../cli/actions/verify.js')
    return verifyAction(ctx, args.token as string | undefined, flags as unknown as VerifyFlags)
  },
}

export type FastCommand = keyof typeof ACTIONS

/** Runs a command as its oclif command would: secrets to redact, the vault, errors, JSON output. */
export async function runCommand(id: FastCommand, parsed: Parsed, json: boolean): Promise<void> {
  for (const name of SECRET_VARIABLES) registerSecret(env(name))
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
    const result = await ACTIONS[id](ctx, parsed)
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
