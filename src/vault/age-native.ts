import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
  scryptSync,
  timingSafeEqual,
} from 'node:crypto'

import {VaultError} from '../common/errors.js'

/**
 * age v1 files (https://age-encryption.org/v1) on node:crypto, for the X25519 identities and
 * recipients and the scrypt passphrases jwtis seals its vault with. Every command reads the
 * vault and every change writes it: loading typage and running its JavaScript ChaCha20 cost as
 * much as the rest of a write, and a file vault's writers take turns for it. typage stays for
 * what this does not handle (plugin or post-quantum stanzas and recipients: `unsupported`, and
 * the caller falls back) and for making identities.
 */
export type NativeResult =
  | {kind: 'corrupt'; reason: string}
  | {kind: 'invalid-identity'}
  | {kind: 'no-match'}
  | {kind: 'ok'; plaintext: string}
  | {kind: 'unsupported'}

const MAGIC = 'age-encryption.org/v1\n'
const CHUNK = 64 * 1024
const TAG = 16
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex')

/**
 * age's base64 (Go's `RawStdEncoding.Strict()`): no padding, and the unused low bits of the last
 * character zero, so each value has one spelling. Node's decoder takes any spelling; the MAC line
 * is not covered by the MAC, so a lenient read would open files age refuses.
 */
function b64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64')
  return bytes.toString('base64').replace(/=+$/, '') === text ? bytes : undefined
}

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32))
}

function seal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, {authTagLength: TAG})
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()])
}

/** ChaCha20-Poly1305 opening, or undefined when the tag does not verify. */
function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG) return undefined
  try {
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, {authTagLength: TAG})
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG))
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG)), decipher.final()])
  } catch {
    return undefined
  }
}

// ---- bech32 (BIP 173), for AGE-SECRET-KEY-1… identities --------------------------------------

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'

function polymod(values: number[]): number {
  const generators = [0x3b_6a_57_b2, 0x26_50_8e_6d, 0x1e_a1_19_fa, 0x3d_42_33_dd, 0x2a_14_62_b3]
  let chk = 1
  for (const v of values) {
    const top = chk >>> 25
    chk = ((chk & 0x1_ff_ff_ff) << 5) ^ v
    for (const [i, g] of generators.entries()) if ((top >>> i) & 1) chk ^= g
  }

  return chk
}

/** The bytes of a bech32 string with human-readable part `hrp`, or undefined (wrong part, bad checksum). */
function bech32Bytes(text: string, hrp: string): Buffer | undefined {
  const lower = text.toLowerCase()
  const sep = lower.lastIndexOf('1')
  if (lower.slice(0, sep) !== hrp || (text !== lower && text !== text.toUpperCase())) return undefined
  const data = Array.from(lower.slice(sep + 1), (c) => CHARSET.indexOf(c))
  if (data.length < 7 || data.includes(-1)) return undefined
  const codes = Array.from(hrp, (c) => c.codePointAt(0)!)
  const expanded = [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31)]
  if (polymod([...expanded, ...data]) !== 1) return undefined
  let acc = 0
  let bits = 0
  const out: number[] = []
  for (const value of data.slice(0, -6)) {
    acc = (acc << 5) | value
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out.push((acc >> bits) & 0xff)
    }
  }

  return Buffer.from(out)
}

/** The 32-byte scalar of an X25519 identity, or undefined when it is not one (or its checksum fails). */
export function identityScalar(identity: string): Buffer | undefined {
  if (identity !== identity.toUpperCase()) return undefined
  const scalar = bech32Bytes(identity, 'age-secret-key-')
  return scalar?.length === 32 ? scalar : undefined
}

/** The 32-byte public key of an X25519 recipient (`age1…`), or undefined when it is not one. */
function recipientKey(recipient: string): Buffer | undefined {
  if (recipient !== recipient.toLowerCase()) return undefined
  const key = bech32Bytes(recipient, 'age')
  return key?.length === 32 ? key : undefined
}

