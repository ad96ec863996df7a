import type {JWK} from 'jose'

import {
  type CipherGCM,
  createCipheriv,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto'

import {concatKdf} from '../../src/jose/compact.js'

const b64 = (bytes: Buffer) => bytes.toString('base64url')

/**
 * An ephemeral key pair on the curve of `recipient` (EC or X25519) and the secret Z it shares
 * with it. The `epk` JWK keeps its private `d`: tests drop it, or send it on purpose.
 */
export function ephemeralFor(recipient: KeyObject): {epk: JWK & {d: string}; z: Buffer} {
  const {privateKey} =
    recipient.asymmetricKeyType === 'ec'
      ? generateKeyPairSync('ec', {namedCurve: recipient.asymmetricKeyDetails!.namedCurve!})
      : generateKeyPairSync('x25519')
  return {
    epk: privateKey.export({format: 'jwk'}) as JWK & {d: string},
    z: diffieHellman({privateKey, publicKey: recipient}),
  }
}

/**
 * An ECDH-ES compact JWE made by hand, as any sender can make one: the protected header is the
 * bytes given (UTF-8 or not), and the key derivation gets the secret `z` and the party info the
 * caller chooses, whatever the header says. What a receiver accepts of it is the receiver's doing.
 */
export function sealByHand(
  plaintext: Buffer | string,
  options: {alg: string; apu?: Buffer; apv?: Buffer; enc: string; header: Buffer | Record<string, unknown>; z: Buffer},
): string {
  const {alg, enc, z} = options
  const header64 = b64(Buffer.isBuffer(options.header) ? options.header : Buffer.from(JSON.stringify(options.header)))
  const party = [Buffer.from(options.apu ?? []), Buffer.from(options.apv ?? [])] as const
  const cekBytes = Number(enc.slice(1, 4)) / 8
  let cek: Buffer
  let encryptedKey = Buffer.alloc(0)
  if (alg === 'ECDH-ES') cek = concatKdf(z, cekBytes, enc, ...party)
  else {
    const kek = concatKdf(z, Number(alg.slice(-5, -2)) / 8, alg, ...party)
    cek = randomBytes(cekBytes)
    const wrap = createCipheriv(`id-aes${kek.length * 8}-wrap`, kek, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'))
    encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()])
  }

  const iv = randomBytes(12)
  const gcm = createCipheriv(`aes-${cekBytes * 8}-gcm`, cek, iv) as CipherGCM
  gcm.setAAD(Buffer.from(header64, 'ascii'))
  const ciphertext = Buffer.concat([gcm.update(plaintext), gcm.final()])
  return [header64, b64(encryptedKey), b64(iv), b64(ciphertext), b64(gcm.getAuthTag())].join('.')
}
