import {Args, Flags} from '@oclif/core'

import type {IssuedTokens} from '../../core/issuer.js'

import {VaultCommand} from '../../cli/base.js'
import {clientFlag, noWriteFlag, storeFlag} from '../../cli/flags.js'
import {REFRESH_STRATEGIES} from '../../jose/algorithms.js'

export default class TokenRenew extends VaultCommand<typeof TokenRenew> {
  static override args = {token: Args.string({description: 'refresh token, - for stdin, or @file'})}
  static override summary = 'Exchange a refresh token for a new access token.'
  static override description = `Prints the access token on line 1 and the refresh token to present next on line 2 (both on stdout; --json gives them with their expiry). noRefresh: the same refresh token comes back. refreshOnExpire: a new one when less than 30% of the old one's lifetime is left. refreshBoth: always a new one, and the old one is spent. Presenting a spent refresh token revokes its whole family (REFRESH_REUSED, exit 1). The new access token carries the subject, audience and custom claims of the first one. A family issued with --fingerprint renews only with the same --fingerprint: another value (or none) is FINGERPRINT_MISMATCH (exit 1) and revokes the family.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --client billing "$REFRESH"',
    '<%= config.bin %> <%= command.id %> --client billing - --json < refresh.txt',
    '<%= config.bin %> <%= command.id %> --client billing @refresh.txt --refresh-strategy refreshBoth --json',
    '<%= config.bin %> <%= command.id %> --client billing "$REFRESH" --fingerprint "$DEVICE_ID"',
  ]
  static override flags = {
    client: clientFlag,
    fingerprint: Flags.string({
      description: 'the value the refresh family was bound to at issue (a mismatch revokes the family)',
    }),
    'no-write': noWriteFlag,
    'refresh-strategy': Flags.string({
      description: "override the client's strategy for this call",
      options: [...REFRESH_STRATEGIES],
    }),
    store: storeFlag,
  }

  async run(): Promise<IssuedTokens> {
    const {renewAction} = await import('../../cli/actions/renew.js')
    return renewAction(this.context(), this.args.token, this.flags)
  }
}
