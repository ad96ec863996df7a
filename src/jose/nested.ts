import type {Keyring} from './keyring.js'

import {decryptJwe} from './jwe.js'
import {protectedHeader, reject, type Verified, verifyJws, type VerifyOptions} from './verify.js'

export interface TokenVerified extends Verified {
  /** The outer JWE header, for a nested JWT. */
  jweHeader?: Record<string, unknown>
}

/**
 * Verifies a JWS, or a nested JWT (a JWS inside a JWE, RFC 7519 §11.2): decrypted with
 * `decryptWith`, then the inner JWS verified as any other, `typ` included: a refresh token
 * (`rt+jwt` inside its JWE) is not an access token and is refused as WRONG_TYPE.
 */
export async function verifyToken(
  token: string,
  options: VerifyOptions & {decryptWith?: Keyring},
): Promise<TokenVerified> {
  const header = protectedHeader(token)
  if (token.split('.').length === 3) return verifyJws(token, options)
  if (!options.decryptWith)
    throw reject('DECRYPT_FAILED', 'this is a JWE: a decryption key is needed (the vault, or --key)')
  const decrypted = await decryptJwe(token, {keyring: options.decryptWith})
  const inner = new TextDecoder().decode(decrypted.plaintext)
  if (inner.split('.').length !== 3) throw reject('MALFORMED_TOKEN', 'the JWE does not hold a JWT')
  return {...(await verifyJws(inner, options)), jweHeader: header}
}

/**
 * Verifies the JWS that `jwe decrypt` took out of a JWE, to show it: its own `typ` is accepted
 * (a refresh token's `rt+jwt` included) unless the caller requires one. Never used to accept a
 * token as a credential.
 */
export async function verifyInner(jws: string, options: VerifyOptions): Promise<Verified> {
  const header = protectedHeader(jws)
  return verifyJws(jws, {...options, typ: options.typ ?? (header.typ as string | undefined)})
}
