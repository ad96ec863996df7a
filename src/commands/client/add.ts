import {Args, Flags} from '@oclif/core'

import type {ClientKeysView} from '../../core/clients.js'

import {clock, VaultCommand} from '../../cli/base.js'
import {oauthFlags, oauthInput, settingsFlags, settingsInput} from '../../cli/flags.js'
import {table} from '../../cli/output.js'

export default class ClientAdd extends VaultCommand<typeof ClientAdd> {
  static override args = {
    name: Args.string({description: 'client name (its `kid` in JWTIS requests)', required: true}),
  }
  static override writesVault = true
  static override summary = 'Register a client with its own signing and encryption keys.'
  static override description = `Settings not given here follow the vault defaults (see \`jwtis vault status\`). The client token is printed once, on stdout: the vault keeps only its hash. With --json the result is JWTIS's RegisterClientResponse: kid, client_token, pub_sig_key, pub_enc_key, expiry (when the keys rotate, as a NumericDate) and valid.

HS256, HS384 and HS512 clients sign with a shared secret of the hash's full size: random, or given with --secret-file / JWTIS_CLIENT_SECRET (refused when shorter than the hash). Their pub_sig_key carries no key material; \`jwtis keys export --include-secret\` prints the secret.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> billing',
    '<%= config.bin %> <%= command.id %> billing --sig-alg EdDSA --refresh-strategy refreshBoth --aud https://api.example.com',
    '<%= config.bin %> <%= command.id %> ci-job --aud https://api.example.com --scope read --scope write --jwks ./ci-job.jwks.json',
    '<%= config.bin %> <%= command.id %> legacy --sig-alg HS256 --secret-file ./shared-secret.bin',
    'TOKEN=$(<%= config.bin %> <%= command.id %> billing)',
  ]
  static override flags = {
    ...settingsFlags,
    ...oauthFlags,
    aud: Flags.string({
      description: "audience this client may issue tokens for (repeatable; default: the client's name)",
      helpGroup: 'CLIENT',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'secret-file': Flags.string({
      description:
        'HS256/384/512: use the secret in this file (its bytes; one trailing newline dropped) instead of a random one (else JWTIS_CLIENT_SECRET)',
      helpGroup: 'CLIENT',
    }),
  }

  async run(): Promise<ClientKeysView> {
    const {addClient} = await import('../../core/clients.js')
    const vault = await this.openVault()
    const secret = await this.secret(this.flags['sig-alg'] ?? vault.document.issuer.defaults.sigAlg)
    const result = await addClient(
      vault,
      this.args.name,
      {...settingsInput(this.flags), ...(await oauthInput(this.flags)), aud: this.flags.aud},
      new Date(clock()()),
      {secret},
    )
    if (!this.jsonEnabled()) {
      this.logErr(
        table([
          ['client', result.kid],
          ['signing key', `${result.pub_sig_key.kid} (${result.pub_sig_key.alg})`],
          ['encryption key', `${result.pub_enc_key.kid} (${result.pub_enc_key.alg})`],
          ['keys rotate', new Date(result.expiry * 1000).toISOString()],
        ]),
      )
      this.logErr('Client token (shown once, printed on stdout):')
      this.print(result.client_token!)
    }

    return result
  }

  /** An HMAC secret from --secret-file, or for an HMAC client JWTIS_CLIENT_SECRET, when one is given. */
  private async secret(sigAlg: string): Promise<Uint8Array | undefined> {
    const file = this.flags['secret-file']
    if (file) {
      const {readBounded} = await import('../../cli/input.js')
      const bytes = await readBounded(file, 64 * 1024, '--secret-file')
      const end = bytes.at(-1) === 0x0a ? (bytes.at(-2) === 0x0d ? -2 : -1) : bytes.length
      return bytes.subarray(0, end)
    }

    const {isHmac} = await import('../../jose/algorithms.js')
    const {env} = await import('../../common/config.js')
    const fromEnv = env('JWTIS_CLIENT_SECRET')
    return fromEnv && isHmac(sigAlg) ? Buffer.from(fromEnv, 'utf8') : undefined
  }
}
