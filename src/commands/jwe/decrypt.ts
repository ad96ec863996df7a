import {Args, Flags} from '@oclif/core'

import type {Decrypted} from '../../jose/jwe.js'
import type {Keyring} from '../../jose/keyring.js'

import {clock, VaultCommand} from '../../cli/base.js'
import {keyringFrom} from '../../cli/keys-input.js'
import {DEFAULT_LEEWAY_MS} from '../../jose/claims.js'

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

export default class JweDecrypt extends VaultCommand<typeof JweDecrypt> {
  static override args = {token: Args.string({description: 'compact JWE, - for stdin, or @file'})}
  static override summary = 'Decrypt a compact JWE and print its plaintext exactly.'
  static override description = `Keys come from the vault (by kid: any client, active or retired key), or --key FILE (JWK, JWKS or PEM; oct JWKs too), or --password-file FILE (PBES2), with no vault at all. RSA1_5, "zip" and PBES2 with more than 100000 iterations are refused (ALG_NOT_ALLOWED), as are inputs over 64 KiB. When the plaintext is a JWT (a nested JWT, such as a jwtis refresh token), it is also verified, with the vault or --verify-key FILE, and its header and claims shown; exit 1 if that fails. With only --key there is nothing to verify it with: it is printed, stderr says its signature was NOT verified, and --json says "verified": false. A "dir" key whose JWK alg names the content encryption (RFC 7520 §5.6) is accepted.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> "$JWE"',
    '<%= config.bin %> <%= command.id %> @msg.jwe --key private.jwk > plain.txt',
    '<%= config.bin %> <%= command.id %> - --password-file pass.txt < msg.jwe',
  ]
  static override flags = {
    key: Flags.string({
      description: 'JWK, JWKS or PEM private key file (no vault needed)',
      exclusive: ['password-file'],
    }),
    'password-file': Flags.string({description: 'file holding the PBES2 password (no vault needed)'}),
    'verify-key': Flags.string({
      description: 'JWK, JWKS or PEM to verify a nested JWT with (default: the vault, or --key)',
    }),
  }

  async run(): Promise<DecryptResult> {
    const {flags} = this
    const [{decryptJwe}, {verifyInner}] = await Promise.all([
      import('../../jose/jwe.js'),
      import('../../jose/nested.js'),
    ])
    const jwe = await this.readToken(this.args.token, 'JWE')
    // read up front: a --verify-key that cannot be used is a mistake whatever the JWE holds
    const verifyKeys = flags['verify-key'] ? await keyringFrom(flags['verify-key'], '--verify-key') : undefined
    let decrypted: Decrypted
    let verifyWith: (() => Promise<Keyring>) | undefined
    if (flags['password-file']) {
      const {readBounded} = await import('../../cli/input.js')
      const password = (await readBounded(flags['password-file'], 64 * 1024, '--password-file')).toString('utf8')
      decrypted = await decryptJwe(jwe, {password: password.replace(/\r?\n$/, '')})
    } else if (flags.key) {
      // A decryption key says nothing about who signed the inside: no verification without
      // --verify-key (below).
      decrypted = await decryptJwe(jwe, {keyring: await keyringFrom(flags.key, '--key')})
    } else {
      const issuer = await this.openIssuer()
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
    if (!this.jsonEnabled()) process.stdout.write(decrypted.plaintext)
    if (utf8 && isCompactJws(text, decrypted.header.cty)) {
      if (verifyWith) {
        const inner = await verifyInner(text, {
          keyring: await verifyWith(),
          leewayMs: DEFAULT_LEEWAY_MS,
          now: clock()(),
        })
        result.nested = {header: {...inner.header}, payload: {...inner.payload}, valid: true}
        result.verified = true
        this.logErr(
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
