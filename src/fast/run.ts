/**
 * What runs a command the fast entry (./cli.ts) has parsed: the command bodies the oclif commands
 * run (src/cli/actions), and what VaultCommand does around them. Bundled on its own
 * (dist/fast/run.cjs) and loaded only when the fast entry runs a command, so that a command
 * left to oclif does not load it.
 */
import type {ActionContext} from '../cli/actions/context.js'
import type {IssueFlags} from '../cli/actions/issue.js'
import type {DecryptFlags, EncryptFlags} from '../cli/actions/jwe.js'
import type {CreateFlags} from '../cli/actions/jwk.js'
import type {ExportFlags} from '../cli/actions/keys.js'
import type {RenewFlags} from '../cli/actions/renew.js'
import type {RevokeFlags} from '../cli/actions/revoke.js'
import type {SignFlags} from '../cli/actions/sign.js'
import type {VerifyFlags} from '../cli/actions/verify.js'
import type {Parsed} from './parse.js'

import * as io from '../cli/io.js'
import {canPrompt} from '../cli/output.js'
import {env, SECRET_VARIABLES} from '../common/config.js'
import {registerSecret} from '../common/redact.js'

// (the parser gives each flag the type its definition says: these casts name that type)
const arg = (value: unknown) => value as string | undefined

/** The command bodies, by oclif command id. */
const ACTIONS = {
  async 'client:list'(ctx: ActionContext) {
    const {listClientsAction} = await import('../cli/actions/clients.js')
    return listClientsAction(ctx)
  },
  async 'client:show'(ctx: ActionContext, {args}: Parsed) {
    const {showClientAction} = await import('../cli/actions/clients.js')
    return showClientAction(ctx, args.name as string)
  },
  async 'jwe:decrypt'(ctx: ActionContext, {args, flags}: Parsed) {
    const {decryptAction} = await import('../cli/actions/jwe.js')
    return decryptAction(ctx, arg(args.token), flags as DecryptFlags)
  },
  async 'jwe:encrypt'(ctx: ActionContext, {args, flags}: Parsed) {
    const {encryptAction} = await import('../cli/actions/jwe.js')
    return encryptAction(ctx, arg(args.plaintext), flags as EncryptFlags)
  },
  async 'jwk:create'(ctx: ActionContext, {flags}: Parsed) {
    const {createAction} = await import('../cli/actions/jwk.js')
    return createAction(ctx, flags as unknown as CreateFlags)
  },
  async 'jwk:public'(ctx: ActionContext, {args, flags}: Parsed) {
    const {publicAction} = await import('../cli/actions/jwk.js')
    return publicAction(ctx, arg(args.key), flags.format as string)
  },
  async 'jwk:thumbprint'(ctx: ActionContext, {args}: Parsed) {
    const {thumbprintAction} = await import('../cli/actions/jwk.js')
    return thumbprintAction(ctx, arg(args.key))
  },
  async 'keys:export'(ctx: ActionContext, {flags}: Parsed) {
    const {exportKeysAction} = await import('../cli/actions/keys.js')
    return exportKeysAction(ctx, flags as unknown as ExportFlags)
  },
  async 'keys:list'(ctx: ActionContext, {flags}: Parsed) {
    const {listKeysAction} = await import('../cli/actions/keys.js')
    return listKeysAction(ctx, arg(flags.client))
  },
  async 'token:decode'(ctx: ActionContext, {args}: Parsed) {
    const {decodeAction} = await import('../cli/actions/decode.js')
    return decodeAction(ctx, arg(args.token))
  },
  async 'token:issue'(ctx: ActionContext, {flags}: Parsed) {
    const {issueAction} = await import('../cli/actions/issue.js')
    return issueAction(ctx, flags as unknown as IssueFlags)
  },
  async 'token:renew'(ctx: ActionContext, {args, flags}: Parsed) {
    const {renewAction} = await import('../cli/actions/renew.js')
    return renewAction(ctx, arg(args.token), flags as unknown as RenewFlags)
  },
  async 'token:revoke'(ctx: ActionContext, {args, flags}: Parsed) {
    const {revokeAction} = await import('../cli/actions/revoke.js')
    return revokeAction(ctx, arg(args.token), flags as RevokeFlags)
  },
  async 'token:sign'(ctx: ActionContext, {flags}: Parsed) {
    const {signAction} = await import('../cli/actions/sign.js')
    return signAction(ctx, flags as unknown as SignFlags)
  },
  async 'token:verify'(ctx: ActionContext, {args, flags}: Parsed) {
    const {verifyAction} = await import('../cli/actions/verify.js')
    return verifyAction(ctx, arg(args.token), flags as unknown as VerifyFlags)
  },
}

export type FastCommand = keyof typeof ACTIONS

/** Runs a command as its oclif command would: secrets to redact, the vault, errors, JSON output. */
export async function runCommand(id: FastCommand, parsed: Parsed, json: boolean): Promise<void> {
  for (const name of SECRET_VARIABLES) registerSecret(env(name))
  const dir = io.configDir()
  const openVault = () =>
    io.openVault(dir, parsed.flags as io.VaultFlags, {
      promptPassphrase: canPrompt() ? (path) => askPassphrase(`Passphrase for ${path}:`) : undefined,
    })
  const ctx: ActionContext = {
    json,
    logErr: (message) => io.logErr(json, message),
    openIssuer: async (store, options) => io.issuerOver(await openVault(), store, options),
    openVault,
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
