import {VaultError} from '../common/errors.js'
import {redact} from '../common/redact.js'

/** How an age file's key is wrapped: to X25519 recipients, or with an scrypt passphrase. */
export type AgeKind = 'scrypt' | 'x25519'

/** What opens (and, for passphrase vaults, re-seals) a vault. */
export type VaultKey = {identities: string[]; passphrase?: undefined} | {identities?: undefined; passphrase: string}

export const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----'
const MAGIC = 'age-encryption.org/v1\n'

/**
 * Reads the stanza types from an age header without decrypting anything, so the right kind of
 * key can be asked for. Returns undefined when the bytes are not an age file.
 */
export function ageKind(bytes: Uint8Array): AgeKind | undefined {
  const head = Buffer.from((dearmor(bytes) ?? leadingLines(bytes)).subarray(0, 4096)).toString('latin1')
  if (!head.startsWith(MAGIC)) return undefined
  return /^-> scrypt /m.test(head) ? 'scrypt' : 'x25519'
}

const ARMOR_END = '-----END AGE ENCRYPTED FILE-----'

/**
 * The binary age file inside an ASCII-armored one (`age -a`); other bytes are returned as they
 * are. Strict, as age's own armor reader is (begin and end lines, 64-column canonical base64,
 * only whitespace around it), so a cut-short or altered armor is undefined, never a file with
 * its damage silently dropped.
 */
export function dearmor(bytes: Uint8Array): Uint8Array | undefined {
  if (Buffer.from(bytes.subarray(0, ARMOR_BEGIN.length)).toString('latin1') !== ARMOR_BEGIN) return bytes
  const lines = Buffer.from(bytes).toString('latin1').trim().split(/\r?\n/)
  if (lines.length < 3 || lines[0] !== ARMOR_BEGIN || lines.at(-1) !== ARMOR_END) return undefined
  const body = lines.slice(1, -1)
  const last = body.length - 1
  if (
    !body.every(
      (line, i) => /^[\d+/A-Za-z]+={0,2}$/.test(line) && (i === last ? line.length <= 64 : line.length === 64),
    )
  )
    return undefined
  const text = body.join('')
  const decoded = Buffer.from(text, 'base64')
  return decoded.toString('base64') === text ? decoded : undefined
}

/** A damaged armored file decoded leniently: enough to read which kind of key its header wants. */
function leadingLines(bytes: Uint8Array): Uint8Array {
  const lines = Buffer.from(bytes).toString('latin1').split(/\r?\n/)
  return Buffer.from(lines.filter((line) => !line.startsWith('-----')).join(''), 'base64')
}

/**
 * Seals on node:crypto (./age-native.ts), through typage for recipients that does not handle.
 * ASCII-armored (`age -a`): text that survives being pasted, printed by `redis-cli --raw` with a
 * newline after it, or diffed; `age -d` reads it as it reads the binary form.
 */
export async function ageEncrypt(
  plaintext: string,
  to: {passphrase: string} | {recipients: string[]},
): Promise<Uint8Array> {
  const {nativeEncrypt} = await import('./age-native.js')
  const sealed = nativeEncrypt(plaintext, to) ?? (await typageEncrypt(plaintext, to))
  return Buffer.from(armor(sealed), 'latin1')
}

async function typageEncrypt(plaintext: string, to: {passphrase: string} | {recipients: string[]}) {
  const {Encrypter} = await import('age-encryption')
  const e = new Encrypter()
  if ('passphrase' in to) e.setPassphrase(to.passphrase)
  else for (const r of to.recipients) e.addRecipient(r)
  return e.encrypt(plaintext)
}

/** age's armor: padded base64 in 64-column lines between the begin and end lines, a newline after. */
export function armor(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('base64')
  const lines = [ARMOR_BEGIN]
  for (let i = 0; i < text.length; i += 64) lines.push(text.slice(i, i + 64))
  return `${[...lines, ARMOR_END].join('\n')}\n`
}

const badKey = (key: VaultKey, path: string) =>
  new VaultError(
    'VAULT_BAD_KEY',
    key.passphrase === undefined
      ? `the identity does not open vault ${path}: pass the right one with --identity FILE or JWTIS_AGE_KEY_FILE`
      : `wrong passphrase for vault ${path}`,
  )

const invalidIdentity = (path: string) =>
  new VaultError(
    'VAULT_BAD_KEY',
    `the identity given for vault ${path} is not a valid age identity (a mistyped or truncated AGE-SECRET-KEY-1… line?): check --identity, JWTIS_AGE_KEY or JWTIS_AGE_KEY_FILE`,
  )

const damaged = (path: string, reason: string) =>
  new VaultError(
    'VAULT_CORRUPT',
    `vault ${path} is damaged (${redact(reason)}); it was left untouched: restore it from a backup`,
  )

/**
 * Opens an age file: on node:crypto (./age-native.ts) for X25519 identities and passphrases,
 * through typage for whatever that does not handle.
 */
export async function ageDecrypt(bytes: Uint8Array, key: VaultKey, path: string): Promise<string> {
  const raw = dearmor(bytes)
  if (!raw) throw damaged(path, 'its ASCII armor is cut short or altered')
  const {nativeDecrypt} = await import('./age-native.js')
  const native = nativeDecrypt(
    Buffer.from(raw),
    key.passphrase === undefined ? {identities: key.identities} : {passphrase: key.passphrase},
  )
  switch (native.kind) {
    case 'corrupt': {
      throw damaged(path, native.reason)
    }

    case 'invalid-identity': {
      throw invalidIdentity(path)
    }

    case 'no-match': {
      throw badKey(key, path)
    }

    case 'ok': {
      return native.plaintext
    }

    case 'unsupported': {
      return typageDecrypt(bytes, key, path)
    }
  }
}

async function typageDecrypt(bytes: Uint8Array, key: VaultKey, path: string): Promise<string> {
  const {Decrypter} = await import('age-encryption')
  const d = new Decrypter()
  try {
    if (key.passphrase === undefined) for (const id of key.identities) d.addIdentity(id)
    else d.addPassphrase(key.passphrase)
  } catch {
    // typage's message quotes the identity it could not decode: never pass it on.
    throw invalidIdentity(path)
  }

  try {
    return await d.decrypt(dearmor(bytes)!, 'text')
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    if (reason.includes('no identity matched')) throw badKey(key, path)
    throw damaged(path, reason)
  }
}

/** A new X25519 identity (not the post-quantum hybrid: Debian's `age` 1.1 cannot read those yet). */
export async function newIdentity(): Promise<{identity: string; recipient: string}> {
  const {generateX25519Identity, identityToRecipient} = await import('age-encryption')
  const identity = await generateX25519Identity()
  return {identity, recipient: await identityToRecipient(identity)}
}

export async function recipientOf(identity: string): Promise<string> {
  const {identityToRecipient} = await import('age-encryption')
  try {
    return await identityToRecipient(identity)
  } catch {
    throw new VaultError('VAULT_BAD_KEY', 'not a valid age identity (a mistyped or truncated AGE-SECRET-KEY-1… line?)')
  }
}

/** Identity file text in `age-keygen`'s format, so `age -d -i FILE` reads it. */
export function identityFileText(identity: string, recipient: string, created: Date): string {
  return `# created: ${created.toISOString()}\n# public key: ${recipient}\n${identity}\n`
}

/** The `AGE-SECRET-KEY-1…` lines of an identity file; comments and blank lines are skipped. */
export function parseIdentities(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
}

export function isRecipient(value: string): boolean {
  return /^age1[02-9ac-hj-np-z]{58}$/.test(value)
}
