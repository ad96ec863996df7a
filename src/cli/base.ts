import {Command, Errors, Flags, type Interfaces} from '@oclif/core'
import {join, resolve} from 'node:path'

import type {Clock, Issuer} from '../core/issuer.js'
import type {VaultKey} from '../vault/age.js'
import type {Vault} from '../vault/vault.js'

import {JwtisError, UsageError, VaultError} from '../core/errors.js'
import {redact, registerSecret, SECRET_ENV} from '../core/redact.js'
import {MAX_INPUT_BYTES, readBounded, readStdinBounded} from './input.js'
import {canPrompt, colorEnabled, safeJson, sanitize} from './output.js'
import {readSettings} from './settings-file.js'

export type FlagsOf<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type ArgsOf<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

export const DEFAULT_VAULT = join('data', 'vault.age')

interface ErrorReport {
  code: string
  exit: number
  message: string
}

/**
 * Shared by every command: `--json`, and the mapping of failures to the contract's exit codes
 * and error shape. Anything that is not a JwtisError or a flag-parsing error is a bug: exit 70,
 * one line, the stack only with DEBUG set.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true
  protected args!: ArgsOf<T>
  protected flags!: FlagsOf<T>

  protected override async catch(err: Error & {exitCode?: number}): Promise<void> {
    if (err instanceof Errors.ExitError) throw err
    const report = toReport(err)
    process.exitCode = report.exit
    if (this.jsonEnabled()) {
      process.stdout.write(`${safeJson({error: {code: report.code, message: report.message}}, 2)}\n`)
      return
    }

    const label = colorEnabled(process.stderr) ? '\u001B[31mError:\u001B[39m' : 'Error:'
    process.stderr.write(`${label} ${sanitize(report.message)}\n`)
    if (report.exit === 70 && process.env.DEBUG && err.stack) process.stderr.write(`${redact(err.stack)}\n`)
  }

  public override async init(): Promise<void> {
    for (const name of SECRET_ENV) registerSecret(process.env[name])
    await super.init()
    const {args, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: this.ctor.baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as FlagsOf<T>
    this.args = args as ArgsOf<T>
  }

  /**
   * Reads a token or document given as an argument, `-` (stdin) or `@path`. Surrounding white
   * space is dropped unless `raw` (a plaintext must come out as it went in).
   */
  protected async readInput(value: string | undefined, what: string, raw = false): Promise<string> {
    const text = await this.readInputRaw(value, what)
    return raw ? text : text.trim()
  }

  /** Reads at most MAX_INPUT_BYTES (or `limit`): a larger input is refused, never read whole. */
  private async readInputRaw(value: string | undefined, what: string, limit = MAX_INPUT_BYTES): Promise<string> {
    if (value === undefined || value === '-') {
      if (value === undefined && process.stdin.isTTY)
        throw new UsageError(`missing ${what}: pass it as an argument, - (stdin) or @file`)
      const text = (await readStdinBounded(limit, what)).toString('utf8')
      if (text.trim() === '') throw new UsageError(`missing ${what}: stdin was empty`)
      return text
    }

    if (value.startsWith('@')) return (await readBounded(value.slice(1), limit, what)).toString('utf8')
    return value
  }

  /** `--json` output: escaped so that no string in it can act on a terminal. */
  protected override logJson(json: unknown): void {
    process.stdout.write(`${safeJson(json, 2)}\n`)
  }

  /** A message for a person on stderr (human mode only); control characters from input are made visible. */
  protected logErr(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${sanitize(redact(message))}\n`)
  }

  /**
   * Writes a result to stdout (human mode only; `--json` output is what `run` returns). On a
   * terminal, control characters are made visible; into a pipe it goes byte for byte.
   */
  protected print(text: string): void {
    const line = text.endsWith('\n') ? text : `${text}\n`
    process.stdout.write(process.stdout.isTTY ? sanitize(line) : line)
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
      description: `vault file (else JWTIS_VAULT, the \`vault\` setting, ./${DEFAULT_VAULT})`,
      helpGroup: 'VAULT',
    }),
  }

  /** Where `init` saves the identity by default: the user config directory (XDG on Linux). */
  protected get defaultIdentityFile(): string {
    return join(this.config.configDir, 'identity.txt')
  }

  /**
   * The issuer over this command's vault and token store. `--store` (or JWTIS_STORE) picks the
   * store; the clock honours JWTIS_NOW.
   */
  protected async openIssuer(store?: string, key?: VaultKey, options: {groupCommit?: boolean} = {}): Promise<Issuer> {
    const [{Issuer}, {openStore}] = await Promise.all([import('../core/issuer.js'), import('../store/index.js')])
    const vault = await this.openVault(key)
    return new Issuer(
      vault,
      () => openStore(store ?? process.env.JWTIS_STORE, vault.path, vault.document.issuer.name, options),
      clock(),
    )
  }

  /** Opens the vault the contract's way, or with `key` when one is given (a `serve` worker's). */
  protected async openVault(key?: VaultKey): Promise<Vault> {
    const [{Vault}, {keyResolver}] = await Promise.all([import('../vault/vault.js'), import('../vault/unlock.js')])
    if (key) return Vault.open(this.vaultPath(), async () => key)
    const settings = readSettings(this.config.configDir)
    const flags = this.flags as {identity?: string}
    return Vault.open(
      this.vaultPath(),
      keyResolver({
        defaultIdentityFile: settings.identity ?? this.defaultIdentityFile,
        env: process.env,
        identityFile: flags.identity,
        promptPassphrase: canPrompt() ? (path) => this.promptPassphrase(`Passphrase for ${path}:`) : undefined,
      }),
    )
  }

  /** A new passphrase: from the first of `envVars` set, else asked twice on a terminal; a usage error otherwise. */
  protected async newPassphrase(flag: string, envVars: string[]): Promise<string> {
    const fromEnv = envVars.map((name) => process.env[name]).find(Boolean)
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
    const flags = this.flags as {vault?: string}
    const path = flags.vault ?? process.env.JWTIS_VAULT ?? readSettings(this.config.configDir).vault ?? DEFAULT_VAULT
    return resolve(path)
  }
}

