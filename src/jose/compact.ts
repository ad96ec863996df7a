import type {JWK} from 'jose'

import {
  type CipherGCM,
  constants,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  type DecipherGCM,
  diffieHellman,
  type ECDH,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto'

import {CONTENT_ENCRYPTION, KEY_MANAGEMENT} from './algorithms.js'

/**
 * Compact JWS (RFC 7515) and JWE (RFC 7516) for the algorithms jwtis issues with, written
 * directly on node:crypto: synchronous, keys imported once as KeyObjects, protected headers
 * encoded once. It is the issuer's hot path; jose stays the reference that verifies arbitrary
 * input, and the tests check this module against jose and jwcrypto both ways.
 */

const b64 = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url')

// ---------------------------------------------------------------------------------------------
// Keys

const keyCache = new Map<string, Buffer | KeyObject>()

/**
 * A JWK as node:crypto takes it, cached by its thumbprint `kid` (a kid names one key for good):
 * the private or public KeyObject, or for `oct` keys the secret bytes.
 */
export function keyFor(jwk: JWK, purpose: 'private' | 'public'): Buffer | KeyObject {
  const cacheKey = jwk.kid === undefined ? undefined : `${purpose}:${jwk.kid}`
  const cached = cacheKey === undefined ? undefined : keyCache.get(cacheKey)
  if (cached) return cached
  let key: Buffer | KeyObject
  if (jwk.kty === 'oct') key = Buffer.from(jwk.k!, 'base64url')
  else {
    // node:crypto reads the key members only; alg, use and key_ops are jwtis's to check.
    const material = {...jwk, alg: undefined, key_ops: undefined, use: undefined}
    key =
      purpose === 'private'
        ? createPrivateKey({format: 'jwk', key: material})
        : createPublicKey({format: 'jwk', key: material})
  }

  if (cacheKey !== undefined) {
    if (keyCache.size > 10_000) keyCache.clear() // a bound, not an LRU: keys change rarely
    keyCache.set(cacheKey, key)
  }

  return key
}

// ---------------------------------------------------------------------------------------------
// JWS

const HASH: Record<string, string> = {256: 'sha256', 384: 'sha384', 512: 'sha512'}
const hashOf = (alg: string): string => HASH[alg.slice(-3)]

function signBytes(alg: string, data: Buffer, key: Buffer | KeyObject): Buffer {
  switch (alg.slice(0, 2)) {
    case 'Ed': {
      return sign(null, data, key as KeyObject)
    }

    case 'ES': {
      return sign(hashOf(alg), data, {dsaEncoding: 'ieee-p1363', key: key as KeyObject})
    }

    case 'HS': {
      return createHmac(hashOf(alg), key as Buffer)
        .update(data)
        .digest()
    }

    case 'PS': {
      return sign(hashOf(alg), data, {
        key: key as KeyObject,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: Number(alg.slice(-3)) / 8, // RFC 7518 §3.5: the salt is as long as the hash
      })
    }

    case 'RS': {
      return sign(hashOf(alg), data, key as KeyObject)
    }

    default: {
      throw new TypeError(`unsupported JWS alg ${alg}`)
    }
  }
}

/** Whether `signature` is a valid signature by `key` over `data` with `alg`. */
export function verifyBytes(alg: string, data: Buffer, signature: Buffer, key: Buffer | KeyObject): boolean {
  switch (alg.slice(0, 2)) {
    case 'Ed': {
      return verify(null, data, key as KeyObject, signature)
    }

    case 'ES': {
      return verify(hashOf(alg), data, {dsaEncoding: 'ieee-p1363', key: key as KeyObject}, signature)
    }

    case 'HS': {
      const expected = createHmac(hashOf(alg), key as Buffer)
        .update(data)
        .digest()
      return expected.length === signature.length && timingSafeEqual(expected, signature)
    }

    case 'PS': {
      return verify(
        hashOf(alg),
        data,
        {key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(-3)) / 8},
        signature,
      )
    }

    case 'RS': {
      return verify(hashOf(alg), data, key as KeyObject, signature)
    }

    default: {
      return false
    }
  }
}

