import type {IssuedTokens, Issuer, IssueRequest} from '../core/issuer.js'
import type {VaultDocument} from '../model/document.js'

import {ClaimsError, isJwtisError} from '../common/errors.js'
import {buildClaimSet, parseClaimsJson} from '../jose/claims.js'
import {exitCodeOf} from './exit-codes.js'

export interface BatchSetup {
  base: Omit<IssueRequest, 'aud' | 'custom' | 'sub'>
  client: string
  doc: VaultDocument
  explicit: {aud?: string[]; sub?: string}
  store?: string
  vaultPath: string
}

export interface BatchChunk {
  /** Input line number (1-based) of lines[0]. */
  first: number
  lines: string[]
  seq: number
}

/** How one `--batch` line is issued, the same on the main thread and on the worker threads. */
export function lineIssuer(
  issuer: Issuer,
  {base, client, explicit}: Pick<BatchSetup, 'base' | 'client' | 'explicit'>,
): (line: string, label: string) => Promise<IssuedTokens> {
  return (line, label) => issuer.issue(client, {...base, ...buildClaimSet(parseClaimsJson(line, label), explicit)})
}

/** One `--batch` answer: the result line (newline included) and, when it failed, its exit code. */
export interface LineAnswer {
  exitCode?: number
  out: string
}

/**
 * Answers input line `n` (1-based). Every line gets exactly one output line, a blank one
 * included, so that output line N always answers input line N; an error line carries `line` so
 * that a script can point at the input without counting.
 */
export async function answerLine(
  issue: (line: string, label: string) => Promise<IssuedTokens>,
  line: string,
  n: number,
): Promise<LineAnswer> {
  try {
    if (line === '') throw new ClaimsError(`line ${n} is blank: expected a JSON object of claims`)
    return {out: `${JSON.stringify(await issue(line, `line ${n}`))}\n`}
  } catch (error) {
    const {code, message} = isJwtisError(error)
      ? error
      : {code: 'INTERNAL', message: `internal error: ${(error as Error).message}`}
    return {exitCode: exitCodeOf(code), out: `${JSON.stringify({error: {code, message}, line: n})}\n`}
  }
}
