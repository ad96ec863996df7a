import {Flags} from '@oclif/core'

import type {SignResult} from '../../cli/actions/sign.js'

import {BaseCommand} from '../../cli/base.js'
import {SIG_ALGS} from '../../jose/algorithms.js'

export default class TokenSign extends BaseCommand<typeof TokenSign> {
  static override summary = 'Sign claims with a key given on the command line, no vault involved.'
  static override description = `As \`step crypto jwt sign\` and \`jwt-cli encode\` do: a private key (--key: PEM or JWK) or an HMAC secret (--secret @FILE or - for stdin; never on the command line, where ps would show it). The algorithm comes from the key unless --alg says otherwise; kid defaults to the RFC 7638 thumbprint of the public key (none for a secret). iat is always set; exp defaults to 15 minutes from now.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --key ec.pem --sub alice --aud https://api.example.com',
    '<%= config.bin %> <%= command.id %> --key rsa.jwk --alg PS256 --exp 2030-01-01T00:00:00Z --claim role=admin',
    'printf %s "$SECRET" | <%= config.bin %> <%= command.id %> --secret - --alg HS512 --claims @claims.json --json',
  ]
  static override flags = {
    alg: Flags.string({description: "signature algorithm (default: the key's own)", options: [...SIG_ALGS]}),
    aud: Flags.string({description: 'audience (repeatable)', multiple: true, multipleNonGreedy: true}),
    claim: Flags.string({
      description: 'claim NAME=VALUE (repeatable; JSON values are parsed)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    claims: Flags.string({description: 'claims as a JSON object, @file, or - for stdin'}),
    exp: Flags.string({
      default: '15m',
      description: 'expiry: a duration from now (15m, +1h), an RFC 3339 time, or seconds since the epoch',
    }),
    iss: Flags.string({description: 'issuer'}),
    key: Flags.string({
      description: 'private key file: PEM (PKCS#8, SEC1, PKCS#1) or JWK',
      exactlyOne: ['key', 'secret'],
    }),
    kid: Flags.string({description: 'key id header (default: the RFC 7638 thumbprint of the public key)'}),
    nbf: Flags.string({description: 'not before: a duration from now, an RFC 3339 time, or seconds since the epoch'}),
    secret: Flags.string({description: 'HMAC secret: @FILE, or - for stdin', exactlyOne: ['key', 'secret']}),
    sub: Flags.string({description: 'subject'}),
    typ: Flags.string({default: 'JWT', description: 'typ header (at+jwt for an RFC 9068 access token)'}),
  }

  async run(): Promise<SignResult> {
    const {signAction} = await import('../../cli/actions/sign.js')
    return signAction(this.context(), this.flags)
  }
}
