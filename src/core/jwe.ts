import type {CompactJWEHeaderParameters} from 'jose'

import type {KeyEntry, Keyring} from './keyring.js'

import {UsageError} from './errors.js'
import {fromJose, protectedHeader, reject, selectKeys} from './verify.js'

/** Key management algorithms accepted for decryption: everything jose supports but RSA1_5 (RFC 8725 §3.2). */
export const JWE_ALGS = [
  'RSA-OAEP',
  'RSA-OAEP-256',
  'RSA-OAEP-384',
  'RSA-OAEP-512',
  'ECDH-ES',
  'ECDH-ES+A128KW',
  'ECDH-ES+A192KW',
  'ECDH-ES+A256KW',
  'A128KW',
  'A192KW',
  'A256KW',
  'A128GCMKW',
  'A192GCMKW',
  'A256GCMKW',
  'dir',
  'PBES2-HS256+A128KW',
  'PBES2-HS384+A192KW',
  'PBES2-HS512+A256KW',
]
export const JWE_ENCS = ['A128GCM', 'A192GCM', 'A256GCM', 'A128CBC-HS256', 'A192CBC-HS384', 'A256CBC-HS512']
/**
 * The most PBES2 iterations an input may demand. Each decryption costs p2c HMACs chosen by the
 * sender, so the cap bounds the work an attacker can ask for (a few tens of ms here).
 */
export const MAX_PBES2_COUNT = 100_000

export interface Decrypted {
  header: CompactJWEHeaderParameters
  /** The vault or file key that opened it; absent for a password. */
  key?: KeyEntry
  plaintext: Uint8Array
}

/** Refuses, before any key is touched, what this tool never decrypts. */
async function jweHeader(jwe: string): Promise<CompactJWEHeaderParameters> {
  const header = protectedHeader(jwe) as unknown as CompactJWEHeaderParameters & {p2c?: unknown; zip?: unknown}
  if (jwe.split('.').length !== 5) throw reject('MALFORMED_TOKEN', 'expected a compact JWE (5 parts)')
  if (header.zip !== undefined)
    throw reject('ALG_NOT_ALLOWED', 'compressed JWEs ("zip") are refused: decompression is unbounded work')
  if (!JWE_ALGS.includes(header.alg))
    throw reject('ALG_NOT_ALLOWED', `key management algorithm ${header.alg} is not allowed`)
  if (typeof header.enc !== 'string' || !JWE_ENCS.includes(header.enc)) {
    throw reject('ALG_NOT_ALLOWED', `content encryption ${String(header.enc)} is not allowed`)
  }

  if (header.alg.startsWith('PBES2') && (typeof header.p2c !== 'number' || header.p2c > MAX_PBES2_COUNT)) {
    throw reject('ALG_NOT_ALLOWED', `PBES2 iteration count ${String(header.p2c)} is over the cap of ${MAX_PBES2_COUNT}`)
  }

  return header
}

/** Decrypts a compact JWE with a key from `keyring` (by `kid`, bound to `alg`) or a password (PBES2). */
export async function decryptJwe(jwe: string, source: {keyring: Keyring} | {password: string}): Promise<Decrypted> {
  const header = await jweHeader(jwe)
  const {compactDecrypt} = await import('jose')
  const options = {
    contentEncryptionAlgorithms: JWE_ENCS,
    keyManagementAlgorithms: [header.alg],
    maxPBES2Count: MAX_PBES2_COUNT,
  }
  if ('password' in source) {
    if (!header.alg.startsWith('PBES2'))
      throw reject('ALG_NOT_ALLOWED', `a password opens only PBES2 JWEs, not ${header.alg}`)
    try {
      const {plaintext, protectedHeader} = await compactDecrypt(jwe, new TextEncoder().encode(source.password), options)
      return {header: protectedHeader, plaintext}
    } catch (error) {
      throw fromJose(error)
    }
  }

  let lastError: unknown
  for (const key of selectKeys(source.keyring, header, 'enc')) {
    try {
      const material = await source.keyring.material(key, header.alg, 'private')
      const {plaintext, protectedHeader} = await compactDecrypt(jwe, material, options)
      return {header: protectedHeader, key, plaintext}
    } catch (error) {
      lastError = error
    }
  }

  throw fromJose(lastError)
}

/** Encrypts `plaintext` to a public key with its bound algorithm (or `alg`) and `enc`. */
export async function encryptJwe(
  plaintext: Uint8Array,
  keyring: Keyring,
  options: {alg?: string; cty?: string; enc: string},
): Promise<string> {
  const [key] = keyring.candidates(undefined, 'enc')
  const alg = options.alg ?? key?.alg
  if (!key) throw reject('UNKNOWN_KID', 'no encryption key among the keys given')
  if (!alg)
    throw new UsageError(
      `the key${key.kid ? ` ${key.kid}` : ''} does not say which algorithm it is for: pass --alg (e.g. ECDH-ES+A256KW, RSA-OAEP-256)`,
    )
  selectKeys(keyring, {alg, kid: key.kid}, 'enc')
  const {CompactEncrypt} = await import('jose')
  const material = await keyring.material(key, alg, 'public')
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({
      alg,
      enc: options.enc,
      ...(key.kid ? {kid: key.kid} : {}),
      ...(options.cty ? {cty: options.cty} : {}),
    })
    .encrypt(material)
}
