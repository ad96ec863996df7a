import {Flags} from '@oclif/core'

import type {JWK} from '../../jose/keys.js'

import {BaseCommand} from '../../cli/base.js'
import {ENC_ALGS, SIG_ALGS} from '../../jose/algorithms.js'

export default class JwkCreate extends BaseCommand<typeof JwkCreate> {
  static override summary = 'Create a key as a private JWK (kid: its RFC 7638 thumbprint) on stdout.'
  static override description = `For signing (ES256, EdDSA, RS256, HS256...) or for encryption (ECDH-ES+A256KW, RSA-OAEP-256...). --public-out writes its public half to a file; --format pem writes PEM (PKCS#8 private, SPKI public) instead of JWK.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --alg ES256 > private.jwk',
    '<%= config.bin %> <%= command.id %> --alg RS256 --bits 3072 --format pem --public-out public.pem > private.pem',
  ]
  static override flags = {
    alg: Flags.string({description: 'algorithm the key is for', options: [...SIG_ALGS, ...ENC_ALGS], required: true}),
    bits: Flags.integer({description: 'RSA modulus size (default 2048)', min: 2048}),
    format: Flags.string({default: 'jwk', description: 'output format', options: ['jwk', 'pem']}),
    'public-out': Flags.string({description: 'also write the public key to this file'}),
  }

  async run(): Promise<JWK> {
    const {createAction} = await import('../../cli/actions/jwk.js')
    return createAction(this.context(), this.flags)
  }
}