const headerCache = new Map<string, string>()

/** A protected header, base64url-encoded once per distinct header (one per key and `typ`). */
export function encodedHeader(header: Record<string, unknown>): string {
  const json = JSON.stringify(header)
  let encoded = headerCache.get(json)
  if (encoded === undefined) {
    encoded = b64(json)
    if (headerCache.size > 10_000) headerCache.clear()
    headerCache.set(json, encoded)
  }

  return encoded
}

/** A compact JWS of `payload` (JSON) under an already encoded protected header. */
export function signCompact(header64: string, payload: unknown, alg: string, key: Buffer | KeyObject): string {
  const input = `${header64}.${b64(JSON.stringify(payload))}`
  return `${input}.${b64(signBytes(alg, Buffer.from(input), key))}`
}

// ---------------------------------------------------------------------------------------------
// JWE

const CEK_BYTES: Record<string, number> = Object.fromEntries(
  Object.entries(CONTENT_ENCRYPTION).map(([enc, spec]) => [enc, spec.cekBytes]),
)
const KW_BYTES: Record<string, number> = Object.fromEntries(
  Object.entries(KEY_MANAGEMENT).flatMap(([alg, spec]) => ('kwBytes' in spec ? [[alg, spec.kwBytes]] : [])),
)
const AES_KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex')

const uint32 = (n: number): Buffer => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(n)
  return out
}

const lengthPrefixed = (data: Buffer): Buffer => Buffer.concat([uint32(data.length), data])

/**
 * The Concat KDF of NIST SP 800-56A as RFC 7518 §4.6.2 uses it: SHA-256 over a counter, the
 * shared secret Z and OtherInfo (AlgorithmID, PartyUInfo, PartyVInfo, SuppPubInfo = key bits).
 */
export function concatKdf(z: Buffer, keyBytes: number, algorithmId: string, apu: Buffer, apv: Buffer): Buffer {
  const otherInfo = Buffer.concat([
    lengthPrefixed(Buffer.from(algorithmId)),
    lengthPrefixed(apu),
    lengthPrefixed(apv),
    uint32(keyBytes * 8),
  ])
  const rounds = Math.ceil(keyBytes / 32)
  const out = Buffer.alloc(rounds * 32)
  for (let i = 0; i < rounds; i++) {
    createHash('sha256')
      .update(uint32(i + 1))
      .update(z)
      .update(otherInfo)
      .digest()
      .copy(out, i * 32)
  }

  return out.subarray(0, keyBytes)
}

/** The Agreement PartyUInfo and PartyVInfo header members (RFC 7518 §4.6.1.2), base64url. */
export interface PartyInfo {
  apu?: string
  apv?: string
}

/** The key an ECDH-ES agreement yields for `algorithmId`: the header's apu and apv are part of it. */
const agreedKey = (z: Buffer, keyBytes: number, algorithmId: string, {apu = '', apv = ''}: PartyInfo): Buffer =>
  concatKdf(z, keyBytes, algorithmId, Buffer.from(apu, 'base64url'), Buffer.from(apv, 'base64url'))

const aesKw = (kek: Buffer, cek: Buffer): Buffer => {
  const cipher = createCipheriv(`id-aes${kek.length * 8}-wrap`, kek, AES_KW_IV)
  return Buffer.concat([cipher.update(cek), cipher.final()])
}

const aesKwUnwrap = (kek: Buffer, wrapped: Buffer): Buffer => {
  const decipher = createDecipheriv(`id-aes${kek.length * 8}-wrap`, kek, AES_KW_IV)
  return Buffer.concat([decipher.update(wrapped), decipher.final()])
}

/** A secret as the AES key wrap of `alg` (A128KW, A192KW, A256KW) takes it: of exactly its size. */
function wrappingKey(alg: string, secret: Buffer): Buffer {
  if (!/^A(128|192|256)KW$/.test(alg) || secret.length * 8 !== Number(alg.slice(1, 4)))
    throw new TypeError(`a ${secret.length * 8}-bit secret is no ${alg} key`)
  return secret
}

