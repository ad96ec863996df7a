import type {Keyring} from '../jose/keyring.js'

import {JwksError, UsageError} from '../common/errors.js'
import {redactUrl} from '../common/redact.js'
import {readBounded, readResponseBounded} from './input.js'

const MAX_KEY_FILE_BYTES = 1024 * 1024
/** A JWKS URL has this long to answer, body included. */
const FETCH_TIMEOUT_MS = 10_000

/**
 * Key material given where a file is expected: a JWK or JWK Set (`{…}`) or a PEM block, as the
 * argument itself. It is taken as it is (a document may be given as an argument), and never named
 * in an error as if it were a path.
 */
export const isInlineKey = (source: string): boolean => /^\s*(\{|-----BEGIN )/.test(source)

/**
 * A key argument (`-`, `@file`, a plain path, or the key itself) as readInput takes it, and the
 * name messages give it (never the key itself).
 */
export function keyArgument(given: string | undefined): {input: string | undefined; label: string} {
  if (given === undefined || given === '-') return {input: given, label: 'stdin'}
  if (isInlineKey(given)) return {input: given, label: 'the key given inline'}
  const path = given.replace(/^@/, '')
  return {input: `@${path}`, label: path}
}

/** Keys from `--key FILE` (JWK, JWKS or PEM, or the key itself) or `--jwks FILE|URL`, for work without a vault. */
export async function keyringFrom(source: string, what: string): Promise<Keyring> {
  const {Keyring} = await import('../jose/keyring.js')
  if (isInlineKey(source)) return Keyring.fromText(source, `${what} (the key given inline)`)
  const text = /^https?:\/\//i.test(source)
    ? await fetchKeys(source, what)
    : (await readBounded(source, MAX_KEY_FILE_BYTES, what)).toString('utf8')
  return Keyring.fromText(text, `${what} ${redactUrl(source)}`)
}

/** Fetches a JWKS with a deadline on the whole exchange and a cap on the body, read as it arrives. */
async function fetchKeys(url: string, what: string): Promise<string> {
  const shown = redactUrl(url)
  try {
    const response = await fetch(url, {
      headers: {accept: 'application/json'},
      redirect: 'follow',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    })
    if (!response.ok) {
      await response.body?.cancel().catch(() => {})
      throw new JwksError('JWKS_UNAVAILABLE', `cannot fetch ${what} ${shown}: HTTP ${response.status}`)
    }

    return await readResponseBounded(response, MAX_KEY_FILE_BYTES, `${what} ${shown}`)
  } catch (error) {
    if (error instanceof UsageError || error instanceof JwksError) throw error
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${FETCH_TIMEOUT_MS / 1000}s`
        : describeFetchError(error)
    // The keys cannot be had (exit 3, like a vault that cannot be used), not a mistyped command.
    throw new JwksError('JWKS_UNAVAILABLE', `cannot fetch ${what} ${shown}: ${reason}`)
  }
}

/** fetch says "fetch failed" and keeps the reason in `cause` (ECONNREFUSED, ENOTFOUND...). */
function describeFetchError(error: unknown): string {
  const {cause} = error as {cause?: {code?: string; message?: string}}
  return cause?.code ?? cause?.message ?? (error as Error).message
}
