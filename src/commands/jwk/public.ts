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
    const {publicAction} = await import('../../cli/actions/jwk.js')
    return publicAction(this.context(), this.args.key, this.flags.format)
  }
}
