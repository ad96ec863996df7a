import {Args, Flags} from '@oclif/core'

import type {RevokeResult} from '../../cli/actions/revoke.js'

import {VaultCommand} from '../../cli/base.js'
import {storeFlag} from '../../cli/flags.js'

export default class TokenRevoke extends VaultCommand<typeof TokenRevoke> {
  static override args = {token: Args.string({description: 'refresh token, - for stdin, or @file'})}
  static override summary = `Revoke refresh tokens: one token's whole family, a family by id, or every family of a client (or of one subject of it).`
  static override description = `Revoking by --client (and --sub) is a logout: it also records a cut-off, after which the subject's earlier access tokens fail online checks (\`jwtis token verify --check-revoked\`, POST /introspect); offline verification is unaffected.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> "$REFRESH"',
    '<%= config.bin %> <%= command.id %> --family 3q2-7wQm0b1yWn4zU8kSxA',
    '<%= config.bin %> <%= command.id %> --client billing --sub alice',
  ]
  static override flags = {
    client: Flags.string({
      char: 'c',
      description: 'revoke every family of this client (with the token: the client it belongs to)',
    }),
    family: Flags.string({description: 'refresh family id (`family` in `token issue --json`)', exclusive: ['sub']}),
    store: storeFlag,
    sub: Flags.string({dependsOn: ['client'], description: "with --client: only this subject's families"}),
  }

  async run(): Promise<RevokeResult> {
    const {revokeAction} = await import('../../cli/actions/revoke.js')
    return revokeAction(this.context(), this.args.token, this.flags)
  }
}
