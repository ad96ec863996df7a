/**
 * The fast entry: `token issue` and `token verify` without loading oclif (whose import alone
 * costs more than the rest of the command). bin/run.js calls `run(argv)` for those two
 * commands; it parses a strict subset of their flags and answers false, before doing anything,
 * for whatever it does not fully understand (help, an unknown or malformed flag, a missing
 * required one...), so that oclif then runs the command and reports usage errors its own way.
 * The command bodies are the very ones the oclif commands run (src/cli/actions).
 *
 * Built into one file by esbuild (dist/fast/cli.js), so that starting it reads one module.
 */
import type {ActionContext} from '../cli/actions/context.js'

import * as io from '../cli/io.js'
import {canPrompt} from '../cli/output.js'
import {env, SECRET_VARIABLES} from '../common/config.js'
import {registerSecret} from '../common/redact.js'

type Spec = Record<string, 'boolean' | 'duration' | 'multiple' | 'string'>

const VAULT: Spec = {identity: 'string', json: 'boolean', vault: 'string'}
const ISSUE: Spec = {
  ...VAULT,
  aud: 'multiple',
  claim: 'multiple',
  claims: 'string',
  client: 'string',
  encrypt: 'boolean',
  fingerprint: 'string',
  nbf: 'string',
  refresh: 'boolean',
  store: 'string',
  sub: 'string',
  ttl: 'duration',
}
const VERIFY: Spec = {
  ...VAULT,
  alg: 'multiple',
  'allow-no-exp': 'boolean',
  aud: 'multiple',
  'check-revoked': 'boolean',
  client: 'string',
  iss: 'string',
  jwks: 'string',
  key: 'string',
  leeway: 'duration',
  'max-age': 'duration',
  store: 'string',
  sub: 'string',
  typ: 'string',
}

/** Flags as oclif would parse them, or undefined when oclif should handle this command line. */
async function parse(
  args: string[],
  spec: Spec,
  maxPositionals: number,
): Promise<undefined | {flags: Record<string, unknown>; positionals: string[]}> {
  const flags: Record<string, unknown> = {}
  const positionals: string[] = []
  const {parseDuration} = await import('../common/duration.js')
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg)
      continue
    }

    if (arg === '--') return undefined
    let name: string
    let value: string | undefined
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
      value = eq === -1 ? undefined : arg.slice(eq + 1)
    } else if (arg === '-c') {
      name = 'client'
    } else {
      return undefined // -h and every other short form: oclif's
    }

    if (name === 'no-encrypt' && spec.encrypt && value === undefined) {
      flags.encrypt = false
      continue
    }

    const kind = spec[name]
    if (kind === undefined) return undefined
    if (kind === 'boolean') {
      if (value !== undefined) return undefined
      flags[name] = true
      continue
    }

    if (value === undefined) {
      value = args[++i]
      // a missing value, or one that looks like a flag: let oclif say what it makes of it
      if (value === undefined || (value.startsWith('-') && value !== '-')) return undefined
    }

    if (kind === 'multiple') {
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), value]
    } else if (kind === 'duration') {
      try {
        flags[name] = parseDuration(value, `--${name}`)
      } catch {
        return undefined
      }
    } else if (flags[name] === undefined) {
      flags[name] = value
    } else {
      return undefined // given twice
    }
  }

  return positionals.length > maxPositionals ? undefined : {flags, positionals}
}

/** Runs `token issue` or `token verify`; false when oclif should run it instead. */
export async function run(argv: string[]): Promise<boolean> {
  const [topic, command, ...rest] = argv
  if (topic !== 'token' || process.platform === 'win32') return false
  let parsed
  if (command === 'issue') {
    parsed = await parse(rest, ISSUE, 0)
    // --batch is not in ISSUE: it runs through oclif (its start-up is nothing beside a batch)
    if (!parsed || typeof parsed.flags.client !== 'string') return false
  } else if (command === 'verify') {
    parsed = await parse(rest, VERIFY, 1)
    const f = parsed?.flags
    if (!f) return false
    // combinations oclif refuses (exclusive flags): its message, not ours
    if ((f.key && f.jwks) || (f.client && (f.key || f.jwks)) || (f['check-revoked'] && (f.key || f.jwks))) return false
    f.leeway ??= 30_000
  } else {
    return false
  }

  if (!parsed) return false
  for (const name of SECRET_VARIABLES) registerSecret(env(name))
  const json = parsed.flags.json === true
  const dir = io.configDir()
  const vaultFlags = parsed.flags as io.VaultFlags
  const ctx: ActionContext = {
    json,
    logErr: (message) => io.logErr(json, message),
    async openIssuer(store) {
      const vault = await io.openVault(dir, vaultFlags, {
        promptPassphrase: canPrompt() ? (path) => askPassphrase(`Passphrase for ${path}:`) : undefined,
      })
      return io.issuerOver(vault, store)
    },
    print: io.print,
    readInput: io.readInput,
  }
  try {
    let result: unknown
    if (command === 'issue') {
      const {issueAction} = await import('../cli/actions/issue.js')
      result = await issueAction(ctx, parsed.flags as unknown as Parameters<typeof issueAction>[1])
    } else {
      const {verifyAction} = await import('../cli/actions/verify.js')
      result = await verifyAction(
        ctx,
        parsed.positionals[0],
        parsed.flags as unknown as Parameters<typeof verifyAction>[2],
      )
    }

    if (json && result !== undefined) io.printJson(result)
  } catch (error) {
    io.reportError(error as Error, json)
  } finally {
    await io.closeVaults()
  }

  return true
}

async function askPassphrase(message: string): Promise<string> {
  const {password} = await import('@inquirer/prompts')
  return password({mask: true, message}, {output: process.stderr})
}
