import type {Decoded} from '../../jose/decode.js'
import type {CommandContext} from './context.js'

import {clock, printJson} from '../io.js'
import {readToken} from './context.js'

/** `dates`: the payload's registered times (`exp iat nbf`, and `sexp`) as RFC 3339 dates, the claims left as they are. */
export type DecodeResult = Decoded & {dates?: Record<string, string>}

const NOT_VERIFIED = 'NOT VERIFIED: decoded only; run `jwtis token verify` to check it'
// A JWE (a refresh token, an encrypted access token): `jwe decrypt` opens and verifies both kinds,
// and `-` takes the token from stdin, out of the shell's history.
const ENCRYPTED =
  'NOT VERIFIED: the payload is encrypted; to read and verify it, run `jwtis jwe decrypt -` and paste the token'

const notVerified = (result: DecodeResult) => (result.encrypted ? ENCRYPTED : NOT_VERIFIED)

/** `jwtis token decode`: header and claims, verifying nothing. */
export async function decodeAction(ctx: CommandContext, token: string | undefined): Promise<DecodeResult> {
  const text = await readToken(ctx, token, 'token')
  const [{decodeToken}, {chalkFor, TIME_CLAIMS, timeLines}, {isoDate}] = await Promise.all([
    import('../../jose/decode.js'),
    import('../output.js'),
    import('../../common/time.js'),
  ])
  const decoded = decodeToken(text)
  const dates = Object.fromEntries(
    TIME_CLAIMS.map((name) => [name, isoDate(decoded.payload?.[name])]).filter(([, date]) => date !== undefined),
  ) as Record<string, string>
  const result: DecodeResult = Object.keys(dates).length > 0 ? {...decoded, dates} : decoded
  if (ctx.json) return result
  // Into a pipe, stdout is data: the JSON (as with --json), the warning and the times as people
  // read them on stderr, so that `jwtis token decode "$T" | jq .` works. The annotated view is
  // for a terminal.
  if (process.stdout.isTTY) await show(ctx, result)
  else {
    ctx.logErr(notVerified(result))
    const c = await chalkFor(process.stderr)
    for (const line of timeLines(result.payload ?? {}, clock()(), c)) ctx.logErr(line)
    printJson(result)
  }

  return result
}

async function show(ctx: CommandContext, result: DecodeResult): Promise<void> {
  const {chalkFor, colorJson, timeLines} = await import('../output.js')
  const c = await chalkFor()
  const now = clock()()
  ctx.print(c.yellow.bold(notVerified(result)), true)
  ctx.print(`${c.bold(result.encrypted ? 'JWE header' : 'Header')}\n${colorJson(result.header, c)}`, true)
  if (result.encrypted) return

  ctx.print(`${c.bold('Payload')}\n${colorJson(result.payload, c)}`, true)
  for (const line of timeLines(result.payload ?? {}, now, c)) ctx.print(line, true)
}
