import type {JsonWebKey} from 'node:crypto'

import type {JWK} from '../jose/index.js'

import {UsageError} from '../common/errors.js'
import {readInput} from './io.js'
import {keyArgument} from './keys-input.js'

/**
 * One key for the `jwk` commands: from `-` (stdin), `@file`, a plain path or the key itself, as
 * a JWK or PEM. Answered as a JWK (a PEM key exported), private members kept when it has them.
 */
export async function readOneKey(given: string | undefined): Promise<JWK> {
  const {input, label} = keyArgument(given)
  const {jwkOf, Keyring} = await import('../jose/index.js')
  const text = await readInput(input, 'key')
  const {entries} = await Keyring.fromText(text, label)
  if (entries.length !== 1) throw new UsageError(`that holds ${entries.length} keys: give one`, 'BAD_KEY')
  const [entry] = entries
  if (entry.keyObject) return jwkOf(entry.keyObject)
  return usable(entry.privateJwk ?? entry.jwk!, label)
}

/**
 * A JWK as the `jwk` commands answer about it: one jose can use (a point on its curve; a private
 * key's public members the ones its private part derives), else BAD_KEY, never a public half or
 * thumbprint of a key that does not exist.
 */
async function usable(jwk: JWK, label: string): Promise<JWK> {
  if (jwk.kty === 'oct') {
    if (typeof jwk.k !== 'string') throw new UsageError(`${label} is an oct JWK without "k"`, 'BAD_KEY')
    return jwk
  }

  if (jwk.d !== undefined) {
    const {checkedJwk} = await import('../jose/private-key.js')
    await checkedJwk(jwk, label)
    return jwk
  }

  const {createPublicKey} = await import('node:crypto')
  try {
    createPublicKey({format: 'jwk', key: jwk as JsonWebKey})
  } catch (error) {
    throw new UsageError(`${label} is not a usable public key: ${(error as Error).message}`, 'BAD_KEY')
  }

  return jwk
}
