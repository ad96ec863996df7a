import {Args, Flags} from '@oclif/core'

import type {RotatedKey} from '../../core/rotation.js'

import {clock, VaultCommand} from '../../cli/base.js'
import {clientFlag, durationFlag} from '../../cli/flags.js'
import {env} from '../../common/config.js'

export default class KeysImport extends VaultCommand<typeof KeysImport> {
  static override args = {
    file: Args.string({
      description: 'private key: PEM (PKCS#8, SEC1, PKCS#1) or JWK, a file or the key itself; - for stdin',
      required: true,
    }),
  }
  static override writesVault = true
  static override summary = `Make an existing private key a client's active key; the old one is retired.`
  static override description = `PEM keys may be PKCS#8 (also encrypted, with --passphrase-file or JWTIS_KEY_PASSPHRASE), SEC1 ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"); a JWK works too (an oct JWK for HMAC clients). The key must fit the client's algorithm for that use (for example a P-256 key for ES256, RSA of at least 2048 bits for RS256 or RSA-OAEP); a public key alone is refused. It must also hold together: its public members (x, y; n, e) are those its private part derives; EC keys are on P-256, P-384 or P-521, OKP keys Ed25519 or X25519 (jose has no Ed448 or X448), and an RSA JWK carries its CRT members (p, q, dp, dq, qi). Anything else is BAD_KEY (exit 2), the vault untouched. The key it replaces keeps verifying or decrypting for the grace, as with \`jwtis keys rotate\`.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --client billing ./signing-key.pem',
    'JWTIS_KEY_PASSPHRASE=... <%= config.bin %> <%= command.id %> --client billing ./encrypted-pkcs8.pem',
    '<%= config.bin %> <%= command.id %> --client billing --use enc ./enc-key.jwk',
  ]
  static override flags = {
    client: clientFlag,
    grace: durationFlag({description: 'how long the replaced key keeps verifying/decrypting'}),
    'passphrase-file': Flags.string({description: 'file holding the passphrase of an encrypted PKCS#8 key'}),
    use: Flags.string({default: 'sig', description: 'which of the client keys it becomes', options: ['sig', 'enc']}),
  }

  async run(): Promise<RotatedKey> {
    const {flags} = this
    const [{importKey}, {parsePrivateKey}, {readBounded}, {keyArgument}] = await Promise.all([
      import('../../core/import.js'),
      import('../../jose/private-key.js'),
      import('../../cli/input.js'),
      import('../../cli/keys-input.js'),
    ])
    const {input, label: source} = keyArgument(this.args.file)
    const text = await this.readInput(input, 'key')
    const passphrase = flags['passphrase-file']
      ? (await readBounded(flags['passphrase-file'], 64 * 1024, '--passphrase-file'))
          .toString('utf8')
          .replace(/\r?\n$/, '')
      : env('JWTIS_KEY_PASSPHRASE')
    const jwk = await parsePrivateKey(text, source, passphrase)
    const vault = await this.openVault()
    const installed = await importKey(vault, flags.client, flags.use as 'enc' | 'sig', jwk, {
      graceMs: flags.grace,
      now: clock()(),
      source,
    })
    this.logErr(
      `${installed.client} ${installed.use}: imported key ${installed.kid} is active${installed.retired ? `; ${installed.retired} retired until ${installed.retire_after}` : ''}`,
    )
    return installed
  }
}