// ---- the file ----------------------------------------------------------------------------------

interface Stanza {
  args: string[]
  body: Buffer
  type: string
}

type Parsed = {header: Buffer; mac: Buffer; payload: Buffer; stanzas: Stanza[]}

/** Splits an age file into stanzas, the MAC'd header text, the MAC and the payload, or says which line is malformed. */
function parse(bytes: Buffer): Parsed | {malformed: number} {
  if (bytes.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return {malformed: 1}
  const stanzas: Stanza[] = []
  let pos = MAGIC.length
  let lineNo = 1
  const line = (): string | undefined => {
    const end = bytes.indexOf(0x0a, pos)
    if (end === -1) return undefined
    const text = bytes.subarray(pos, end).toString('latin1')
    pos = end + 1
    lineNo++
    return text
  }

  for (;;) {
    const start = pos
    const text = line()
    if (text === undefined) return {malformed: lineNo + 1}
    if (text.startsWith('--- ')) {
      const mac = b64(text.slice(4))
      if (!mac || mac.length !== 32) return {malformed: lineNo}
      return {header: bytes.subarray(0, start + 3), mac, payload: bytes.subarray(pos), stanzas}
    }

    const [type, ...args] = text.slice(3).split(' ')
    // age's rule for the words of a stanza line: printable ASCII, none empty
    if (!text.startsWith('-> ') || ![type, ...args].every((word) => /^[!-~]+$/.test(word))) return {malformed: lineNo}
    const chunks: Buffer[] = []
    for (;;) {
      const bodyLine = line()
      if (bodyLine === undefined) return {malformed: lineNo + 1}
      const decoded = bodyLine.length > 64 ? undefined : b64(bodyLine)
      if (!decoded) return {malformed: lineNo}
      chunks.push(decoded)
      if (bodyLine.length < 64) break // the last body line is short (or empty)
    }

    stanzas.push({args, body: Buffer.concat(chunks), type})
  }
}

/** What unwrapping a stanza gave: the file key, nothing (not this key), or a reason the file is refused. */
type Unwrapped = Buffer | undefined | {corrupt: string}

/**
 * The share of an X25519 stanza, or undefined when the stanza is malformed. age refuses the file
 * when it meets one on its way to the stanza that opens; any is refused here, as no writer of age
 * files makes one.
 */
function x25519Share(stanza: Stanza): Buffer | undefined {
  const share = stanza.args.length === 1 ? b64(stanza.args[0]) : undefined
  return share?.length === 32 && stanza.body.length === 32 ? share : undefined
}

function unwrapX25519(share: Buffer, body: Buffer, scalar: Buffer): Unwrapped {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({format: 'der', key: Buffer.concat([X25519_PKCS8, scalar]), type: 'pkcs8'})
  } catch {
    return undefined
  }

  const recipient = createPublicKey(privateKey).export({format: 'der', type: 'spki'}).subarray(-32)
  const peer = createPublicKey({format: 'der', key: Buffer.concat([X25519_SPKI, share]), type: 'spki'})
  let shared: Buffer | undefined
  try {
    shared = diffieHellman({privateKey, publicKey: peer})
  } catch {
    // OpenSSL refuses the all-zero secret of a small-order share; the check below is for one that would not
  }

  if (!shared || shared.every((b) => b === 0)) return {corrupt: 'an X25519 stanza of its header has a low-order share'}
  const wrapKey = hkdf(shared, Buffer.concat([share, recipient]), 'age-encryption.org/v1/X25519')
  return open(wrapKey, Buffer.alloc(12), body)
}

/** scrypt work factors above this are refused, as age itself refuses them (a file could ask for hours). */
const MAX_SCRYPT_LOG_N = 22

