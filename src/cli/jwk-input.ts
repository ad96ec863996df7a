import type {JWK} from '../jose/index.js'

import {UsageError} from '../common/errors.js'
import {readInput} from './io.js'

/**
 * One key for the `jwk` commands: from `-` (stdin), `@file` or a plain path, as a JWK or PEM.
 * Answered as a JWK (a PEM key exported), private members kept when it has them.
 */
export async function readOneKey(given: string | undefined): Promise<JWK> {
  const source = given === undefined || given === '-' || given.startsWith('@') ? given : `@${given}`
  const {jwkOf, Keyring} = await import('../jose/index.js')
  const text = await readInput(source, 'key')
  const {entries} = await Keyring.fromText(text, given && given !== '-' ? given.replace(/^@/, '') : 'stdin')
  if (entries.length !== 1) throw new UsageError(`that holds ${entries.length} keys: give one`, 'BAD_KEY')
  const [entry] = entries
  if (entry.keyObject) return jwkOf(entry.keyObject)
  return entry.privateJwk ?? entry.jwk!
}
