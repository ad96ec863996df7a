/**
 * Reading a private key given by the user (PEM or JWK) and checking it before it enters the vault:
 * the key members agree with each other, and the key fits the algorithm it is to serve.
 */
import type {JsonWebKey, KeyObject} from 'node:crypto'

import type {JWK} from './keys.js'

import {UsageError} from '../common/errors.js'
import {algorithmsForKey, isHmac} from './algorithms.js'

/** RSA keys shorter than this are refused (NIST SP 800-131A; RFC 7518 §3.3 and §4.2 say the same). */
const MIN_RSA_BITS = 2048

/** The curves jose can use, with their OpenSSL names and the size of a coordinate or scalar. */
const EC_CURVES: Record<string, {bytes: number; name: string}> = {
  'P-256': {bytes: 32, name: 'prime256v1'},
  'P-384': {bytes: 48, name: 'secp384r1'},
  'P-521': {bytes: 66, name: 'secp521r1'},
}
/** jose has no Ed448 or X448: a key on them would sign and seal what no part of jwtis can read. */
const OKP_CURVES = new Set(['Ed25519', 'X25519'])
const OKP_BYTES = 32
const RSA_CRT = ['p', 'q', 'dp', 'dq', 'qi'] as const

const badKey = (message: string) => new UsageError(message, 'BAD_KEY')
const mismatch = (source: string, pub: string, priv: string) =>
  badKey(`${source}: its public ${pub} are not those of its private ${priv} (a mismatched or damaged key)`)

/**
 * A private key from PEM (PKCS#8, encrypted PKCS#8, SEC1, PKCS#1) or a JWK, as a private JWK
 * checked by checkedJwk. A public key alone, or anything unreadable, is refused with one line
 * that says why.
 */
export async function parsePrivateKey(text: string, source: string, passphrase?: string): Promise<JWK> {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    let jwk: JWK
    try {
      jwk = JSON.parse(trimmed) as JWK
    } catch {
      throw badKey(`${source} is not valid JSON (expected a private JWK)`)
    }

    if (typeof jwk.kty !== 'string') throw badKey(`${source} is not a JWK (it has no "kty")`)
    if (jwk.kty !== 'oct' && jwk.d === undefined) throw badKey(`${source} is a public key only: import a private key`)
    if (jwk.kty === 'oct') {
      if (typeof jwk.k !== 'string') throw badKey(`${source} is an oct JWK without "k"`)
      return jwk
    }

    return checkedJwk(jwk, source)
  }

  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(trimmed)?.[1]
  if (!label) throw badKey(`${source} is neither a PEM key nor a JWK`)
  if (/PUBLIC KEY|CERTIFICATE/.test(label)) throw badKey(`${source} is a public key only: import a private key`)
  if (!/PRIVATE KEY/.test(label)) throw badKey(`${source} holds a PEM "${label}", not a private key`)
  const encrypted = label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(trimmed)
  if (encrypted && passphrase === undefined) {
    throw new UsageError(`${source} is encrypted: give its passphrase with --passphrase-file or JWTIS_KEY_PASSPHRASE`)
  }

  const {createPrivateKey} = await import('node:crypto')
  let key: KeyObject
  try {
    key = createPrivateKey({format: 'pem', key: trimmed, ...(encrypted ? {passphrase} : {})})
  } catch {
    if (encrypted) throw new UsageError(`cannot decrypt ${source}: wrong passphrase?`)
    throw badKey(`${source} is not a private key this tool can read`)
  }

  let jwk: JWK
  try {
    jwk = key.export({format: 'jwk'}) as JWK
  } catch {
    throw badKey(`${source}: keys of type ${key.asymmetricKeyType} cannot be used in JOSE`)
  }

  // A SEC1 key carries its public point as written, unchecked by OpenSSL: the same checks as a JWK.
  return checkedJwk(jwk, source)
}

/**
 * The private JWK as node:crypto reads it back (its key members only, plus the `alg` it is
 * bound to), once it is a key jose can use whose public members are the ones its private part
 * derives. A key whose halves disagree would become the active key, sign tokens that verify
 * with no published key, and sit in the JWKS for every verifier to trip on.
 */
