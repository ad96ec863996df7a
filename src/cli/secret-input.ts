import type {Keyring} from '../jose/keyring.js'
import type {CommandContext} from './actions/context.js'

import {UsageError} from '../common/errors.js'

/**
 * An HMAC secret from `--secret @FILE` or `--secret -` (stdin), as `token sign` and `token verify`
 * take it: never as a value on the command line, where ps and shell history would show it.
 */
export async function readSecret(ctx: CommandContext, value: string): Promise<Uint8Array> {
  if (value !== '-' && !value.startsWith('@'))
    throw new UsageError('give the secret as --secret @FILE or --secret - (stdin): never on the command line')
  // One final newline (as `echo` and editors leave) is not part of the secret.
  const text = await ctx.readInput(value, 'the secret', true)
  return new TextEncoder().encode(text.replace(/\r?\n$/, ''))
}

/**
 * The keyring a secret verifies with: one `oct` key without `alg`, so bindHmac decides it as it
 * does for an `oct` JWK given with --key.
 */
export async function secretKeyring(secret: Uint8Array): Promise<Keyring> {
  const {Keyring} = await import('../jose/keyring.js')
  const k = Buffer.from(secret).toString('base64url')
  return new Keyring([{jwk: {kty: 'oct'}, privateJwk: {k, kty: 'oct'}}])
}

/**
 * An `oct` key that names no `alg` is bound to the one HMAC algorithm `--alg` names (RFC 8725
 * §3.1: one key, one algorithm). Without it, its length decides (32 bytes HS256, 48 HS384, 64
 * HS512, longer any); a length that decides nothing is a usage error asking for --alg. A key
 * that names its `alg` keeps it: `--alg` never overrides that.
 */
export async function bindHmac(keyring: Keyring, allowed: string[] | undefined, what: string): Promise<Keyring> {
  const [{Keyring}, {algorithmsForKey, isHmac}] = await Promise.all([
    import('../jose/keyring.js'),
    import('../jose/algorithms.js'),
  ])
  const hmac = (allowed ?? []).filter((alg) => isHmac(alg))
  const loose = (e: Keyring['entries'][number]) => e.alg === undefined && e.privateJwk?.kty === 'oct'
  if (!keyring.entries.some((e) => loose(e))) return keyring
  if (hmac.length === 1) return new Keyring(keyring.entries.map((e) => (loose(e) ? {...e, alg: hmac[0]} : e)))
  for (const e of keyring.entries.filter((entry) => loose(entry))) {
    const bytes = Buffer.from(e.privateJwk!.k ?? '', 'base64url').length
    if (!algorithmsForKey('oct', undefined, bytes).some((alg) => isHmac(alg)))
      throw new UsageError(
        `${what}: an HMAC key of ${bytes} bytes names no algorithm: pass --alg HS256, HS384 or HS512`,
      )
  }

  return keyring
}
