import {Args, Flags} from '@oclif/core'

import type {DecryptResult} from '../../cli/actions/jwe.js'

import {VaultCommand} from '../../cli/base.js'

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
    const {decryptAction} = await import('../../cli/actions/jwe.js')
    return decryptAction(this.context(), this.args.token, this.flags)
  }
}