export async function checkedJwk(jwk: JWK, source: string): Promise<JWK> {
  const {createECDH, createPrivateKey} = await import('node:crypto')
  let okpX: Buffer | undefined
  switch (jwk.kty) {
    case 'EC': {
      const curve = EC_CURVES[String(jwk.crv)]
      if (!curve)
        throw badKey(`${source} is an EC key on ${jwk.crv}, which jwtis cannot use: use P-256, P-384 or P-521`)
      const [x, y, d] = ['x', 'y', 'd'].map((member) => bytesOf(jwk, member, curve.bytes, source))
      const ecdh = createECDH(curve.name)
      try {
        ecdh.setPrivateKey(d)
      } catch {
        throw badKey(`${source}: its "d" is not a ${jwk.crv} private key (zero, or not below the group order)`)
      }

      if (!ecdh.getPublicKey().equals(Buffer.concat([Buffer.of(4), x, y]))) throw mismatch(source, 'x, y', 'd')
      break
    }

    case 'OKP': {
      if (!OKP_CURVES.has(String(jwk.crv)))
        throw badKey(`${source} is an OKP key on ${jwk.crv}, which jose cannot use: use Ed25519 or X25519`)
      okpX = bytesOf(jwk, 'x', OKP_BYTES, source)
      bytesOf(jwk, 'd', OKP_BYTES, source)
      break
    }

    case 'RSA': {
      checkRsa(jwk, source)
      break
    }

    default: {
      throw badKey(`${source} is a JWK of kty "${jwk.kty}": a private key is EC, OKP, RSA or oct`)
    }
  }

  let read: JWK
  try {
    read = createPrivateKey({format: 'jwk', key: jwk as JsonWebKey}).export({format: 'jwk'}) as JWK
  } catch {
    throw badKey(`${source} is not a valid ${jwk.kty} private key`)
  }

  // node:crypto derives an OKP key's public part from "d" alone (an EC key keeps the x, y it is given)
  if (okpX && !okpX.equals(Buffer.from(read.x!, 'base64url'))) throw mismatch(source, 'x', 'd')
  return jwk.alg === undefined ? read : {...read, alg: jwk.alg}
}

/**
 * An RSA key holds together: n = p·q, d inverts e modulo p-1 and q-1, and the CRT members are
 * those of p, q and d. Without p, q, dp, dq and qi it is refused: node:crypto (and so jose)
 * cannot load it, and every tool that writes RSA JWKs (openssl, jose, jwcrypto) includes them.
 */
function checkRsa(jwk: JWK, source: string): void {
  const missing = RSA_CRT.filter((member) => jwk[member] === undefined)
  if (missing.length > 0) {
    throw badKey(
      `${source} is an RSA key without ${missing.join(', ')}: export it with its CRT members (RFC 7518 §6.3.2)`,
    )
  }

  const [n, e, d, p, q, dp, dq, qi] = ['n', 'e', 'd', ...RSA_CRT].map((member) =>
    BigInt(`0x0${bytesOf(jwk, member, undefined, source).toString('hex')}`),
  )
  const holds =
    p > 1n &&
    q > 1n &&
    p * q === n &&
    (e * d) % (p - 1n) === 1n &&
    (e * d) % (q - 1n) === 1n &&
    dp === d % (p - 1n) &&
    dq === d % (q - 1n) &&
    (qi * q) % p === 1n
  if (!holds) throw mismatch(source, 'n, e', 'd, p, q')
}

/** A base64url member of a JWK as bytes; `size`, when given, is the only length allowed (RFC 7518 §6.2, RFC 8037 §2). */
function bytesOf(jwk: JWK, member: string, size: number | undefined, source: string): Buffer {
  const value = (jwk as Record<string, unknown>)[member]
  if (typeof value !== 'string' || !/^[\w-]+$/.test(value))
    throw badKey(`${source}: "${member}" is missing or not base64url`)
  const bytes = Buffer.from(value, 'base64url')
  if (size !== undefined && bytes.length !== size) {
    throw badKey(`${source}: "${member}" of a ${jwk.crv} key must be ${size} bytes, not ${bytes.length}`)
  }

  return bytes
}

/** Refuses a key that cannot serve `alg`: wrong type or curve, a weak RSA key, a short HMAC secret. */
export function checkKeyFits(jwk: JWK, alg: string, source: string): void {
  // RFC 8725 §3.1: a key is used with one algorithm; one bound to another is not re-purposed.
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    throw badKey(`${source} is bound to ${jwk.alg}, but the client uses ${alg}`)
  }

  const octBytes = jwk.k ? Buffer.from(jwk.k, 'base64url').length : 0
  const fits = isHmac(alg) ? jwk.kty === 'oct' : algorithmsForKey(jwk.kty, jwk.crv, octBytes).includes(alg)
  if (!fits) {
    const what = jwk.kty === 'oct' ? 'a shared secret' : `a key of type ${jwk.kty}${jwk.crv ? ` (${jwk.crv})` : ''}`
    throw badKey(`${source} is ${what}, which cannot be used for ${alg}`)
  }

  if (jwk.kty === 'RSA') {
    const bits = Buffer.from(jwk.n!, 'base64url').length * 8
    if (bits < MIN_RSA_BITS)
      throw badKey(`${source} is a ${bits}-bit RSA key: at least ${MIN_RSA_BITS} bits are needed`)
  }
}
