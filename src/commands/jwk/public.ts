import {Args, Flags} from '@oclif/core'

import type {JWK} from '../../jose/keys.js'

import {BaseCommand} from '../../cli/base.js'

export default class JwkPublic extends BaseCommand<typeof JwkPublic> {
  static override args = {key: Args.string({description: 'private key: a path, @file, or - for stdin (JWK or PEM)'})}
  static override description = 'Print the public half of a private key (JWK or PEM), as a JWK or as PEM.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> private.jwk > public.jwk',
    'cat private.pem | <%= config.bin %> <%= command.id %> - --format pem',
  ]
  static override flags = {
    format: Flags.string({default: 'jwk', description: 'output format', options: ['jwk', 'pem']}),
  }

  async run(): Promise<JWK> {
    const [{readOneKey}, {jwkToPem, publicJwk}, {UsageError}] = await Promise.all([
      import('../../cli/jwk-input.js'),
      import('../../jose/keys.js'),
      import('../../common/errors.js'),
    ])
    const jwk = await readOneKey(this.args.key)
    if (jwk.kty === 'oct') throw new UsageError('a secret (kty oct) has no public half', 'BAD_KEY')
    const pub = publicJwk(jwk)
    if (!this.jsonEnabled())
      this.print(this.flags.format === 'pem' ? await jwkToPem(pub) : JSON.stringify(pub, null, 2))
    return pub
  }
}
