import type {JWK} from 'jose'
import type {KeyObject} from 'node:crypto'

import type {Vault} from '../vault/vault.js'

import {isHmac} from './algorithms.js'
import {clientSettings, getClient} from './clients.js'
import {ConflictError, UsageError} from './errors.js'
import {algorithmsForKey} from './keyring.js'
import {keyRecord, type KeyUse, secretKey} from './keys.js'
import {installKeys, type RotatedKey} from './rotation.js'

/** RSA keys shorter than this are refused (NIST SP 800-131A; RFC 7518 §3.3 and §4.2 say the same). */
const MIN_RSA_BITS = 2048

/**
 * A private key from PEM (PKCS#8, encrypted PKCS#8, SEC1, PKCS#1) or a JWK, as a private JWK.
 * A public key alone, or anything unreadable, is refused with one line that says why.
 */
export async function parsePrivateKey(text: string, source: string, passphrase?: string): Promise<JWK> {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    let jwk: JWK
    try {
      jwk = JSON.parse(trimmed) as JWK
    } catch {
      throw new UsageError(`${source} is not valid JSON (expected a private JWK)`)
    }

    if (typeof jwk.kty !== 'string') throw new UsageError(`${source} is not a JWK (it has no "kty")`)
    if (jwk.kty !== 'oct' && jwk.d === undefined)
      throw new UsageError(`${source} is a public key only: import a private key`)
    if (jwk.kty === 'oct' && typeof jwk.k !== 'string') throw new UsageError(`${source} is an oct JWK without "k"`)
    return jwk
  }

  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(trimmed)?.[1]
  if (!label) throw new UsageError(`${source} is neither a PEM key nor a JWK`)
  if (/PUBLIC KEY|CERTIFICATE/.test(label)) throw new UsageError(`${source} is a public key only: import a private key`)
  if (!/PRIVATE KEY/.test(label)) throw new UsageError(`${source} holds a PEM "${label}", not a private key`)
  const encrypted = label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(trimmed)
  if (encrypted && passphrase === undefined) {
    throw new UsageError(`${source} is encrypted: give its passphrase with --passphrase-file or JWTIS_KEY_PASSPHRASE`)
  }

  const {createPrivateKey} = await import('node:crypto')
  let key: KeyObject
  try {
    key = createPrivateKey({format: 'pem', key: trimmed, ...(encrypted ? {passphrase} : {})})
  } catch {
    throw new UsageError(
      encrypted ? `cannot decrypt ${source}: wrong passphrase?` : `${source} is not a private key this tool can read`,
    )
  }

  try {
    return key.export({format: 'jwk'}) as JWK
  } catch {
    throw new UsageError(`${source}: keys of type ${key.asymmetricKeyType} cannot be used in JOSE`)
  }
}

/** Refuses a key that cannot serve `alg`: wrong type or curve, a weak RSA key, a short HMAC secret. */
function checkFits(jwk: JWK, alg: string, source: string): void {
  // RFC 8725 §3.1: a key is used with one algorithm; one bound to another is not re-purposed.
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    throw new UsageError(`${source} is bound to ${jwk.alg}, but the client uses ${alg}`)
  }

  const octBytes = jwk.k ? Buffer.from(jwk.k, 'base64url').length : 0
  const fits = isHmac(alg) ? jwk.kty === 'oct' : algorithmsForKey(jwk.kty, jwk.crv, octBytes).includes(alg)
  if (!fits) {
    const what = jwk.kty === 'oct' ? 'a shared secret' : `a key of type ${jwk.kty}${jwk.crv ? ` (${jwk.crv})` : ''}`
    throw new UsageError(`${source} is ${what}, which cannot be used for ${alg}`)
  }

  if (jwk.kty === 'RSA') {
    const bits = Buffer.from(jwk.n!, 'base64url').length * 8
    if (bits < MIN_RSA_BITS)
      throw new UsageError(`${source} is a ${bits}-bit RSA key: at least ${MIN_RSA_BITS} bits are needed`)
  }
}

/**
 * Makes an existing private key the client's active key for `use`; the old one is retired as
 * `keys rotate` retires it. The key must fit the client's algorithm for that use.
 */
export async function importKey(
  vault: Vault,
  client: string,
  use: KeyUse,
  jwk: JWK,
  options: {graceMs?: number; now: number; source: string},
): Promise<RotatedKey> {
  getClient(vault.document, client)
  const s = clientSettings(vault.document, client)
  const alg = use === 'sig' ? s.sigAlg : s.encAlg
  checkFits(jwk, alg, options.source)
  const now = new Date(options.now)
  const key =
    jwk.kty === 'oct' && use === 'sig'
      ? await secretKey(s.sigAlg, Buffer.from(jwk.k!, 'base64url'), now)
      : await keyRecord(use, alg, jwk, now)
  if (Object.values(vault.document.clients).some((c) => c.keys.some((k) => k.jwk.kid === key.jwk.kid))) {
    throw new ConflictError('KEY_EXISTS', `${options.source} is already in the vault (kid ${key.jwk.kid})`)
  }

  const [installed] = await installKeys(vault, [{client, key}], options)
  return installed
}
