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
  keys_due: Array<{client: string; due: string; kid: string; use: string}>
  path: string
  recipients: string[]
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
          ['issuer', status.issuer],
          [
            'defaults',
            `${d.sigAlg}, ${d.encAlg} ${d.enc}, ${d.refreshStrategy}; access ${d.accessTtl}, refresh ${d.refreshTtl}, session ${d.sessionTtl}, keys ${d.keyTtl}`,
          ],
          ['clients', String(status.clients)],
          ['keys', String(status.keys)],
          [
            'keys due',
            status.keys_due.length === 0
              ? 'none'
              : status.keys_due.map((k) => `${k.client}/${k.use} ${k.kid}`).join(', '),
          ],
        ]),
      )
    }

    return status
  }
}
