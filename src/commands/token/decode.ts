import {Args} from '@oclif/core'

import type {DecodeResult} from '../../cli/actions/decode.js'

import {BaseCommand} from '../../cli/base.js'

export default class TokenDecode extends BaseCommand<typeof TokenDecode> {
  static override args = {token: Args.string({description: 'JWS or JWE, - for stdin, or @file'})}
  static override summary = `Show a token's header and claims WITHOUT verifying anything.`
  static override description = `Header and claims are pretty-printed (in colour on a terminal, never with NO_COLOR); times (exp, iat, nbf) are shown as dates with relative time. Nothing here says the token is genuine: use \`jwtis token verify\` for that.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> "$TOKEN"',
    'pbpaste | <%= config.bin %> <%= command.id %> - --json',
  ]

  async run(): Promise<DecodeResult> {
    const {decodeAction} = await import('../../cli/actions/decode.js')
    return decodeAction(this.context(), this.args.token)
  }
}
