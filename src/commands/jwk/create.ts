import {Flags} from '@oclif/core'

import type {JWK} from '../../jose/keys.js'

import {BaseCommand} from '../../cli/base.js'
import {ENC_ALGS, SIG_ALGS} from '../../jose/algorithms.js'

export default class JwkCreate extends BaseCommand<typeof JwkCreate> {
  static override summary = 'Create a key as a private JWK (kid: its RFC 7638 thumbprint) on stdout.'
  static override description = `For signing (ES256, EdDSA, RS256, HS256...) or for encryption (ECDH-ES+A256KW, RSA-OAEP-256...). --out FILE writes the private key to FILE (mode 0600) instead, and stdout then gets its public half (nothing for an HMAC secret; --json: the public JWK). --public-out writes the public half to a file; --format pem writes PEM (PKCS#8 private, SPKI public) instead of JWK. An existing --out or --public-out file is left alone (exit 2) unless --force. On a terminal, a private key printed on stdout is preceded by a warning on stderr.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --alg ES256 --out private.jwk > public.jwk',
    '<%= config.bin %> <%= command.id %> --alg RS256 --bits 3072 --format pem --out private.pem --public-out public.pem',
    '<%= config.bin %> <%= command.id %> --alg HS256 --out secret.jwk',
  ]
  static override flags = {
    alg: Flags.string({description: 'algorithm the key is for', options: [...SIG_ALGS, ...ENC_ALGS], required: true}),
    bits: Flags.integer({description: 'RSA modulus size (default 2048)', min: 2048}),
    force: Flags.boolean({description: 'overwrite an existing --out or --public-out file'}),
    format: Flags.string({default: 'jwk', description: 'output format', options: ['jwk', 'pem']}),
    out: Flags.string({description: 'write the private key to this file (mode 0600); stdout gets the public key'}),
    'public-out': Flags.string({description: 'also write the public key to this file'}),
  }

  async run(): Promise<JWK> {
    const {createAction} = await import('../../cli/actions/jwk.js')
    return createAction(this.context(), this.flags)
  }
}
