import {clock, VaultCommand} from '../../cli/base.js'
import {table} from '../../cli/output.js'
import {settingsJson} from '../../core/settings.js'

export interface VaultStatus {
  clients: number
  /** The issuer's default client settings, snake_case. */
  defaults: Record<string, unknown>
  encryption: 'passphrase' | 'x25519'
  format_version: number
  issuer: string
  keys: number
  /** Active keys older than their client's key-ttl: they rotate on next use, or with `keys rotate`. */
  /** `client` is null for the issuer's own key-wrapping key. */
  keys_due: Array<{client: null | string; due: string; kid: string; use: string}>
  path: string
  recipients: string[]
  /** How this reader knows a holder wrote it: `derived`, written by this identity or passphrase; `pinned`, by another holder under a pinned vault id. */
  signed_by: 'derived' | 'pinned'
  /** Writes so far: a copy with a lower number is an older one. */
  signed_serial: number
  /** The public key that signs the vault: what another holder or a CI job pins (JWTIS_VAULT_ID). */
  vault_id: string
}

export default class VaultStatusCommand extends VaultCommand<typeof VaultStatusCommand> {
  static override description =
    'Show the vault: where it is, who can open it, its clients and the keys due for rotation.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --vault ./data/vault.age --json',
  ]

  async run(): Promise<VaultStatus> {
    const {keysDue} = await import('../../core/lifecycle.js')
    const vault = await this.openVault()
    const doc = vault.document
    const keys = Object.values(doc.clients).reduce((n, c) => n + c.keys.length, 0)
    const status: VaultStatus = {
      clients: Object.keys(doc.clients).length,
      defaults: settingsJson(doc.issuer.defaults),
      encryption: vault.kind === 'scrypt' ? 'passphrase' : 'x25519',
      format_version: doc.version,
      issuer: doc.issuer.name,
      keys,
      keys_due: keysDue(doc, clock()()),
      path: vault.path,
      recipients: doc.age.recipients,
      signed_by: vault.signer!.by,
      signed_serial: vault.signer!.serial,
      vault_id: vault.signer!.vaultId,
    }
    if (!this.jsonEnabled()) {
      const d = doc.issuer.defaults
      this.print(
        table([
          ['vault', status.path],
          ['format', `version ${status.format_version}`],
          [
            'sealed with',
            status.encryption === 'passphrase' ? 'scrypt passphrase' : `age X25519 to ${status.recipients.join(', ')}`,
          ],
          ['vault id', status.vault_id],
          [
            'signed',
            `write ${status.signed_serial}, ${status.signed_by === 'derived' ? 'by this identity (its own key)' : 'by another holder, under the pinned vault id'}`,
          ],
          ['issuer', status.issuer],
          [
            'defaults',
            `${d.sigAlg}, ${d.encAlg} ${d.enc}, ${d.refreshStrategy}, refresh tokens sealed by ${d.refreshSeal ?? 'client'}; access ${d.accessTtl}, refresh ${d.refreshTtl}, session ${d.sessionTtl}, keys ${d.keyTtl}`,
          ],
          ['clients', String(status.clients)],
          ['keys', String(status.keys)],
          [
            'keys due',
            status.keys_due.length === 0
              ? 'none'
              : status.keys_due.map((k) => `${k.client ?? '(issuer)'}/${k.use} ${k.kid}`).join(', '),
          ],
        ]),
      )
    }

    return status
  }
}
