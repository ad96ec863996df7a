import type {Decrypted} from '../../jose/jwe.js'
import type {Keyring} from '../../jose/keyring.js'
import type {ActionContext} from './context.js'

import {clock} from '../io.js'
import {readToken} from './context.js'

export interface DecryptResult {
  header: Record<string, unknown>
  /** For a nested JWT: the inner token, verified (or, with no key to verify it, only decoded). */
  nested?: {header: Record<string, unknown>; payload: Record<string, unknown>; valid: boolean}
  /** The plaintext as UTF-8, or base64url when `plaintext_encoding` says so. */
  plaintext: string
  plaintext_encoding: 'base64url' | 'utf8'
  /** For a nested JWT: whether its signature was checked (false with only --key and no --verify-key). */
  verified?: boolean
}

/** `jwe encrypt`'s flags, parsed. */
export interface EncryptFlags {
  alg?: string
  cty?: string
  enc?: string
  key?: string
  to?: string
}

/** `jwe decrypt`'s flags, parsed. */
export interface DecryptFlags {
  key?: string
  'password-file'?: string
  'verify-key'?: string
}

/** `jwtis jwe encrypt`: to a client's active encryption key, or to a public key file. */
export async function encryptAction(
  ctx: ActionContext,
  plaintext: string | undefined,
  flags: EncryptFlags,
): Promise<{jwe: string}> {
  const [{encryptJwe}, {Keyring}] = await Promise.all([import('../../jose/jwe.js'), import('../../jose/keyring.js')])
  // A plaintext goes in byte for byte, but a nested JWT (cty JWT) is a token: taken as tokens are
  // (the newline a file or `echo` adds would make the inner JWT unreadable once decrypted)
  const nested = flags.cty?.toUpperCase() === 'JWT'
  const bytes = new TextEncoder().encode(await ctx.readInput(plaintext, 'plaintext', !nested))
  let keyring
  let {enc} = flags
  if (flags.to) {
    const issuer = await ctx.openIssuer()
    const {clientSettings} = await import('../../core/clients.js')
    enc ??= clientSettings(issuer.vault.document, flags.to).enc
    keyring = new Keyring(
      issuer.keyring().entries.filter((e) => e.client === flags.to && e.use === 'enc' && e.state === 'active'),
    )
  } else {
    const {keyringFrom} = await import('../keys-input.js')
    keyring = await keyringFrom(flags.key!, '--key')
  }

  const jwe = await encryptJwe(bytes, keyring, {alg: flags.alg, cty: flags.cty, enc: enc ?? 'A256GCM'})
  if (!ctx.json) ctx.print(jwe)
  return {jwe}
}

/** `jwtis jwe decrypt`: the plaintext exactly; a nested JWT in it verified too. */
export async function decryptAction(
  ctx: ActionContext,
  token: string | undefined,
  flags: DecryptFlags,
): Promise<DecryptResult> {
  const [{decryptJwe}, {keyringFrom}] = await Promise.all([import('../../jose/jwe.js'), import('../keys-input.js')])
  const jwe = await readToken(ctx, token, 'JWE')
  // read up front: a --verify-key that cannot be used is a mistake whatever the JWE holds
  const verifyKeys = flags['verify-key'] ? await keyringFrom(flags['verify-key'], '--verify-key') : undefined
  let decrypted: Decrypted
  let verifyWith: (() => Promise<Keyring>) | undefined
  if (flags['password-file']) {
    const {readBounded} = await import('../input.js')
    const password = (await readBounded(flags['password-file'], 64 * 1024, '--password-file')).toString('utf8')
    decrypted = await decryptJwe(jwe, {password: password.replace(/\r?\n$/, '')})
  } else if (flags.key) {
    // A decryption key says nothing about who signed the inside: no verification without
    // --verify-key (below).
    decrypted = await decryptJwe(jwe, {keyring: await keyringFrom(flags.key, '--key')})
  } else {
    const issuer = await ctx.openIssuer()
    decrypted = await decryptJwe(jwe, {keyring: issuer.keyring()})
    verifyWith = async () => issuer.keyring()
  }

  if (verifyKeys) verifyWith = async () => verifyKeys
  const text = Buffer.from(decrypted.plaintext).toString('utf8')
  const utf8 = Buffer.from(text, 'utf8').equals(Buffer.from(decrypted.plaintext))
  const result: DecryptResult = {
    header: {...decrypted.header},
    plaintext: utf8 ? text : Buffer.from(decrypted.plaintext).toString('base64url'),
    plaintext_encoding: utf8 ? 'utf8' : 'base64url',
  }
  const nested = utf8 && isCompactJws(text, decrypted.header.cty)
  // exactly the plaintext; a nested JWT is a token, and ends its line as `token issue` ends its tokens
  if (!ctx.json) process.stdout.write(nested ? `${text}\n` : decrypted.plaintext)
  if (nested) {
    if (verifyWith) {
      const [{verifyInner}, {DEFAULT_LEEWAY_MS}] = await Promise.all([
        import('../../jose/nested.js'),
        import('../../jose/claims.js'),
      ])
      const inner = await verifyInner(text, {keyring: await verifyWith(), leewayMs: DEFAULT_LEEWAY_MS, now: clock()()})
      result.nested = {header: {...inner.header}, payload: {...inner.payload}, valid: true}
      result.verified = true
      ctx.logErr(
        `\nNested JWT, verified (${inner.header.alg}, kid ${inner.header.kid ?? '-'}):\n${JSON.stringify(inner.header, null, 2)}\n${JSON.stringify(inner.payload, null, 2)}`,
      )
    } else {
      result.nested = {...decodeJws(text), valid: false}
      result.verified = false
      process.stderr.write(
        '\nThe plaintext is a JWT whose signature was NOT verified: pass --verify-key FILE (or use the vault) to verify it\n',
      )
    }
  }

  return result
}

/** Header and claims of a JWS, decoded only (both must be JSON objects, or they are left empty). */
function decodeJws(jws: string): {header: Record<string, unknown>; payload: Record<string, unknown>} {
  const part = (i: number) => {
    try {
      const value = JSON.parse(Buffer.from(jws.split('.')[i], 'base64url').toString('utf8'))
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}
    } catch {
      return {}
    }
  }

  return {header: part(0), payload: part(1)}
}

function isCompactJws(text: string, cty: unknown): boolean {
  return (typeof cty === 'string' && cty.toUpperCase() === 'JWT') || /^[\w-]+\.[\w-]+\.[\w-]*$/.test(text)
}
