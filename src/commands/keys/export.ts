import {Flags} from '@oclif/core'

import type {JWK} from '../../jose/keys.js'

import {VaultCommand} from '../../cli/base.js'

export default class KeysExport extends VaultCommand<typeof KeysExport> {
  static override summary = 'Print public keys (never private ones): a JWKS, or PEM (SPKI) blocks.'
  static override description = `Includes active keys and retired keys still in their grace, so verifiers keep accepting tokens made before a rotation. An HMAC client's key is a shared secret: it is left out unless --include-secret is given (which asks for confirmation on a terminal, or needs --yes); a secret has no PEM form, so --include-secret goes with the JWKS format.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> > jwks.json',
    '<%= config.bin %> <%= command.id %> --client billing --format pem',
    '<%= config.bin %> <%= command.id %> --client hmac-app --include-secret --yes > secret.jwks',
  ]
  static override flags = {
    client: Flags.string({char: 'c', description: 'only this client'}),
    format: Flags.string({default: 'jwks', description: 'output format', options: ['jwks', 'pem']}),
    'include-secret': Flags.boolean({description: "also print HMAC clients' shared secrets (oct JWKs)"}),
    use: Flags.string({description: 'only signing or encryption keys', options: ['sig', 'enc']}),
    yes: Flags.boolean({char: 'y', description: 'do not ask before printing a secret'}),
  }

  async run(): Promise<{keys: JWK[]} | {pem: string}> {
    const {exportKeysAction} = await import('../../cli/actions/keys.js')
    return exportKeysAction(this.context(), this.flags)
  }
}
