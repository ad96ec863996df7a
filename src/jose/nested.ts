import type {Keyring} from './keyring.js'

import {protectedHeader, reject} from './header.js'
import {decryptJwe, sealJwe, type SealTo} from './jwe.js'
import {signJws, type SignWith} from './sign.js'
import {type Verified, verifyJws, type VerifyOptions} from './verify.js'

export interface TokenVerified extends Verified {
  /** The outer JWE header, for a nested JWT. */
  jweHeader?: Record<string, unknown>
}

/** A nested JWT (RFC 7519 §11.2): `payload` signed with `signWith`, then sealed (`cty: JWT`) as `sealTo` says. */
export async function sealNested(payload: unknown, signWith: SignWith, sealTo: SealTo): Promise<string> {
  return sealJwe(signJws(payload, signWith), sealTo, 'JWT')
}

/**
 * Verifies a JWS, or a nested JWT (a JWS inside a JWE, RFC 7519 §11.2): decrypted with
 * `decryptWith`, then the inner JWS verified as any other, `typ` included: a refresh token
 * (`rt+jwt` inside its JWE) is not an access token and is refused as WRONG_TYPE. The inner
 * claims are read only once its signature holds. With `nestedKind` (what the token must be, e.g. "a
 * refresh token"), a JWE must say it holds a JWT, as the issuer's own always do.
 */
export async function verifyToken(
  token: string,
  options: VerifyOptions & {decryptWith?: Keyring; nestedKind?: string},
): Promise<TokenVerified> {
  const header = protectedHeader(token)
  if (token.split('.').length === 3) return verifyJws(token, options)

  if (!options.decryptWith)
    throw reject('DECRYPT_FAILED', 'this is a JWE: a decryption key is needed (the vault, or --key)')
  const decrypted = await decryptJwe(token, {keyring: options.decryptWith})
  if (options.nestedKind !== undefined && String(decrypted.header.cty).toUpperCase() !== 'JWT')
    throw reject('MALFORMED_TOKEN', `not ${options.nestedKind} (cty is not JWT)`)
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
  return verifyJws(jws, {...options, typ: options.typ ?? header.typ})
}
