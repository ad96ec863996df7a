import {Args, Flags} from '@oclif/core'

import {VaultCommand} from '../../cli/base.js'
import {JWE_ENCS} from '../../jose/algorithms.js'

export default class JweEncrypt extends VaultCommand<typeof JweEncrypt> {
  static override args = {plaintext: Args.string({description: 'plaintext, - for stdin, or @file'})}
  static override summary = `Encrypt a plaintext to a client's encryption key, or to a public key file, as a compact JWE.`
  static override examples = [
    'echo hello | <%= config.bin %> <%= command.id %> - --to billing',
    '<%= config.bin %> <%= command.id %> @claims.json --key public.jwk --alg RSA-OAEP-256 --enc A128GCM',
  ]
  static override flags = {
    alg: Flags.string({description: "key management algorithm (default: the key's own)"}),
    cty: Flags.string({description: 'content type header (JWT for a nested JWT)'}),
    enc: Flags.string({description: "content encryption (default: the client's, else A256GCM)", options: JWE_ENCS}),
    key: Flags.string({
      description: 'public JWK or PEM file to encrypt to (no vault needed)',
      exactlyOne: ['to', 'key'],
    }),
    to: Flags.string({description: 'client whose active encryption key to encrypt to', exactlyOne: ['to', 'key']}),
  }

  async run(): Promise<{jwe: string}> {
    const {encryptAction} = await import('../../cli/actions/jwe.js')
    return encryptAction(this.context(), this.args.plaintext, this.flags)
  }
}
