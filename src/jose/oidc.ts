import {createHash} from 'node:crypto'

/** The hash an `alg` implies for OpenID Connect's token hashes; EdDSA (Ed25519) is SHA-512, as OIDC Core errata 2 says. */
function hashOf(alg: string): string {
  if (alg === 'EdDSA') return 'sha512'
  const bits = /(256|384|512)$/.exec(alg)?.[1]
  return `sha${bits ?? '256'}`
}

/**
 * OpenID Connect Core §3.1.3.6 `at_hash` (and §3.3.2.11 `c_hash`): the left half of the hash of
 * the token's ASCII text, with the hash of the ID token's `alg`, base64url-encoded.
 */
export function tokenHash(alg: string, token: string): string {
  const digest = createHash(hashOf(alg)).update(token, 'ascii').digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

/** RFC 7636 §4.6: the S256 code challenge of a code verifier. */
export const s256Challenge = (verifier: string): string =>
  createHash('sha256').update(verifier, 'ascii').digest('base64url')