function scryptKey(passphrase: string, salt: Buffer, logN: number): Buffer {
  return scryptSync(passphrase, Buffer.concat([Buffer.from('age-encryption.org/v1/scrypt'), salt]), 32, {
    maxmem: 2 ** logN * 128 * 8 * 2,
    N: 2 ** logN,
    p: 1,
    r: 8,
  })
}

function unwrapScrypt(stanza: Stanza, passphrase: string): Unwrapped {
  const [saltText, work] = stanza.args
  const salt = b64(saltText ?? '')
  if (stanza.args.length !== 2 || salt?.length !== 16 || !/^[1-9]\d*$/.test(work) || stanza.body.length !== 32)
    return {corrupt: 'its scrypt stanza is malformed'}
  const logN = Number(work)
  if (logN > MAX_SCRYPT_LOG_N) return {corrupt: 'its scrypt work factor is too high'}
  return open(scryptKey(passphrase, salt, logN), Buffer.alloc(12), stanza.body)
}

function payload(fileKey: Buffer, data: Buffer): string | undefined {
  if (data.length < 16 + TAG) return undefined
  const key = hkdf(fileKey, data.subarray(0, 16), 'payload')
  const chunks: Buffer[] = []
  let pos = 16
  for (let counter = 0; pos < data.length; counter++) {
    const end = Math.min(pos + CHUNK + TAG, data.length)
    const last = end === data.length
    const nonce = Buffer.alloc(12)
    nonce.writeUIntBE(counter, 5, 6)
    nonce[11] = last ? 1 : 0
    const plain = open(key, nonce, data.subarray(pos, end))
    // an empty chunk is allowed only when the whole plaintext is empty
    if (!plain || (plain.length === 0 && counter > 0)) return undefined
    chunks.push(plain)
    pos = end
  }

  return Buffer.concat(chunks).toString('utf8')
}

/** The file key for X25519 identities: the first stanza one of them opens, in header order as age tries them. */
function unwrapX25519Stanzas(stanzas: Stanza[], scalars: Buffer[]): Unwrapped {
  const x25519 = stanzas.filter((s) => s.type === 'X25519')
  const shares = x25519.map((s) => x25519Share(s))
  if (shares.includes(undefined)) return {corrupt: 'an X25519 stanza of its header is malformed'}
  for (const [i, stanza] of x25519.entries()) {
    for (const scalar of scalars) {
      const opened = unwrapX25519(shares[i]!, stanza.body, scalar)
      if (opened) return opened
    }
  }

  return undefined
}

/** Decrypts an age file with X25519 identities or a passphrase, on node:crypto. */
export function nativeDecrypt(bytes: Buffer, key: {identities: string[]} | {passphrase: string}): NativeResult {
  const file = parse(bytes)
  if ('malformed' in file) return {kind: 'corrupt', reason: `its age header is malformed at line ${file.malformed}`}
  let fileKey: Unwrapped
  if ('passphrase' in key) {
    const [stanza] = file.stanzas
    if (file.stanzas.length !== 1 || stanza.type !== 'scrypt') return {kind: 'unsupported'}
    fileKey = unwrapScrypt(stanza, key.passphrase)
  } else {
    const scalars = key.identities.map((id) => identityScalar(id))
    if (scalars.includes(undefined)) {
      return key.identities.every((id) => id.startsWith('AGE-SECRET-KEY-1'))
        ? {kind: 'invalid-identity'}
        : {kind: 'unsupported'}
    }

    if (file.stanzas.some((s) => s.type !== 'X25519' && s.type !== 'scrypt')) return {kind: 'unsupported'}
    fileKey = unwrapX25519Stanzas(file.stanzas, scalars as Buffer[])
  }

  if (!fileKey) return {kind: 'no-match'}
  if ('corrupt' in fileKey) return {kind: 'corrupt', reason: fileKey.corrupt}
  const mac = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header'))
    .update(file.header)
    .digest()
  if (!timingSafeEqual(mac, file.mac)) return {kind: 'corrupt', reason: 'its header was altered (bad MAC)'}
  const plaintext = payload(fileKey, file.payload)
  return plaintext === undefined
    ? {kind: 'corrupt', reason: 'its payload is truncated or altered'}
    : {kind: 'ok', plaintext}
}

