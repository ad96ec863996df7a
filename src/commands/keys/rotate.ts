import {Flags} from '@oclif/core'

import type {RotatedKey} from '../../core/rotation.js'
import type {KeyUse} from '../../jose/keys.js'

import {clock, VaultCommand} from '../../cli/base.js'
import {durationFlag} from '../../cli/flags.js'
import {UsageError} from '../../common/errors.js'

export default class KeysRotate extends VaultCommand<typeof KeysRotate> {
  static override writesVault = true
  static override summary = 'Give clients (or the issuer) new active keys.'
  static override description = `The old keys are retired: they still verify and decrypt what they made until the grace ends (default: the longest lifetime of a token they could have made, session-ttl or access-ttl, plus 30s), then they are dropped.

Without --client or --issuer it rotates every client, as --all. The issuer's own key-wrapping key (it seals the refresh tokens of \`refresh_seal: issuer\` clients) rotates with --issuer, and with --all unless --use sig; the old one opens refresh tokens until the longest session-ttl of any client has passed.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --client billing',
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --all --use sig --grace 1h',
    '<%= config.bin %> <%= command.id %> --issuer',
  ]
  static override flags = {
    all: Flags.boolean({
      description: "every client, and the issuer's key-wrapping key (the default)",
      exclusive: ['client', 'issuer'],
    }),
    client: Flags.string({
      char: 'c',
      description: 'client name (repeatable)',
      exclusive: ['all', 'issuer'],
      multiple: true,
      multipleNonGreedy: true,
    }),
    grace: durationFlag({description: 'how long the old keys keep verifying/decrypting'}),
    issuer: Flags.boolean({
      description: "only the issuer's key-wrapping key (refresh_seal: issuer)",
      exclusive: ['all', 'client'],
    }),
    use: Flags.string({default: 'both', description: 'which keys', options: ['sig', 'enc', 'both']}),
  }

  async run(): Promise<RotatedKey[]> {
    const [{rotateKeys, rotateSealKey}, {getClient}] = await Promise.all([
      import('../../core/rotation.js'),
      import('../../core/clients.js'),
    ])
    const {flags} = this
    const vault = await this.openVault()
    const all = flags.all || (flags.client === undefined && !flags.issuer)
    const clients = all ? Object.keys(vault.document.clients).sort() : (flags.client ?? [])
    for (const c of clients) getClient(vault.document, c)
    if (flags.issuer && flags.use === 'sig')
      throw new UsageError("the issuer's only key is a key-wrapping key: drop --use sig")
    // --all covers the issuer's key once it has one (a vault whose clients all seal to themselves has none)
    const issuer = flags.issuer || (all && flags.use !== 'sig' && (vault.document.issuer.sealKeys ?? []).length > 0)
    if (clients.length === 0 && !issuer) throw new UsageError('the vault has no clients to rotate')
    const uses: KeyUse[] = flags.use === 'both' ? ['sig', 'enc'] : [flags.use as KeyUse]
    const options = {graceMs: flags.grace, now: clock()()}
    const rotated = clients.length > 0 ? await rotateKeys(vault, clients, uses, options) : []
    if (issuer) rotated.push((await rotateSealKey(vault, options))!)
    for (const r of rotated) {
      this.logErr(
        `${r.client ?? '(issuer)'} ${r.use}: new key ${r.kid}${r.retired ? `; ${r.retired} retired until ${r.retire_after}` : ''}`,
      )
    }

    return rotated
  }
}
