import {homedir} from 'node:os'
import {join} from 'node:path'

import type {Clock, Issuer, IssuerOptions} from '../core/issuer.js'
import type {VaultKey} from '../vault/age.js'
import type {Vault, VaultOptions} from '../vault/vault.js'

import {env} from '../common/config.js'
import {JwtisError, UsageError} from '../common/errors.js'
import {redact} from '../common/redact.js'
import {describeFsError} from '../fs/files.js'
import {vaultLocation} from '../redis/url.js'
import {EXIT_CODES, exitCodeOf} from './exit-codes.js'
import {MAX_INPUT_BYTES, readBounded, readStdinBounded} from './input.js'
import {colorEnabled, safeJson, sanitize} from './output.js'
import {readSettings} from './settings-file.js'

/**
 * What every command does around its work, without oclif: read inputs, find and open the vault,
 * write results and errors the contract's way. The oclif base command delegates here, and so
 * does the fast entry (src/fast/run.ts) that runs the hot commands without loading oclif.
 */

export const DEFAULT_VAULT = join('data', 'vault.age')

/** oclif's config directory for this CLI: JWTIS_CONFIG_DIR, else $XDG_CONFIG_HOME/jwtis or ~/.config/jwtis. */
export function configDir(): string {
  return env('JWTIS_CONFIG_DIR') || join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'jwtis')
}

/**
 * The time the issuer works at. JWTIS_NOW (RFC 3339, or seconds since the epoch) pins it, as
 * faketime would: for tests and for reproducing a user's report, never needed otherwise.
 */
export function clock(): Clock {
  const pinned = env('JWTIS_NOW')
  if (!pinned) return Date.now
  const ms = /^\d+$/.test(pinned) ? Number(pinned) * 1000 : Date.parse(pinned)
  if (Number.isNaN(ms)) throw new UsageError(`JWTIS_NOW=${pinned} is neither RFC 3339 nor seconds since the epoch`)
  return () => ms
}

/**
 * Reads a token or document given as an argument, `-` (stdin) or `@path`, at most
 * MAX_INPUT_BYTES: a larger input is refused, never read whole. Surrounding white space is
 * dropped unless `raw` (a plaintext must come out as it went in).
 */
export async function readInput(value: string | undefined, what: string, raw = false): Promise<string> {
  let text: string
  if (value === undefined || value === '-') {
    if (value === undefined && process.stdin.isTTY)
      throw new UsageError(`missing ${what}: pass it as an argument, - (stdin) or @file`)
    text = (await readStdinBounded(MAX_INPUT_BYTES, what)).toString('utf8')
    if (text.trim() === '') throw new UsageError(`missing ${what}: stdin was empty`)
  } else if (value.startsWith('@')) {
    text = (await readBounded(value.slice(1), MAX_INPUT_BYTES, what)).toString('utf8')
  } else {
    text = value
  }

  return raw ? text : text.trim()
}

/**
 * A token as people paste it: copied from an Authorization header (`Bearer eyJ…`) or from JSON
 * or a shell (`"eyJ…"`). Both are taken off, with a note on stderr saying so.
 */
