import {once} from 'node:events'
import {createInterface} from 'node:readline'

import type {IssuedTokens, IssueRequest} from '../../core/issuer.js'
import type {ActionContext} from './context.js'

import {isJwtisError, UsageError} from '../../core/errors.js'

/** `token issue`'s flags, parsed (durations in ms). */
export interface IssueFlags {
  aud?: string[]
  batch?: boolean
  claim?: string[]
  claims?: string
  client: string
  encrypt?: boolean
  fingerprint?: string
  nbf?: string
  refresh?: boolean
  store?: string
  sub?: string
  ttl?: number
}

/** `jwtis token issue`: one access token (and refresh token), or with --batch one per NDJSON line. */
export async function issueAction(ctx: ActionContext, flags: IssueFlags): Promise<IssuedTokens | undefined> {
  const {buildClaimSet, parseClaimArg, parseClaimsJson} = await import('../../core/claims.js')
  const issuer = await ctx.openIssuer(flags.store)
  try {
    const nbf = flags.nbf === undefined ? undefined : await parseNbf(flags.nbf, issuer.now())
    const base = {
      encrypt: flags.encrypt,
      fingerprint: flags.fingerprint,
      nbf,
      refresh: flags.refresh,
      ttlMs: flags.ttl,
    }
    const explicit = {aud: flags.aud, sub: flags.sub}
    if (flags.batch) {
      await batch(ctx, async (line) =>
        issuer.issue(flags.client, {...base, ...buildClaimSet(parseClaimsJson(line, 'the line'), explicit)}),
      )
      return undefined // the NDJSON lines are the output, --json or not
    }

    const fromJson =
      flags.claims === undefined ? {} : parseClaimsJson(await ctx.readInput(flags.claims, 'claims'), '--claims')
    const claims = {...fromJson, ...Object.fromEntries((flags.claim ?? []).map((c) => parseClaimArg(c)))}
    const request: IssueRequest = {...base, ...buildClaimSet(claims, explicit)}
    const result = await issuer.issue(flags.client, request)
    if (!ctx.json) {
      ctx.print(result.access_token)
      if (result.refresh_token) ctx.logErr(`Refresh token (use --json to capture both):\n${result.refresh_token}`)
    }

    return result
  } finally {
    await issuer.close()
  }
}

/**
 * One result line per input line, in order; one bad line does not stop the others. The exit
 * status is that of the first failure (0 when every line was issued).
 */
async function batch(ctx: ActionContext, issue: (line: string) => Promise<IssuedTokens>): Promise<void> {
  if (process.stdin.isTTY) throw new UsageError('--batch reads NDJSON claim sets from stdin: pipe them in')
  let issued = 0
  let failed = 0
  // Lines go out in chunks (a write per line costs more than signing), waiting for stdout to
  // drain so that memory stays flat however long the input.
  let output: string[] = []
  const flush = async () => {
    const chunk = output.join('')
    output = []
    if (chunk && !process.stdout.write(chunk)) await once(process.stdout, 'drain')
  }

  for await (const raw of createInterface({crlfDelay: Infinity, input: process.stdin})) {
    const line = raw.trim()
    if (line === '') continue
    let out: object
    try {
      out = await issue(line)
      issued++
    } catch (error) {
      // Whatever failed on this line is reported on it: the batch goes on.
      const {code, exitCode, message} = isJwtisError(error)
        ? error
        : {code: 'INTERNAL', exitCode: 70, message: `internal error: ${(error as Error).message}`}
      out = {error: {code, message}}
      if (failed++ === 0) process.exitCode = exitCode
    }

    output.push(`${JSON.stringify(out)}\n`)
    if (output.length >= 256) await flush()
  }

  await flush()
  ctx.logErr(`${issued} issued, ${failed} failed`)
}

async function parseNbf(value: string, now: number): Promise<number> {
  if (/^\d{4}-\d\d-\d\d/.test(value)) {
    const ms = Date.parse(value)
    if (Number.isNaN(ms)) throw new UsageError(`--nbf ${value} is not an RFC 3339 time`)
    return ms
  }

  const {parseDuration} = await import('../../core/duration.js')
  return now + parseDuration(value, '--nbf')
}
