import {Args, Flags} from '@oclif/core'

import type {CopyVaultResult} from '../../core/vault-admin.js'

import {BaseCommand} from '../../cli/base.js'

export default class VaultCopyCommand extends BaseCommand<typeof VaultCopyCommand> {
  static override args = {
    from: Args.string({description: 'the vault to copy: a file, or a redis:// or rediss:// URL', required: true}),
    to: Args.string({description: 'where the copy goes: a file, or a redis:// or rediss:// URL', required: true}),
  }
  static override writesVault = true
  static override summary = 'Copy a vault between a file and Redis, either way, without decrypting it.'
  static override description = `The copy is the same age-sealed bytes (a binary age file is ASCII-armored on its way into Redis, an encoding that age reads as well): no identity or passphrase is needed, and whoever could open the vault can open the copy. A target that already holds a vault is left alone unless --force. Only the vault moves: refresh-token state stays in the token store it was in.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> ./data/vault.age redis://127.0.0.1:6379',
    '<%= config.bin %> <%= command.id %> redis://:$PASSWORD@redis.internal:6379/2 ./backup/vault.age',
    '<%= config.bin %> <%= command.id %> ./data/vault.age "redis://127.0.0.1:6379?name=staging" --force',
  ]
  static override flags = {
    force: Flags.boolean({description: 'replace a vault already at the target'}),
  }

  async run(): Promise<CopyVaultResult> {
    const {copyVault} = await import('../../core/vault-admin.js')
    const result = await copyVault(this.args.from, this.args.to, {force: this.flags.force})
    this.logErr(`Copied ${result.from} to ${result.to} (${result.bytes} bytes, still sealed)`)
    return result
  }
}
