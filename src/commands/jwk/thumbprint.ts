import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'

export default class JwkThumbprint extends BaseCommand<typeof JwkThumbprint> {
  static override args = {key: Args.string({description: 'key: a path, @file, or - for stdin (JWK or PEM)'})}
  static override description =
    "Print a key's RFC 7638 thumbprint (SHA-256, base64url): the same as `jose jwk thp`, and the kid jwtis gives keys."
  static override examples = [
    '<%= config.bin %> <%= command.id %> public.jwk',
    '<%= config.bin %> <%= command.id %> private.pem --json',
  ]

  async run(): Promise<{thumbprint: string}> {
    const {thumbprintAction} = await import('../../cli/actions/jwk.js')
    return thumbprintAction(this.context(), this.args.key)
  }
}
