import {VaultCommand} from '../../cli/base.js'

export interface UpgradeResult {
  format_version: number
  /** Whether this run signed it (false: it was signed already). */
  upgraded: boolean
  vault: string
  vault_id: string
}

export default class VaultUpgrade extends VaultCommand<typeof VaultUpgrade> {
  static override writesVault = true
  static override summary = 'Sign a vault written before jwtis signed its vaults, so that every command accepts it.'
  static override description = `Vaults from before format 2 carry no signature, so nothing shows that one of their holders wrote them, and every other command refuses them (VAULT_NOT_AUTHENTIC). This command reads such a vault and signs it with a key derived from the identity or passphrase that opens it; from then on a document that none of its holders signed is refused.

Run it only on a vault you know was not replaced by someone who could write its file or Redis key: signing vouches for the content. It prints the clients it is about to vouch for. A vault that is signed already is left as it is.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --vault redis://127.0.0.1:6379',
  ]

  async run(): Promise<UpgradeResult> {
    const {upgradeVault} = await import('../../core/vault-admin.js')
    const vault = await this.openVault(undefined, {legacy: true})
    const upgrade = await upgradeVault(vault, (what) =>
      this.logErr(
        `Signing ${what.location}: issuer ${what.issuer}; clients: ${what.clients.join(', ') || 'none'}; sealed to ${what.passphrase ? 'a passphrase' : what.recipients.join(', ')}`,
      ),
    )
    this.logErr(
      upgrade.upgraded
        ? `Signed: vault id ${upgrade.vaultId}. Other holders of this vault pin it (JWTIS_VAULT_ID or \`jwtis config set vault-id\`), and so do you to read their writes.`
        : `${upgrade.location} is signed already (vault id ${upgrade.vaultId}): nothing to do`,
    )
    return {
      format_version: upgrade.formatVersion,
      upgraded: upgrade.upgraded,
      vault: upgrade.location,
      vault_id: upgrade.vaultId,
    }
  }
}