/**
 * The time the issuer works at. JWTIS_NOW (RFC 3339, or seconds since the epoch) pins it, as
 * faketime would: for tests and for reproducing a user's report, never needed otherwise.
 */
export function clock(): Clock {
  const pinned = process.env.JWTIS_NOW
  if (!pinned) return Date.now
  const ms = /^\d+$/.test(pinned) ? Number(pinned) * 1000 : Date.parse(pinned)
  if (Number.isNaN(ms)) throw new UsageError(`JWTIS_NOW=${pinned} is neither RFC 3339 nor seconds since the epoch`)
  return () => ms
}

function toReport(err: Error & {exitCode?: number}): ErrorReport {
  const report = rawReport(err)
  return {...report, message: redact(report.message)}
}

function rawReport(err: Error & {exitCode?: number}): ErrorReport {
  if (err instanceof JwtisError) return {code: err.code, exit: err.exitCode, message: oneLine(err.message)}
  if (err instanceof Errors.CLIError && 'parse' in err) {
    return {code: 'USAGE', exit: 2, message: `${oneLine(err.message)} (see --help)`}
  }

  if (err.name === 'ExitPromptError' || err.name === 'AbortPromptError') {
    return {code: 'USAGE', exit: 2, message: 'cancelled'}
  }

  if ((err as NodeJS.ErrnoException).code === 'EACCES' || (err as NodeJS.ErrnoException).code === 'EROFS') {
    const unwritable = new VaultError('VAULT_UNWRITABLE', oneLine(err.message))
    return {code: unwritable.code, exit: unwritable.exitCode, message: unwritable.message}
  }

  return {
    code: 'INTERNAL',
    exit: 70,
    message: `internal error: ${oneLine(err.message)} (a bug: rerun with DEBUG=1 and report it)`,
  }
}

/**
 * oclif spreads its parse errors over several lines ("The following error occurred:", "Parsing
 * --ttl", "See more help with --help"); errors here are one line, so keep what says what is wrong.
 */
function oneLine(message: string): string {
  return message
    .split('\n')
    .map((line) => line.trim())
    .filter(
      (line) =>
        line &&
        line !== 'The following error occurred:' &&
        !line.startsWith('See more help') &&
        !/^Parsing --\S+$/.test(line),
    )
    .join('; ')
}
