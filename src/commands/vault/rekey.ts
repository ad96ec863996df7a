import {Flags} from '@oclif/core'
import {resolve} from 'node:path'

import {VaultCommand} from '../../cli/base.js'
import {repin} from '../../cli/conf.js'

export interface RekeyResult {
  encryption: 'passphrase' | 'x25519'
  /** Where the new identity was saved (with --new-identity). */
  identity_file?: string
  recipients: string[]
  vault: string
  /** The vault id after the re-key (new when anyone was removed): see `vault status`. */
  vault_id: string
}

export default class VaultRekey extends VaultCommand<typeof VaultRekey> {
  static override writesVault = true
  static override summary =
    'Change who can open the vault: add or remove age recipients, move to a new identity, or set or change a passphrase.'
  static override description = `The vault is re-sealed atomically; the old key stops working for the new file (keep old copies or backups in mind: they still open with the old key).

--new-identity saves a new X25519 identity to --identity-file (default: identity-<date>.txt in the user config directory; an existing file is never overwritten) and seals the vault to it in place of the identity that opened it. --passphrase seals it with a passphrase instead (JWTIS_NEW_PASSPHRASE, or asked for on a terminal).`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --add-recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
    '<%= config.bin %> <%= command.id %> --new-identity --identity-file ~/.config/jwtis/identity-2027.txt',
    'JWTIS_NEW_PASSPHRASE=... <%= config.bin %> <%= command.id %> --passphrase',
  ]
  static override flags = {
    'add-recipient': Flags.string({
      description: 'another age public key that may open the vault',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'identity-file': Flags.string({
      dependsOn: ['new-identity'],
      description: 'where --new-identity saves the identity',
    }),
    'new-identity': Flags.boolean({
      description: 'seal to a new X25519 identity instead of the one that opened it',
      exclusive: ['passphrase'],
    }),
    passphrase: Flags.boolean({
      description: 'seal with a (new) passphrase instead of identities',
      exclusive: ['add-recipient'],
    }),
    'remove-recipient': Flags.string({
      description: 'an age public key that may no longer open the vault',
      multiple: true,
      multipleNonGreedy: true,
    }),
  }

  async run(): Promise<RekeyResult> {
    const {rekeyVault} = await import('../../core/vault-admin.js')
    const {flags} = this
    const rekeyed = await rekeyVault(() => this.openVault(), {
      add: flags['add-recipient'],
      newIdentityFile: flags['new-identity']
        ? resolve(
            flags['identity-file'] ??
              this.defaultIdentityFile.replace(/\.txt$/, `-${new Date().toISOString().slice(0, 10)}.txt`),
          )
        : undefined,
      passphrase: flags.passphrase ? () => this.newPassphrase('--passphrase', ['JWTIS_NEW_PASSPHRASE']) : undefined,
      remove: flags['remove-recipient'],
    })
    // The pin is what this holder reads the others' writes by: kept on the vault id while others
    // hold the vault, and never left on a vault key that a removed holder knows.
    const others = rekeyed.recipients.length > 1
    await repin(this.config.configDir, {
      add: others ? rekeyed.vaultId : undefined,
      drop: rekeyed.newSigningKey || !others ? rekeyed.previousVaultId : undefined,
    })
    const result: RekeyResult = {
      encryption: rekeyed.encryption,
      recipients: rekeyed.recipients,
      vault: rekeyed.location,
      vault_id: rekeyed.vaultId,
      ...(rekeyed.identityFile ? {identity_file: rekeyed.identityFile} : {}),
    }
    this.report(result, {added: (flags['add-recipient'] ?? []).length > 0, newSigningKey: rekeyed.newSigningKey})
    return result
  }

  private report(result: RekeyResult, what: {added: boolean; newSigningKey: boolean}): void {
    this.logErr(
      `Re-sealed ${result.vault} ${result.encryption === 'passphrase' ? 'with a passphrase' : `to ${result.recipients.join(', ')}`}`,
    )
    if (result.identity_file)
      this.logErr(
        `New identity saved to ${result.identity_file}: use it with --identity or \`jwtis config set identity ${result.identity_file}\``,
      )
    if (what.newSigningKey)
      this.logErr(
        `Signed with a new vault key: the vault id is now ${result.vault_id}. Other holders need the new one (JWTIS_VAULT_ID or \`jwtis config set vault-id\`); restart \`jwtis serve\`.`,
      )
    else if (what.added)
      this.logErr(
        `Give each new holder the vault id ${result.vault_id}: they set JWTIS_VAULT_ID or run \`jwtis config set vault-id ${result.vault_id}\`, or the vault is refused as not authentic.`,
      )
  }
}