const CURVE_NAMES: Record<string, {bytes: number; crv: string}> = {
  prime256v1: {bytes: 32, crv: 'P-256'},
  secp384r1: {bytes: 48, crv: 'P-384'},
  secp521r1: {bytes: 66, crv: 'P-521'},
}
const rawPoints = new WeakMap<KeyObject, Buffer>()

/**
 * A fresh ephemeral key (RFC 7518 §4.6: one per message) on the recipient's curve, and the
 * shared secret Z with the recipient. EC curves go through the ECDH API on raw points (cheaper
 * than a KeyObject pair and a JWK export per message); X25519 through KeyObjects.
 */
function ephemeralAgreement(recipient: KeyObject): {epk: JWK; z: Buffer} {
  if (recipient.asymmetricKeyType === 'ec') {
    const curve = recipient.asymmetricKeyDetails!.namedCurve!
    const {bytes, crv} = CURVE_NAMES[curve]
    let point = rawPoints.get(recipient)
    if (!point) {
      const {x, y} = recipient.export({format: 'jwk'})
      point = Buffer.concat([Buffer.from([4]), Buffer.from(x!, 'base64url'), Buffer.from(y!, 'base64url')])
      rawPoints.set(recipient, point)
    }

    const ecdh = createECDH(curve)
    const ephemeral = ecdh.generateKeys() // 0x04 || x || y
    const z = ecdh.computeSecret(point)
    return {
      epk: {crv, kty: 'EC', x: b64(ephemeral.subarray(1, 1 + bytes)), y: b64(ephemeral.subarray(1 + bytes))},
      z,
    }
  }

  const {privateKey, publicKey} = generateKeyPairSync(recipient.asymmetricKeyType as 'x25519')
  const {crv, kty, x} = publicKey.export({format: 'jwk'}) as JWK
  return {epk: {crv, kty, x}, z: diffieHellman({privateKey, publicKey: recipient})}
}

const staticAgreements = new WeakMap<KeyObject, ECDH>()

/**
 * Z between a vault's private key and a message's `epk`, or undefined when the epk is not a
 * point of that key's curve. EC curves go through the ECDH API with the private key set once
 * per key: its computeSecret checks the point lies on the curve (which defeats invalid-curve
 * attacks; the NIST curves have cofactor 1), where importing the epk as a KeyObject would also
 * run OpenSSL's full public key check, a second scalar multiplication, on every message.
 */
export function agreementWith(privateKey: KeyObject, epk: JWK | undefined): Buffer | undefined {
  if (typeof epk !== 'object' || epk === null) return undefined
  if (privateKey.asymmetricKeyType !== 'ec') {
    const {crv, kty, x} = epk
    return diffieHellman({
      privateKey,
      publicKey: createPublicKey({format: 'jwk', key: {crv, kty, x} as JWK & {kty: string}}),
    })
  }

  const curve = privateKey.asymmetricKeyDetails!.namedCurve!
  const {bytes, crv} = CURVE_NAMES[curve]
  if (epk.kty !== 'EC' || epk.crv !== crv || typeof epk.x !== 'string' || typeof epk.y !== 'string') return undefined
  const x = Buffer.from(epk.x, 'base64url')
  const y = Buffer.from(epk.y, 'base64url')
  if (x.length !== bytes || y.length !== bytes) return undefined
  let ecdh = staticAgreements.get(privateKey)
  if (!ecdh) {
    ecdh = createECDH(curve)
    ecdh.setPrivateKey(Buffer.from(privateKey.export({format: 'jwk'}).d!, 'base64url'))
    staticAgreements.set(privateKey, ecdh)
  }

  return ecdh.computeSecret(Buffer.concat([Buffer.from([4]), x, y])) // throws off the curve
}

/**
 * A compact JWE of `plaintext` to a public key, or under a key-wrapping key (AxxxKW, a secret as
 * bytes). `header` carries `alg`, `enc` and whatever else is to be protected (`kid`, `cty`, and
 * `apu`/`apv`, which ECDH-ES derives its key with); ECDH-ES adds its `epk`.
 */