// ---- writing ----------------------------------------------------------------------------------

/** age's base64 for header lines: no padding. */
const unpadded = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64').replace(/=+$/, '')

/** A stanza as it is written: its line, then its body in 64-column lines, the last one short (maybe empty). */
function stanzaText(type: string, args: string[], body: Buffer): string {
  const text = unpadded(body)
  const lines = []
  for (let i = 0; i <= text.length; i += 64) lines.push(text.slice(i, i + 64))
  return `-> ${[type, ...args].join(' ')}\n${lines.join('\n')}\n`
}

function x25519Stanza(name: string, recipient: Buffer, fileKey: Buffer): string {
  const ephemeral = generateKeyPairSync('x25519')
  const share = ephemeral.publicKey.export({format: 'der', type: 'spki'}).subarray(-32)
  const peer = createPublicKey({format: 'der', key: Buffer.concat([X25519_SPKI, recipient]), type: 'spki'})
  let shared: Buffer
  try {
    shared = diffieHellman({privateKey: ephemeral.privateKey, publicKey: peer})
  } catch {
    // OpenSSL refuses a low-order point: age would make a file no one can open
    throw new VaultError('VAULT_BAD_KEY', `age recipient ${name} is not a usable X25519 public key (a low-order point)`)
  }

  const wrapKey = hkdf(shared, Buffer.concat([share, recipient]), 'age-encryption.org/v1/X25519')
  return stanzaText('X25519', [unpadded(share)], seal(wrapKey, Buffer.alloc(12), fileKey))
}

/** age's (and typage's) default work factor for passphrase files: about a second on a laptop. */
const SCRYPT_LOG_N = 18

function scryptStanza(passphrase: string, fileKey: Buffer): string {
  const salt = randomBytes(16)
  const key = scryptKey(passphrase, salt, SCRYPT_LOG_N)
  return stanzaText('scrypt', [unpadded(salt), String(SCRYPT_LOG_N)], seal(key, Buffer.alloc(12), fileKey))
}

/**
 * Seals `plaintext` as a binary age file to X25519 recipients or with a passphrase, as age and
 * typage do; undefined when a recipient is not X25519 (the caller falls back to typage).
 */
export function nativeEncrypt(
  plaintext: string,
  to: {passphrase: string} | {recipients: string[]},
): Buffer | undefined {
  const fileKey = randomBytes(16)
  let stanzas: string
  if ('passphrase' in to) {
    stanzas = scryptStanza(to.passphrase, fileKey)
  } else {
    const keys = to.recipients.map((r) => recipientKey(r))
    if (keys.length === 0 || keys.includes(undefined)) return undefined
    stanzas = keys.map((key, i) => x25519Stanza(to.recipients[i], key!, fileKey)).join('')
  }

  const header = Buffer.from(`${MAGIC}${stanzas}---`, 'latin1')
  const mac = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header'))
    .update(header)
    .digest()
  const nonce = randomBytes(16)
  const key = hkdf(fileKey, nonce, 'payload')
  const plain = Buffer.from(plaintext, 'utf8')
  const parts: Buffer[] = [header, Buffer.from(` ${unpadded(mac)}\n`, 'latin1'), nonce]
  // 64 KiB chunks, the last one flagged; an empty plaintext is one empty last chunk
  for (let counter = 0, pos = 0; counter === 0 || pos < plain.length; counter++, pos += CHUNK) {
    const chunkNonce = Buffer.alloc(12)
    chunkNonce.writeUIntBE(counter, 5, 6)
    chunkNonce[11] = pos + CHUNK >= plain.length ? 1 : 0
    parts.push(seal(key, chunkNonce, plain.subarray(pos, pos + CHUNK)))
  }

  return Buffer.concat(parts)
}