export function unwrapToken(text: string, note: (message: string) => void): string {
  let token = text
  const bearer = /^bearer\s+/i.exec(token)
  if (bearer) {
    token = token.slice(bearer[0].length)
    note('note: took the token without its "Bearer " prefix')
  }

  const quoted = /^(["'])(.*)\1$/s.exec(token)
  if (quoted) {
    token = quoted[2].trim()
    note('note: took the token without the quotes around it')
  }

  return token
}

/** A message for a person on stderr (not with --json); control characters from input made visible. */
export function logErr(json: boolean, message: string): void {
  if (!json) process.stderr.write(`${sanitize(redact(message))}\n`)
}

/**
 * A result on stdout: on a terminal with control characters made visible, into a pipe byte for
 * byte. `styled`: the text carries our own colours, and every part of it that came from input is
 * already safe (built with safeJson or sanitize), so it is written as it is.
 */
export function print(text: string, styled = false): void {
  const line = text.endsWith('\n') ? text : `${text}\n`
  process.stdout.write(process.stdout.isTTY && !styled ? sanitize(line) : line)
}

/** The `--json` result: escaped so that no string in it can act on a terminal. */
export function printJson(value: unknown): void {
  process.stdout.write(`${safeJson(value, 2)}\n`)
}

/** The vault a command uses: --vault, JWTIS_VAULT, the `vault` setting, ./data/vault.age. */
export function vaultPath(dir: string, flag?: string): string {
  if (flag === '') throw new UsageError('--vault is empty: give a vault file or a redis:// URL')
  return vaultLocation(flag ?? env('JWTIS_VAULT') ?? readSettings(dir).vault ?? DEFAULT_VAULT)
}

export interface VaultFlags {
  identity?: string
  vault?: string
}

/** Opens the vault the contract's way, or with `key` when one is given (a `serve` worker's). */
export async function openVault(
  dir: string,
  flags: VaultFlags,
  options: {key?: VaultKey; legacy?: boolean; promptPassphrase?: (path: string) => Promise<string>} = {},
): Promise<Vault> {
  const [{Vault}, {keyResolver}, {pinnedIds}] = await Promise.all([
    import('../vault/vault.js'),
    import('../vault/unlock.js'),
    import('../vault/authenticity.js'),
  ])
  const trust = {legacy: options.legacy, pinned: pinnedIds(env('JWTIS_VAULT_ID'), readSettings(dir)['vault-id'])}
  const vault = options.key
    ? await Vault.open(vaultPath(dir, flags.vault), async () => options.key!, trust)
    : await openWithSources(Vault, dir, flags, keyResolver, trust, options.promptPassphrase)
  opened.add(vault)
  return vault
}

/** Every vault this process opened, to close their connections (Redis) when the command ends. */
const opened = new Set<Vault>()

export async function closeVaults(): Promise<void> {
  await Promise.all([...opened].map((vault) => vault.close().catch(() => {})))
  opened.clear()
}

async function openWithSources(
  vaults: typeof Vault,
  dir: string,
  flags: VaultFlags,
  keyResolver: typeof import('../vault/unlock.js').keyResolver,
  trust: VaultOptions,
  promptPassphrase?: (path: string) => Promise<string>,
): Promise<Vault> {
  const settings = readSettings(dir)
  return vaults.open(
    vaultPath(dir, flags.vault),
    keyResolver({
      defaultIdentityFile: settings.identity ?? join(dir, 'identity.txt'),
      env: process.env,
      identityFile: flags.identity,
      promptPassphrase,
    }),
    trust,
  )
}

/**
 * The issuer over a vault and its token store (`--store`, else JWTIS_STORE...: see storeChoice);
 * `readOnly` and `notices`: see ./side-effects.ts.
 */
export async function issuerOver(
  vault: Vault,
  store?: string,
  options: IssuerOptions & {groupCommit?: boolean} = {},
): Promise<Issuer> {
  const {groupCommit, ...issuerOptions} = options
  const [{Issuer}, {openStore, storeChoice}, {storeKeyOf, storeName}] = await Promise.all([
    import('../core/issuer.js'),
    import('../store/index.js'),
    import('../model/document.js'),
  ])
  return new Issuer(
    vault,
    () =>
      openStore(storeChoice(store, vault), vault.path, storeName(vault.document), {
        groupCommit,
        storeKey: storeKeyOf(vault.document),
      }),
    clock(),
    issuerOptions,
  )
}

export interface ErrorReport {
  code: string
  exit: number
  message: string
}

/**
 * A failure as the contract reports it: a JwtisError with its code and exit class; oclif's
 * parse errors as usage errors; anything else a bug (exit 70). Messages are one line and
 * carry no secret.
 */
export function toReport(err: Error): ErrorReport {
  const report = rawReport(err)
  return {...report, message: redact(report.message)}
}

const FS_REFUSALS = new Set(['EACCES', 'EDQUOT', 'EIO', 'ENOSPC', 'EPERM', 'EROFS'])

function rawReport(err: Error): ErrorReport {
  if (err instanceof JwtisError) return {code: err.code, exit: exitCodeOf(err.code), message: oneLine(err.message)}
  // a JwtisError that crossed a process boundary (a serve worker that could not start) keeps its code
  const {code} = err as {code?: unknown}
  if (typeof code === 'string' && Object.hasOwn(EXIT_CODES, code) && code !== 'INTERNAL')
    return {code, exit: exitCodeOf(code), message: oneLine(err.message)}
  // oclif's flag and argument errors (without importing oclif: the fast entry runs without it)
  // (a flag without its value is a plain CLIError: any oclif error that got here is the user's)
  if ('oclif' in err) {
    return {code: 'USAGE', exit: EXIT_CODES.USAGE, message: `${oneLine(err.message)} (see --help)`}
  }

  const errno = err as NodeJS.ErrnoException & {address?: string; port?: number}
  if (errno.code === 'EADDRINUSE' || errno.code === 'EADDRNOTAVAIL') {
    const where = errno.address ? `${errno.address}:${errno.port}` : 'the --listen address'
    const why = errno.code === 'EADDRINUSE' ? 'is in use' : 'is not an address of this host'
    return {code: 'USAGE', exit: EXIT_CODES.USAGE, message: `${where} ${why}: pick another with --listen`}
  }

  if (err.name === 'ExitPromptError' || err.name === 'AbortPromptError') {
    return {code: 'USAGE', exit: EXIT_CODES.USAGE, message: 'cancelled'}
  }

  // The file system refused (full, read-only, no permission, failing): the machine's state, not a
  // bug, wherever in the code it surfaced.
  if (FS_REFUSALS.has(errno.code ?? '')) {
    const where = errno.path ? `${errno.path}: ` : ''
    return {
      code: 'VAULT_UNWRITABLE',
      exit: EXIT_CODES.VAULT_UNWRITABLE,
      message: `cannot write ${where}${describeFsError(err)}`,
    }
  }

  return {
    code: 'INTERNAL',
    exit: EXIT_CODES.INTERNAL,
    message: `internal error: ${oneLine(err.message)} (a bug: rerun with DEBUG=1 and report it)`,
  }
}

/** Writes a failure the contract's way and sets the exit code. */
export function reportError(err: Error, json: boolean): void {
  const report = toReport(err)
  process.exitCode = report.exit
  if (json) {
    process.stdout.write(`${safeJson({error: {code: report.code, message: report.message}}, 2)}\n`)
    return
  }

  const label = colorEnabled(process.stderr) ? '\u001B[31mError:\u001B[39m' : 'Error:'
  process.stderr.write(`${label} ${sanitize(report.message)}\n`)
  if (report.exit === EXIT_CODES.INTERNAL && process.env.DEBUG && err.stack)
    process.stderr.write(`${redact(err.stack)}\n`)
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
