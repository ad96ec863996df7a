import {Args, Flags} from '@oclif/core'

import {VaultCommand} from '../../cli/base.js'
import {storeFlag} from '../../cli/flags.js'
import {UsageError} from '../../common/errors.js'

export interface RevokeResult {
  client?: string
  family?: string
  revoked: boolean
  sub?: string
}

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
    const {flags} = this
    const hasToken = this.args.token !== undefined
    if (!hasToken && !flags.family && !flags.client)
      throw new UsageError('give a refresh token, --family ID, or --client NAME')
    if (hasToken && flags.family) throw new UsageError('give a refresh token or --family, not both')
    const token = hasToken ? await this.readToken(this.args.token, 'refresh token') : undefined
    const issuer = await this.openIssuer(flags.store)
    try {
      let result: RevokeResult
      if (token) {
        result = await issuer.revokeRefreshToken(token, flags.client)
        this.logErr(`Revoked refresh family ${result.family}`)
      } else if (flags.family) {
        await issuer.revokeFamily(flags.family)
        result = {family: flags.family, revoked: true}
        this.logErr(`Revoked refresh family ${flags.family}`)
      } else {
        await issuer.logout(flags.client!, flags.sub)
        result = {client: flags.client, revoked: true, ...(flags.sub ? {sub: flags.sub} : {})}
        this.logErr(`Revoked every refresh token of ${flags.client}${flags.sub ? ` for ${flags.sub}` : ''}`)
      }

      return result
    } finally {
      await issuer.close()
    }
  }
}
