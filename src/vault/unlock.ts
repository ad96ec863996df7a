import {existsSync} from 'node:fs'

import type {VariableName} from '../common/config.js'
import type {KeyResolver} from './vault.js'

import {UsageError, VaultError} from '../common/errors.js'
import {readBounded} from '../fs/files.js'
import {type AgeKind, parseIdentities, type VaultKey} from './age.js'

/** An identity file is a few lines; anything larger is not one (and is not read whole). */
const MAX_IDENTITY_FILE_BYTES = 64 * 1024

export interface UnlockSources {
  /** The identity file `init` saved, tried after the explicit sources. */
  defaultIdentityFile: string
  /** The environment (process.env for the CLI): the JWTIS_* variables of ../common/config.ts it holds. */
  env: Readonly<Partial<Record<VariableName, string>>>
  /** `--identity FILE`. */
  identityFile?: string
  /** Asks for a passphrase on the terminal; absent when prompting is not allowed (no TTY, CI). */
  promptPassphrase?: (path: string) => Promise<string>
}

/** The identities of an age identity file; a usage error names the file when it cannot be read or is not one. */
export async function readIdentityFile(file: string, what = 'identity file'): Promise<string[]> {
  return (await identitiesFrom(file, what, true))!
}

async function identitiesFrom(file: string, what: string, required: boolean): Promise<string[] | undefined> {
  if (!required && !existsSync(file)) return undefined
  const text = (await readBounded(file, MAX_IDENTITY_FILE_BYTES, what)).toString('utf8')

  const identities = parseIdentities(text)
  if (identities.length === 0 || !identities.every((id) => id.startsWith('AGE-SECRET-KEY-'))) {
    throw new UsageError(`${what} ${file} is not an age identity file (expected AGE-SECRET-KEY-1… lines)`)
  }

  return identities
}

/**
 * The identities in JWTIS_AGE_KEY: one AGE-SECRET-KEY-1… line, or the whole identity file `init`
 * wrote (its `# created` and `# public key` comments, blank lines, CRLF), which is what CI secrets
 * usually hold. The message never quotes the value.
 */
function inlineIdentities(value: string): string[] {
  const identities = parseIdentities(value)
  if (identities.length === 0 || !identities.every((id) => id.startsWith('AGE-SECRET-KEY-'))) {
    throw new UsageError(
      'JWTIS_AGE_KEY must hold an age identity: its AGE-SECRET-KEY-… line, or the whole identity file (comment lines are ignored)',
    )
  }

  return identities
}

/**
 * The contract's unlock order, first found wins: `--identity FILE`, `JWTIS_AGE_KEY`,
 * `JWTIS_AGE_KEY_FILE`, the identity file `init` saved; for passphrase vaults
 * `JWTIS_PASSPHRASE` (alias `JWTIS_PSWD`), then a prompt when one is allowed.
 */
export function keyResolver(sources: UnlockSources): KeyResolver {
  const {env} = sources
  return async (kind: AgeKind, path: string): Promise<VaultKey> => {
    if (kind === 'scrypt') {
      const passphrase = env.JWTIS_PASSPHRASE ?? env.JWTIS_PSWD
      if (passphrase !== undefined && passphrase !== '') return {passphrase}
      if (sources.promptPassphrase) return {passphrase: await sources.promptPassphrase(path)}
      throw new UsageError(`vault ${path} is passphrase-protected: set JWTIS_PASSPHRASE (no prompt without a terminal)`)
    }

    if (sources.identityFile) return {identities: await readIdentityFile(sources.identityFile)}
    const inline = env.JWTIS_AGE_KEY?.trim()
    if (inline) return {identities: inlineIdentities(inline)}

    const file = env.JWTIS_AGE_KEY_FILE
    if (file) return {identities: await readIdentityFile(file, 'JWTIS_AGE_KEY_FILE')}

    const saved = await identitiesFrom(sources.defaultIdentityFile, 'identity file', false)
    if (saved) return {identities: saved}
    throw new VaultError(
      'VAULT_BAD_KEY',
      `no identity to open vault ${path}: pass --identity FILE, or set JWTIS_AGE_KEY or JWTIS_AGE_KEY_FILE (none saved at ${sources.defaultIdentityFile})`,
    )
  }
}
