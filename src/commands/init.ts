import {Flags} from '@oclif/core'
import {resolve} from 'node:path'

import {clock, VaultCommand} from '../cli/base.js'
import {repin} from '../cli/conf.js'
import {settingsFlags, settingsInput} from '../cli/flags.js'
import {readSettings} from '../cli/settings-file.js'
import {env} from '../common/config.js'
import {DEFAULT_LIMITS} from '../common/limits.js'
import {hasPassword} from '../redis/url.js'

export interface InitResult {
  identity?: string
  identity_file: null | string
  /** Whether the vault became the `vault` setting (there was none), so any directory finds it. */
  is_default: boolean
  recipient: null | string
  vault: string
  /** The public key that signs the vault: other holders pin it (JWTIS_VAULT_ID); see `vault status`. */
  vault_id: string
}

export default class Init extends VaultCommand<typeof Init> {
  static override writesVault = true
  static override summary = 'Create the vault and the age identity that opens it.'
  static override description = `By default a new X25519 identity is saved in the user config directory (mode 0600) and reused by later \`init\`s, so one identity opens all your vaults; an existing identity file is never overwritten. With --passphrase the vault is sealed with an scrypt passphrase instead (JWTIS_PASSPHRASE, or asked for on a terminal).

The vault stays readable with the standard tool: age -d -i IDENTITY_FILE vault.age`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --vault ./keys/vault.age --name https://auth.example.com --sig-alg EdDSA',
    'JWTIS_PASSPHRASE=... <%= config.bin %> <%= command.id %> --passphrase',
    '<%= config.bin %> <%= command.id %> --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
  ]
  static override flags = {
    ...settingsFlags,
    'identity-file': Flags.string({description: 'save the new identity here instead of the user config directory'}),
    'max-access-ttl': Flags.string({
      default: DEFAULT_LIMITS.maxAccessTtl,
      description: 'longest access token lifetime any client or request may ask for',
      helpGroup: 'LIMITS',
    }),
    'max-session-ttl': Flags.string({
      default: DEFAULT_LIMITS.maxSessionTtl,
      description: 'longest lifetime of a refresh token or refresh family',
      helpGroup: 'LIMITS',
    }),
    name: Flags.string({default: 'JWTIS', description: 'issuer name: the `iss` claim of every token'}),
    passphrase: Flags.boolean({description: 'seal the vault with an scrypt passphrase instead of an identity'}),
    'print-identity': Flags.boolean({description: 'print the secret identity on stdout (once; store it safely)'}),
    recipient: Flags.string({
      description: 'another age public key (age1…) that may open the vault',
      multiple: true,
      multipleNonGreedy: true,
    }),
  }

  async run(): Promise<InitResult> {
    const {initVault} = await import('../core/vault-admin.js')
    const {flags} = this
    const path = this.vaultPath()
    const extra = flags.recipient ?? []
    const created = await initVault({
      defaults: settingsInput(flags),
      limits: {maxAccessTtl: flags['max-access-ttl'], maxSessionTtl: flags['max-session-ttl']},
      location: path,
      name: flags.name,
      now: new Date(clock()()),
      recipients: extra,
      seal: flags.passphrase
        ? {passphrase: () => this.newPassphrase('--passphrase', ['JWTIS_PASSPHRASE', 'JWTIS_PSWD'])}
        : this.identitySource(),
    })
    const result: InitResult = {
      ...(flags['print-identity'] && created.identity ? {identity: created.identity} : {}),
      identity_file: created.identityFile ?? null,
      is_default: await this.recordAsDefault(path),
      recipient: created.recipient ?? null,
      vault: created.location,
      vault_id: created.vaultId,
    }
    // Writes by the other holders are signed under the vault id: this holder reads them by it.
    if (extra.length > 0) await repin(this.config.configDir, {add: result.vault_id})
    if (!this.jsonEnabled()) this.report(result, created.newIdentity, extra.length > 0)
    return result
  }

  /**
   * The identity that opens the new vault: one given (--identity, JWTIS_AGE_KEY_FILE,
   * JWTIS_AGE_KEY), else the saved identity file. A file is made only when it does not exist yet:
   * an identity file is never overwritten, as that would lock the user out of other vaults.
   */
  private identitySource(): {identity: string} | {identityFile: string} {
    // An identity named with --identity or JWTIS_AGE_KEY_FILE is used when it exists, and made
    // there when it does not (as `age-keygen -o` would).
    const named = this.flags.identity ?? env('JWTIS_AGE_KEY_FILE')
    const inline = env('JWTIS_AGE_KEY')
    if (!named && inline) return {identity: inline.trim()}
    return {
      identityFile: resolve(
        named ??
          this.flags['identity-file'] ??
          readSettings(this.config.configDir).identity ??
          this.defaultIdentityFile,
      ),
    }
  }

  /**
   * Makes the new vault the `vault` setting when there is none yet, so that `cd /tmp && jwtis
   * client list` finds it. Never a URL with a password in it: settings are not for secrets.
   */
  private async recordAsDefault(path: string): Promise<boolean> {
    if (readSettings(this.config.configDir).vault !== undefined) return false
    if (hasPassword(path)) return false
    const {openSettings} = await import('../cli/conf.js')
    ;(await openSettings(this.config.configDir)).set('vault', path)
    return true
  }

  private report(result: InitResult, newIdentity: boolean, otherHolders: boolean): void {
    this.logErr(
      `Created vault ${result.vault}${result.is_default ? ' (now the default vault: `jwtis config get vault`)' : ''}`,
    )
    if (result.identity_file) {
      const how = newIdentity ? 'Saved new' : 'Using existing'
      this.logErr(`${how} identity ${result.identity_file} (keep it: without it the vault cannot be opened)`)
    }

    if (result.recipient) this.logErr(`Public key: ${result.recipient}`)
    else this.logErr('Sealed with a passphrase: set JWTIS_PASSPHRASE to open it without a prompt')
    if (otherHolders)
      this.logErr(
        `Vault id: ${result.vault_id} (pinned here in the vault-id setting). Give it to the other holders: they set JWTIS_VAULT_ID or run \`jwtis config set vault-id ${result.vault_id}\`, or the vault is refused as not authentic.`,
      )
    if (result.identity) this.print(result.identity)
  }
}
