import {Command, Errors, Flags, type Interfaces} from '@oclif/core'
import {join} from 'node:path'

import type {Issuer, IssuerOptions} from '../core/issuer.js'
import type {VaultKey} from '../vault/age.js'
import type {Vault} from '../vault/vault.js'
import type {ActionContext, CommandContext} from './actions/context.js'

import {env, SECRET_VARIABLES, type VariableName} from '../common/config.js'
import {UsageError} from '../common/errors.js'
import {registerSecret} from '../common/redact.js'
import * as io from './io.js'
import {canPrompt} from './output.js'
import {refuseWhenReadOnly} from './side-effects.js'

export type FlagsOf<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type ArgsOf<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

export {clock, DEFAULT_VAULT} from './io.js'

/**
 * Shared by every command: `--json`, and the mapping of failures to the contract's exit codes
 * and error shape. Anything that is not a JwtisError or a flag-parsing error is a bug: exit 70,
 * one line, the stack only with DEBUG set. The work itself is in ./io.ts, shared with the fast
 * entry that runs the hot commands without oclif.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true
  /** The command exists to write the vault: it refuses to run under JWTIS_READ_ONLY. */
  static writesVault = false
  protected args!: ArgsOf<T>
  protected flags!: FlagsOf<T>

  protected override async catch(err: Error): Promise<void> {
    if (err instanceof Errors.ExitError) throw err
    io.reportError(err, this.jsonEnabled())
  }

  /** Closes what the command opened (a Redis vault's connection would keep the process alive). */
  protected override async finally(err: Error | undefined): Promise<unknown> {
    await io.closeVaults()
    return super.finally(err)
  }

  public override async init(): Promise<void> {
    for (const name of SECRET_VARIABLES) registerSecret(env(name))
    await super.init()
    // Parsed, even when parsing fails: that failure is reported as a usage error, and oclif's
    // "did not parse its arguments" warning (NODE_ENV=test or development) would only add noise.
    this.parsed = true
    const {args, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: this.ctor.baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as FlagsOf<T>
    this.args = args as ArgsOf<T>
    if ((this.ctor as typeof BaseCommand).writesVault) refuseWhenReadOnly(this.id!.replaceAll(':', ' '))
  }

  /** This command as the context of a shared command body without a vault (src/cli/actions). */
  protected context(): CommandContext {
    return {
      json: this.jsonEnabled(),
      logErr: (message) => this.logErr(message),
      print: (text, styled) => this.print(text, styled),
      readInput: (value, what, raw) => this.readInput(value, what, raw),
    }
  }

  /** `--json` output: escaped so that no string in it can act on a terminal. */
  protected override logJson(json: unknown): void {
    io.printJson(json)
  }

  /** A message for a person on stderr (human mode only); control characters from input are made visible. */
  protected logErr(message: string): void {
    io.logErr(this.jsonEnabled(), message)
  }

  /** Writes a result to stdout (human mode only; `--json` output is what `run` returns). */
  protected print(text: string, styled = false): void {
    io.print(text, styled)
  }

  /** Reads a token or document given as an argument, `-` (stdin) or `@path` (see io.readInput). */
  protected async readInput(value: string | undefined, what: string, raw = false): Promise<string> {
    return io.readInput(value, what, raw)
  }
}

/** Adds `--vault` and `--identity`, and opens the vault the way the contract says. */
export abstract class VaultCommand<T extends typeof Command> extends BaseCommand<T> {
  static override baseFlags = {
    identity: Flags.string({
      description:
        'age identity file that opens the vault (else JWTIS_AGE_KEY, JWTIS_AGE_KEY_FILE, the saved identity)',
      helpGroup: 'VAULT',
    }),
    vault: Flags.string({
      description: `vault file (else JWTIS_VAULT, the \`vault\` setting, ./${io.DEFAULT_VAULT})`,
      helpGroup: 'VAULT',
    }),
  }

  /** This command as the context of a shared command body (src/cli/actions). */
  protected override context(): ActionContext {
    return {
      ...super.context(),
      openIssuer: (store, options) => this.openIssuer(store, undefined, options),
      openVault: () => this.openVault(),
    }
  }

  /** Where `init` saves the identity by default: the user config directory (XDG on Linux). */
  protected get defaultIdentityFile(): string {
    return join(this.config.configDir, 'identity.txt')
  }

  /**
   * The issuer over this command's vault and token store. `--store` (or JWTIS_STORE) picks the
   * store; the clock honours JWTIS_NOW.
   */
  protected async openIssuer(
    store?: string,
    key?: VaultKey,
    options: IssuerOptions & {groupCommit?: boolean} = {},
  ): Promise<Issuer> {
    return io.issuerOver(await this.openVault(key), store, options)
  }

  /**
   * Opens the vault the contract's way, or with `key` when one is given (a `serve` worker's).
   * `legacy`: also a vault from before vaults were signed (`vault upgrade`).
   */
  protected async openVault(key?: VaultKey, options: {legacy?: boolean} = {}): Promise<Vault> {
    return io.openVault(this.config.configDir, this.flags as io.VaultFlags, {
      key,
      legacy: options.legacy,
      promptPassphrase: canPrompt() ? (path) => this.promptPassphrase(`Passphrase for ${path}:`) : undefined,
    })
  }

  /** A new passphrase: from the first of `envVars` set, else asked twice on a terminal; a usage error otherwise. */
  protected async newPassphrase(flag: string, envVars: VariableName[]): Promise<string> {
    const fromEnv = envVars.map((name) => env(name)).find(Boolean)
    if (fromEnv) return fromEnv
    if (!canPrompt()) throw new UsageError(`${flag} needs ${envVars[0]} when there is no terminal to ask on`)
    const first = await this.promptPassphrase('New vault passphrase:')
    if (first.length < 8) throw new UsageError('the passphrase must have at least 8 characters')
    if ((await this.promptPassphrase('Repeat the passphrase:')) !== first)
      throw new UsageError('the passphrases do not match')
    return first
  }

  protected async promptPassphrase(message: string): Promise<string> {
    const {password} = await import('@inquirer/prompts')
    return password({mask: true, message}, {output: process.stderr})
  }

  protected vaultPath(): string {
    return io.vaultPath(this.config.configDir, (this.flags as io.VaultFlags).vault)
  }
}