export function encryptCompact(
  plaintext: string | Uint8Array,
  header: PartyInfo & Record<string, unknown> & {alg: string; enc: string},
  recipient: Buffer | KeyObject,
): string {
  const cekBytes = CEK_BYTES[header.enc]
  let cek: Buffer
  let encryptedKey: Buffer = Buffer.alloc(0)
  let protectedHeader: Record<string, unknown> = header
  if (header.alg.startsWith('ECDH-ES')) {
    const {epk, z} = ephemeralAgreement(recipient as KeyObject)
    protectedHeader = {...header, epk}
    if (header.alg === 'ECDH-ES') cek = agreedKey(z, cekBytes, header.enc, header)
    else {
      cek = randomBytes(cekBytes)
      encryptedKey = aesKw(agreedKey(z, KW_BYTES[header.alg], header.alg, header), cek)
    }
  } else if (recipient instanceof Buffer) {
    cek = randomBytes(cekBytes)
    encryptedKey = aesKw(wrappingKey(header.alg, recipient), cek)
  } else {
    cek = randomBytes(cekBytes)
    encryptedKey = publicEncrypt(
      {
        key: recipient,
        oaepHash: header.alg === 'RSA-OAEP-256' ? 'sha256' : 'sha1',
        padding: constants.RSA_PKCS1_OAEP_PADDING,
      },
      cek,
    )
  }

  const header64 = b64(JSON.stringify(protectedHeader))
  const iv = randomBytes(12)
  const cipher = createCipheriv(`aes-${cekBytes * 8}-gcm`, cek, iv) as CipherGCM
  cipher.setAAD(Buffer.from(header64, 'ascii'))
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return `${header64}.${b64(encryptedKey)}.${b64(iv)}.${b64(ciphertext)}.${b64(cipher.getAuthTag())}`
}

/**
 * Opens a compact JWE made for `privateKey`, its header already checked by the caller (`alg`
 * and `enc` against what the key allows, the shapes of `epk`, `apu` and `apv`: jweHeader). Any
 * failure (a bad epk, a wrong key, an altered byte) is one `false`-like outcome: undefined, so
 * that no detail distinguishes padding from tag failures.
 */
export function decryptCompact(
  parts: string[],
  header: PartyInfo & {alg: string; enc: string; epk?: JWK},
  privateKey: Buffer | KeyObject,
): Buffer | undefined {
  try {
    const cekBytes = CEK_BYTES[header.enc]
    const encryptedKey = Buffer.from(parts[1], 'base64url')
    let cek: Buffer
    if (header.alg.startsWith('ECDH-ES')) {
      const z = agreementWith(privateKey as KeyObject, header.epk)
      if (!z) return undefined
      cek =
        header.alg === 'ECDH-ES'
          ? agreedKey(z, cekBytes, header.enc, header)
          : aesKwUnwrap(agreedKey(z, KW_BYTES[header.alg], header.alg, header), encryptedKey)
      if (header.alg === 'ECDH-ES' && encryptedKey.length > 0) return undefined
    } else if (privateKey instanceof Buffer) {
      cek = aesKwUnwrap(wrappingKey(header.alg, privateKey), encryptedKey)
    } else {
      cek = privateDecrypt(
        {
          key: privateKey,
          oaepHash: header.alg === 'RSA-OAEP-256' ? 'sha256' : 'sha1',
          padding: constants.RSA_PKCS1_OAEP_PADDING,
        },
        encryptedKey,
      )
    }

    if (cek.length !== cekBytes) return undefined
    const iv = Buffer.from(parts[2], 'base64url')
    const tag = Buffer.from(parts[4], 'base64url')
    if (iv.length !== 12 || tag.length !== 16) return undefined
    const decipher = createDecipheriv(`aes-${cekBytes * 8}-gcm`, cek, iv) as DecipherGCM
    decipher.setAAD(Buffer.from(parts[0], 'ascii'))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(Buffer.from(parts[3], 'base64url')), decipher.final()])
  } catch {
    return undefined
  }
}
