import {Flags} from '@oclif/core'
import {mkdir} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'

import type {VaultKey} from '../../vault/age.js'

import {VaultCommand} from '../../cli/base.js'
import {repin} from '../../cli/conf.js'
import {ConflictError, UsageError} from '../../common/errors.js'

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
    'add-recipient': Flags.string({description: 'another age public key that may open the vault', multiple: true}),
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
    }),
  }

  async run(): Promise<RekeyResult> {
    const {flags} = this
    const age = await import('../../vault/age.js')
    const add = flags['add-recipient'] ?? []
    const remove = flags['remove-recipient'] ?? []
    for (const r of [...add, ...remove])
      if (!age.isRecipient(r)) throw new UsageError(`${r} is not an age X25519 public key (age1…)`)
    if (!flags.passphrase && !flags['new-identity'] && add.length === 0 && remove.length === 0) {
      throw new UsageError(
        'nothing to change: give --add-recipient, --remove-recipient, --new-identity or --passphrase',
      )
    }

    const vault = await this.openVault()
    const before = vault.signer!.vaultId
    let key: undefined | VaultKey
    let identityFile: string | undefined
    let made: undefined | {recipient: string}
    let replaced: string[] = []
    if (flags.passphrase) {
      key = {passphrase: await this.newPassphrase('--passphrase', ['JWTIS_NEW_PASSPHRASE'])}
    } else if (flags['new-identity']) {
      identityFile = resolve(
        flags['identity-file'] ??
          this.defaultIdentityFile.replace(/\.txt$/, `-${new Date().toISOString().slice(0, 10)}.txt`),
      )
      const identity = await age.newIdentity()
      const {writeFileAtomic} = await import('../../fs/files.js')
      await mkdir(dirname(identityFile), {mode: 0o700, recursive: true})
      if (
        !(await writeFileAtomic(
          identityFile,
          age.identityFileText(identity.identity, identity.recipient, new Date()),
          true,
        ))
      ) {
        throw new ConflictError(
          'IDENTITY_EXISTS',
          `${identityFile} exists; it is never overwritten: pass another --identity-file`,
        )
      }

      made = identity
      replaced = await vault.openedBy()
      key = {identities: [identity.identity]}
    } else if (vault.kind === 'scrypt') {
      throw new UsageError('this vault is sealed with a passphrase: use --new-identity to move it to identities')
    }

    // Worked out from the newest document, inside the write: a recipient another process added
    // a moment ago stays.
    const next = (current: string[]): string[] => {
      if (flags.passphrase) return []
      const kept = made ? [made.recipient, ...current.filter((r) => !replaced.includes(r))] : current
      const recipients = [...new Set([...add, ...kept])].filter((r) => !remove.includes(r))
      if (recipients.length === 0) throw new UsageError('that would leave no recipient able to open the vault')
      return recipients
    }

    // Whoever leaves may have kept the signing key (it is inside the document they could read):
    // a re-key that removes anyone signs with a new key, derived from the secret sealing it now.
    let recipients: string[] = []
    let removedSomeone = false
    await vault.rekey(
      (doc) => {
        const before = doc.age.passphrase ? [] : doc.age.recipients
        recipients = next(before)
        removedSomeone = Boolean(flags.passphrase) || doc.age.passphrase || before.some((r) => !recipients.includes(r))
        doc.age = {passphrase: Boolean(flags.passphrase), recipients}
      },
      key ?? vault.unlockKey(),
      {newSigningKey: () => removedSomeone},
    )
    // The pin is what this holder reads the others' writes by: kept on the vault id while others
    // hold the vault, and never left on a vault key that a removed holder knows.
    const others = recipients.length > 1
    await repin(this.config.configDir, {
      add: others ? vault.signer!.vaultId : undefined,
      drop: removedSomeone || !others ? before : undefined,
    })
    const result: RekeyResult = {
      encryption: flags.passphrase ? 'passphrase' : 'x25519',
      recipients,
      vault: vault.path,
      vault_id: vault.signer!.vaultId,
      ...(identityFile ? {identity_file: identityFile} : {}),
    }
    this.report(result, {added: add.length > 0, newSigningKey: removedSomeone})
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
