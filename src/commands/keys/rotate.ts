import {Flags} from '@oclif/core'

import type {RotatedKey} from '../../core/rotation.js'
import type {KeyUse} from '../../jose/keys.js'

import {clock, VaultCommand} from '../../cli/base.js'
import {durationFlag} from '../../cli/flags.js'
import {UsageError} from '../../common/errors.js'

export default class KeysRotate extends VaultCommand<typeof KeysRotate> {
  static override summary = 'Give clients new active keys.'
  static override description = `The old keys are retired: they still verify and decrypt what they made until the grace ends (default: the longest lifetime of a token they could have made, session-ttl or access-ttl, plus 30s), then they are dropped.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --client billing',
    '<%= config.bin %> <%= command.id %> --all --use sig --grace 1h',
  ]
  static override flags = {
    all: Flags.boolean({description: 'every client', exactlyOne: ['client', 'all']}),
    client: Flags.string({
      char: 'c',
      description: 'client name (repeatable)',
      exactlyOne: ['client', 'all'],
      multiple: true,
      multipleNonGreedy: true,
    }),
    grace: durationFlag({description: 'how long the old keys keep verifying/decrypting'}),
    use: Flags.string({default: 'both', description: 'which keys', options: ['sig', 'enc', 'both']}),
  }

  async run(): Promise<RotatedKey[]> {
    const [{rotateKeys}, {getClient}] = await Promise.all([
      import('../../core/rotation.js'),
      import('../../core/clients.js'),
    ])
    const {flags} = this
    const vault = await this.openVault()
    const clients = flags.all ? Object.keys(vault.document.clients).sort() : flags.client!
    for (const c of clients) getClient(vault.document, c)
    if (clients.length === 0) throw new UsageError('the vault has no clients to rotate')
    const uses: KeyUse[] = flags.use === 'both' ? ['sig', 'enc'] : [flags.use as KeyUse]
    const rotated = await rotateKeys(vault, clients, uses, {graceMs: flags.grace, now: clock()()})
    for (const r of rotated) {
      this.logErr(
        `${r.client} ${r.use}: new key ${r.kid}${r.retired ? `; ${r.retired} retired until ${r.retire_after}` : ''}`,
      )
    }

    return rotated
  }
}
