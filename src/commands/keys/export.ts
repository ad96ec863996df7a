import {Flags} from '@oclif/core'

import type {JWK} from '../../jose/keys.js'

import {clock, VaultCommand} from '../../cli/base.js'
import {canPrompt} from '../../cli/output.js'
import {UsageError} from '../../common/errors.js'

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
    const {flags} = this
    const [{publicPem, publishedKeys}, {getClient}] = await Promise.all([
      import('../../core/lifecycle.js'),
      import('../../core/clients.js'),
    ])
    const doc = (await this.openVault()).document
    if (flags.client) getClient(doc, flags.client)
    const includeSecrets = flags['include-secret']
    if (includeSecrets && flags.format === 'pem')
      throw new UsageError('--include-secret prints oct JWKs: use it with --format jwks')
    const keys = publishedKeys(doc, clock()(), {
      client: flags.client,
      includeSecrets,
      use: flags.use as 'enc' | 'sig' | undefined,
    })
    if (includeSecrets && keys.some((k) => k.kty === 'oct')) await this.confirmSecrets()
    if (flags.format === 'jwks') {
      if (!this.jsonEnabled()) this.print(JSON.stringify({keys}, null, 2))
      return {keys}
    }

    const pem = (await Promise.all(keys.map((jwk) => publicPem(jwk)))).join('')
    if (!this.jsonEnabled()) process.stdout.write(pem)
    return {pem}
  }

  /** A secret on stdout is a decision: asked on a terminal, else it needs --yes. */
  private async confirmSecrets(): Promise<void> {
    if (this.flags.yes) return
    if (!canPrompt()) throw new UsageError('--include-secret prints shared secrets: add --yes (no terminal to ask on)')
    const {confirm} = await import('@inquirer/prompts')
    const sure = await confirm({default: false, message: 'Print HMAC secrets on stdout?'}, {output: process.stderr})
    if (!sure) throw new UsageError('cancelled: no secret printed')
  }
}
