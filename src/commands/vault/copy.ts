import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base.js'
import {ConflictError, VaultError} from '../../common/errors.js'
import {vaultLocation} from '../../redis/url.js'

export interface VaultCopyResult {
  bytes: number
  from: string
  to: string
  /** The version the copy has in its new place (a file's is its inode, mtime and size). */
  version: string
}

export default class VaultCopyCommand extends BaseCommand<typeof VaultCopyCommand> {
  static override args = {
    from: Args.string({description: 'the vault to copy: a file, or a redis:// or rediss:// URL', required: true}),
    to: Args.string({description: 'where the copy goes: a file, or a redis:// or rediss:// URL', required: true}),
  }
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

  async run(): Promise<VaultCopyResult> {
    const [{openStorage}, {ageKind}] = await Promise.all([
      import('../../vault/open-storage.js'),
      import('../../vault/age.js'),
    ])
    const {args, flags} = this
    const source = await openStorage(vaultLocation(args.from))
    try {
      const {bytes} = await source.read()
      if (!ageKind(bytes))
        throw new VaultError(
          'VAULT_CORRUPT',
          `${source.location} is not an age-encrypted jwtis vault: nothing was copied`,
        )
      const target = await openStorage(vaultLocation(args.to))
      try {
        if (target.location === source.location)
          throw new ConflictError('VAULT_EXISTS', `${target.location} is the vault being copied: nothing to do`)
        let version = await target.create(bytes)
        if (version === undefined) {
          if (!flags.force)
            throw new ConflictError(
              'VAULT_EXISTS',
              `a vault already exists at ${target.location}; it was left as it is (--force replaces it)`,
            )
          version = await target.commit(async () => bytes)
        }

        const result = {bytes: bytes.length, from: source.location, to: target.location, version}
        this.logErr(`Copied ${source.location} to ${target.location} (${bytes.length} bytes, still sealed)`)
        return result
      } finally {
        await target.close()
      }
    } finally {
      await source.close()
    }
  }
}
