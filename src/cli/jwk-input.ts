import type {JWK} from 'jose'

import {UsageError} from '../common/errors.js'
import {readInput} from './io.js'

/**
 * One key for the `jwk` commands: from `-` (stdin), `@file` or a plain path, as a JWK or PEM.
 * Answered as a JWK (a PEM key exported), private members kept when it has them.
 */
export async function readOneKey(given: string | undefined): Promise<JWK> {
  const source = given === undefined || given === '-' || given.startsWith('@') ? given : `@${given}`
  const [{Keyring}, {exportJWK}] = await Promise.all([import('../jose/keyring.js'), import('jose')])
  const text = await readInput(source, 'key')
  const {entries} = await Keyring.fromText(text, given && given !== '-' ? given.replace(/^@/, '') : 'stdin')
  if (entries.length !== 1) throw new UsageError(`that holds ${entries.length} keys: give one`, 'BAD_KEY')
  const [entry] = entries
  if (entry.keyObject) return exportJWK(entry.keyObject)
  return entry.privateJwk ?? entry.jwk!
}

/** A JWK as PEM: PKCS#8 for a private key, SPKI for a public one (no PEM form for a secret). */
export async function jwkToPem(jwk: JWK): Promise<string> {
  if (jwk.kty === 'oct') throw new UsageError('a secret (kty oct) has no PEM form: use --format jwk', 'BAD_KEY')
  const {createPrivateKey, createPublicKey} = await import('node:crypto')
  const key = jwk.d
    ? createPrivateKey({format: 'jwk', key: jwk as import('node:crypto').JsonWebKey})
    : createPublicKey({format: 'jwk', key: jwk as import('node:crypto').JsonWebKey})
  return key.export({format: 'pem', type: jwk.d ? 'pkcs8' : 'spki'}).toString()
}
