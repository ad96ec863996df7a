import type {JWK} from 'jose'

import {type EncAlg, hmacKeyBytes, isHmac, keyGenOptions, type SigAlg} from './algorithms.js'

/** What a key is for (RFC 7517 §4.2). */
export type KeyUse = 'enc' | 'sig'

const PRIVATE_MEMBERS = new Set(['d', 'dp', 'dq', 'k', 'oth', 'p', 'q', 'qi'])

/** The public half of a JWK: every private member (RFC 7518 §6) removed. */
export function publicJwk(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name))) as JWK
}

/**
 * A new private JWK for `alg` (no `kid`, `alg` or `use` set): a key pair, or for HMAC a random
 * secret of the hash's full size (RFC 7518 §3.2).
 */
export async function generateJwk(alg: EncAlg | SigAlg, bits?: number): Promise<JWK> {
  if (isHmac(alg)) {
    const {randomBytes} = await import('node:crypto')
    return {k: randomBytes(hmacKeyBytes(alg)).toString('base64url'), kty: 'oct'}
  }

  const {exportJWK, generateKeyPair} = await import('jose')
  const {privateKey} = await generateKeyPair(alg, {...keyGenOptions(alg, bits), extractable: true})
  return exportJWK(privateKey)
}

/** The RFC 7638 SHA-256 thumbprint of a JWK (its key material only). */
export async function thumbprint(jwk: JWK): Promise<string> {
  const {calculateJwkThumbprint} = await import('jose')
  return calculateJwkThumbprint(jwk, 'sha256')
}

/** Whether a key is a shared secret (never published, exported only on request). */
export const isSecretKey = (jwk: {kty?: string}): boolean => jwk.kty === 'oct'
