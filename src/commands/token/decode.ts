import {Args} from '@oclif/core'

import type {Decoded} from '../../jose/decode.js'

import {BaseCommand, clock} from '../../cli/base.js'
import {chalkFor, colorJson, timeLines} from '../../cli/output.js'

export type DecodeResult = Decoded

const NOT_VERIFIED = 'NOT VERIFIED: decoded only; run `jwtis token verify` to check it'

export default class TokenDecode extends BaseCommand<typeof TokenDecode> {
  static override args = {token: Args.string({description: 'JWS or JWE, - for stdin, or @file'})}
  static override summary = `Show a token's header and claims WITHOUT verifying anything.`
  static override description = `Header and claims are pretty-printed (in colour on a terminal, never with NO_COLOR); times (exp, iat, nbf) are shown as dates with relative time. Nothing here says the token is genuine: use \`jwtis token verify\` for that.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> "$TOKEN"',
    'pbpaste | <%= config.bin %> <%= command.id %> - --json',
  ]

  async run(): Promise<DecodeResult> {
    const token = await this.readToken(this.args.token, 'token')
    const {decodeToken} = await import('../../jose/decode.js')
    const result = decodeToken(token)
    if (this.jsonEnabled()) return result
    // Into a pipe, stdout is data: the JSON (as with --json), the warning on stderr, so that
    // `jwtis token decode "$T" | jq .` works. The annotated view is for a terminal.
    if (process.stdout.isTTY) await this.show(result)
    else {
      this.logErr(NOT_VERIFIED)
      this.logJson(result)
    }

    return result
  }

  private async show(result: DecodeResult): Promise<void> {
    const c = await chalkFor()
    const now = clock()()
    this.print(c.yellow.bold(NOT_VERIFIED), true)
    this.print(`${c.bold(result.encrypted ? 'JWE header' : 'Header')}\n${colorJson(result.header, c)}`, true)
    if (result.encrypted) {
      this.print(c.dim('The payload is encrypted: read it with `jwtis jwe decrypt`.'), true)
      return
    }

    this.print(`${c.bold('Payload')}\n${colorJson(result.payload, c)}`, true)
    for (const line of timeLines(result.payload ?? {}, now, c)) this.print(line, true)
  }
}
