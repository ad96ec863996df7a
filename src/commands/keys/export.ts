import type {CryptoKey, JWK} from 'jose'

import {Flags} from '@oclif/core'

import {VaultCommand} from '../../cli/base.js'

export default class KeysExport extends VaultCommand<typeof KeysExport> {
  static override description = `Print public keys (never private ones): a JWKS, or PEM (SPKI) blocks.

Includes active keys and retired keys still in their grace, so verifiers keep accepting tokens
made before a rotation.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> > jwks.json',
    '<%= config.bin %> <%= command.id %> --client billing --format pem',
  ]
  static override flags = {
    client: Flags.string({char: 'c', description: 'only this client'}),
    format: Flags.string({default: 'jwks', description: 'output format', options: ['jwks', 'pem']}),
    use: Flags.string({description: 'only signing or encryption keys', options: ['sig', 'enc']}),
  }

  async run(): Promise<{keys: JWK[]} | {pem: string}> {
    const {flags} = this
    const issuer = await this.openIssuer()
    if (flags.client) {
      const {getClient} = await import('../../core/clients.js')
      getClient(issuer.vault.document, flags.client)
    }

    const entries = issuer
      .keyring()
      .entries.filter((e) => (!flags.client || e.client === flags.client) && (!flags.use || e.use === flags.use))
    const keys = entries.map((e) => e.jwk!)
    if (flags.format === 'jwks') {
      if (!this.jsonEnabled()) this.print(JSON.stringify({keys}, null, 2))
      return {keys}
    }

    const {exportSPKI, importJWK} = await import('jose')
    const blocks = await Promise.all(
      keys.map(async (jwk) => {
        const key = await importJWK({...jwk, alg: undefined, use: undefined}, jwk.alg === 'EdDSA' ? 'Ed25519' : jwk.alg)
        // Each block ends with a newline after its END line, or `openssl pkey` skips the next key.
        const spki = (await exportSPKI(key as CryptoKey)).trimEnd()
        return `# kid ${jwk.kid} ${jwk.use} ${jwk.alg}\n${spki}\n`
      }),
    )
    const pem = blocks.join('')
    if (!this.jsonEnabled()) process.stdout.write(pem)
    return {pem}
  }
}
