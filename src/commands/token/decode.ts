import {Args} from '@oclif/core'

import {BaseCommand, clock} from '../../cli/base.js'
import {chalkFor, colorJson, timeLines} from '../../cli/output.js'
import {jsonDepth, MAX_CLAIM_DEPTH} from '../../core/limits.js'
import {protectedHeader, reject} from '../../core/verify.js'

export interface DecodeResult {
  /** True for a JWE: its payload cannot be read without the key (see `jwtis jwe decrypt`). */
  encrypted: boolean
  header: Record<string, unknown>
  payload?: Record<string, unknown>
  verified: false
}

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
    let header: Record<string, unknown>
    try {
      header = protectedHeader(token)
    } catch (error) {
      // decode shows what is there, even alg "none" or crit: refusing those is verify's job
      const {code} = error as {code?: string}
      if (code !== 'ALG_NOT_ALLOWED' && code !== 'UNSUPPORTED_CRIT') throw error
      header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'))
    }

    const parts = token.split('.')
    let payload: Record<string, unknown> | undefined
    if (parts.length === 3) {
      try {
        payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
      } catch {
        throw reject('MALFORMED_TOKEN', 'the payload is not base64url JSON (an unencoded or non-JWT JWS?)')
      }

      if (jsonDepth(payload, MAX_CLAIM_DEPTH) > MAX_CLAIM_DEPTH)
        throw reject('MALFORMED_TOKEN', `the claims nest deeper than ${MAX_CLAIM_DEPTH} levels`)
    }

    const result: DecodeResult = {encrypted: parts.length === 5, header, ...(payload ? {payload} : {}), verified: false}
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
