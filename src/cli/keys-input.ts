import {readFile} from 'node:fs/promises'

import type {Keyring} from '../core/keyring.js'

import {UsageError} from '../core/errors.js'

const MAX_KEY_FILE_BYTES = 1024 * 1024

/** Keys from `--key FILE` (JWK, JWKS or PEM) or `--jwks FILE|URL`, for work without a vault. */
export async function keyringFrom(source: string, what: string): Promise<Keyring> {
  const {Keyring} = await import('../core/keyring.js')
  let text: string
  if (/^https?:\/\//.test(source)) {
    let response: Response
    try {
      response = await fetch(source, {headers: {accept: 'application/json'}, signal: AbortSignal.timeout(10_000)})
    } catch (error) {
      throw new UsageError(`cannot fetch ${what} ${source}: ${(error as Error).message}`)
    }

    if (!response.ok) throw new UsageError(`cannot fetch ${what} ${source}: HTTP ${response.status}`)
    text = await response.text()
  } else {
    try {
      text = await readFile(source, 'utf8')
    } catch (error) {
      throw new UsageError(`cannot read ${what} ${source}: ${(error as NodeJS.ErrnoException).code}`)
    }
  }

  if (text.length > MAX_KEY_FILE_BYTES) throw new UsageError(`${what} ${source} is over 1 MiB`)
  return Keyring.fromText(text, `${what} ${source}`)
}
