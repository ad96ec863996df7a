import type {IssuerOptions, KeyNotices} from '../core/issuer.js'

import {env} from '../common/config.js'
import {UsageError} from '../common/errors.js'
import {redact} from '../common/redact.js'
import {sanitize} from './output.js'

/**
 * Read-only mode, and what a command says when it writes the vault as a side effect. `token
 * issue` and `token renew` rotate keys past their key-ttl on use: on a copy of the vault (CI,
 * from a secret) the new key is signing tokens that no verifier knows, and the rotation is lost
 * with the copy. So every rotation on use is said on stderr (with --json too: the result on
 * stdout is unchanged), and `--no-write` or JWTIS_READ_ONLY=1 keep signing with the current key.
 */

/** JWTIS_READ_ONLY set to anything but empty, `0` or `false`. */
export function readOnlyEnv(): boolean {
  const value = env('JWTIS_READ_ONLY')?.trim().toLowerCase()
  return value !== undefined && value !== '' && value !== '0' && value !== 'false'
}

/** A command whose whole point is writing the vault refuses to run read-only (exit 2), before it opens anything. */
export function refuseWhenReadOnly(command: string): void {
  if (readOnlyEnv())
    throw new UsageError(`jwtis ${command} writes the vault: refused while JWTIS_READ_ONLY=${env('JWTIS_READ_ONLY')}`)
}

/** How a command that may rotate keys on use treats them: `--no-write` (or JWTIS_READ_ONLY), and what it says. */
export function sideEffects(noWrite: boolean | undefined): IssuerOptions {
  return {notices: stderrNotices, readOnly: noWrite === true || readOnlyEnv()}
}

const note = (message: string) => process.stderr.write(`${sanitize(redact(message))}\n`)

const stderrNotices: KeyNotices = {
  overdue(client, uses) {
    const own = uses.filter((use) => use !== 'seal')
    const keys = [
      ...(own.length > 0 ? [`${client}'s ${own.join(' and ')} key${own.length > 1 ? 's' : ''}`] : []),
      ...(uses.includes('seal') ? ["the issuer's key-wrapping key"] : []),
    ]
    const fixes = [
      ...(own.length > 0 ? [`jwtis keys rotate --client ${client}`] : []),
      ...(uses.includes('seal') ? ['jwtis keys rotate --issuer'] : []),
    ]
    note(
      `warning: ${keys.join(' and ')} past key-ttl, not rotated (read-only): tokens are signed with the current keys; rotate where the vault is kept (${fixes.join(', ')})`,
    )
  },
  rotated(keys) {
    const list = keys.map((k) => `${k.client ?? 'issuer'} ${k.client ? k.use : 'key-wrapping'} → kid ${k.kid}`)
    note(
      `Rotated keys past their key-ttl and rewrote the vault: ${list.join(', ')} (--no-write or JWTIS_READ_ONLY=1 signs with the current keys instead)`,
    )
  },
}
