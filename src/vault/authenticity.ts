import {createPrivateKey, createPublicKey, hkdfSync, type KeyObject, randomBytes, sign, verify} from 'node:crypto'

import type {VaultKey} from './age.js'
import type {VaultAuth, VaultDocument} from './format.js'

import {VaultError} from '../core/errors.js'
import {identityScalar} from './age-native.js'

/**
 * Who wrote a vault. age seals to public recipients, so sealing proves nothing about the writer:
 * anyone who can write the file (or the Redis key) can seal a document of their own to them.
 * Every document therefore carries an Ed25519 signature, inside the age payload (so `age -d`
 * still prints the whole vault), over the document itself with the signature left out.
 *
 * The signing key's private half is in the document, so every holder can sign what it writes;
 * a forger cannot read it. Its public half is the vault id. A reader never takes the vault id
 * from the document it is checking: it knows the id in one of two ways.
 * - Derived: the signing key is HKDF-SHA256(holder secret, salt) of the holder who created the
 *   vault or last re-keyed it away from someone, where the holder secret is the X25519 scalar of
 *   the identity or the passphrase. That holder (and CI given the same identity or passphrase)
 *   derives the id again and needs nothing more. The salt is random per vault and kept inside
 *   the sealed document: two vaults opened by one identity get different ids, and the vault id
 *   (which `vault status` shows) is no shortcut for guessing a passphrase without decrypting.
 * - Pinned: every other holder gets the vault id once from a holder and sets JWTIS_VAULT_ID, or
 *   `jwtis config set vault-id ID`.
 * The signed content carries a serial that every write increments, so a reader that remembers
 * the serial it last saw (`serve` does) refuses a replayed older copy.
 */

const INFO = 'jwtis vault signing key v1'
const ID_PREFIX = 'jwtis-vault-'
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex')

/** What a reader may trust a document's signer by: the vault ids pinned by the user. */
export interface TrustAnchors {
  /** Vault ids from JWTIS_VAULT_ID and the `vault-id` setting. */
  pinned: string[]
}

/** How a document was found authentic. */
export interface Authenticity {
  /** `derived`: from the secret that opened it; `pinned`: a vault id the user set. */
  by: 'derived' | 'pinned'
  serial: number
  vaultId: string
}

const isB64u = (value: unknown, bytes: number): value is string =>
  typeof value === 'string' && /^[\w-]*$/.test(value) && Buffer.from(value, 'base64url').length === bytes

const signingKey = (seed: Buffer): KeyObject =>
  createPrivateKey({format: 'der', key: Buffer.concat([ED25519_PKCS8, seed]), type: 'pkcs8'})

const idOf = (key: KeyObject): string =>
  ID_PREFIX + createPublicKey(key).export({format: 'der', type: 'spki'}).subarray(-32).toString('base64url')

/** The vault ids a user pinned, from JWTIS_VAULT_ID and the `vault-id` setting (comma or space separated). */
export function pinnedIds(...sources: Array<string | undefined>): string[] {
  return sources.flatMap((source) => (source ?? '').split(/[\s,]+/)).filter(Boolean)
}

/** Whether `value` is written like a vault id (a check for input, not for trust). */
export function isVaultId(value: string): boolean {
  return value.startsWith(ID_PREFIX) && isB64u(value.slice(ID_PREFIX.length), 32)
}

/** The secrets a holder can derive a signing key from: the X25519 scalars of its identities, or its passphrase. */
function holderSecrets(key: VaultKey): Buffer[] {
  if (key.passphrase !== undefined) return [Buffer.from(key.passphrase, 'utf8')]
  return key.identities.map((identity) => identityScalar(identity)).filter((s): s is Buffer => s !== undefined)
}

const derive = (secret: Buffer, salt: Buffer): Buffer => Buffer.from(hkdfSync('sha256', secret, salt, INFO, 32))

/** A new signing key, derived from the first secret of `key` (the holder creating or re-keying the vault) and a fresh salt: a new vault id. */
export function newAuth(key: VaultKey): VaultAuth {
  const [secret] = holderSecrets(key)
  if (!secret) throw new VaultError('VAULT_BAD_KEY', 'no X25519 identity or passphrase to sign the vault with')
  const salt = randomBytes(32)
  const seed = derive(secret, salt)
  return {
    alg: 'Ed25519',
    key: seed.toString('base64url'),
    salt: salt.toString('base64url'),
    serial: 0,
    vault_id: idOf(signingKey(seed)),
  }
}

/** The bytes a signature covers: the document as JSON, without the signature. */
function signedBytes(doc: VaultDocument): Buffer {
  const auth = {...doc.auth}
  delete auth.sig
  return Buffer.from(JSON.stringify({...doc, auth}), 'utf8')
}

/** Signs `doc` in place as the next write of the vault: serial + 1, then the signature. */
export function signDocument(doc: VaultDocument, previousSerial: number): void {
  doc.auth = {...doc.auth, serial: previousSerial + 1, sig: undefined}
  doc.auth.sig = sign(null, signedBytes(doc), signingKey(Buffer.from(doc.auth.key, 'base64url'))).toString('base64url')
}

const notAuthentic = (path: string, why: string, next = '') =>
  new VaultError(
    'VAULT_NOT_AUTHENTIC',
    `vault ${path} is not authentic: ${why}; it was left as it is and not used${next && `. ${next}`}`,
  )

/**
 * Checks that one of the vault's holders wrote `doc`: its signature verifies under a vault id this
 * reader knows without believing the document (derived from `key`, or pinned). VAULT_NOT_AUTHENTIC
 * (exit 3) otherwise; a document from before vaults were signed is refused as well, with the
 * command that signs it.
 */
export function checkAuthenticity(
  doc: VaultDocument,
  key: VaultKey,
  anchors: TrustAnchors,
  path: string,
): Authenticity {
  const {auth} = doc as Partial<VaultDocument>
  if (doc.version < 2 || auth === undefined) {
    throw new VaultError(
      'VAULT_NOT_AUTHENTIC',
      `vault ${path} was written before jwtis signed its vaults (format ${doc.version}), so nothing shows that a holder wrote it: if you know it was not replaced, sign it once with \`jwtis vault upgrade\``,
    )
  }

  if (
    typeof auth !== 'object' ||
    auth === null ||
    auth.alg !== 'Ed25519' ||
    !isB64u(auth.salt, 32) ||
    !isB64u(auth.key, 32) ||
    !isB64u(auth.sig, 64) ||
    typeof auth.vault_id !== 'string' ||
    !isVaultId(auth.vault_id) ||
    !Number.isSafeInteger(auth.serial) ||
    auth.serial < 1
  ) {
    throw notAuthentic(path, 'its signature block is missing or malformed')
  }

  let by: Authenticity['by'] | undefined
  if (anchors.pinned.includes(auth.vault_id)) by = 'pinned'
  else {
    const salt = Buffer.from(auth.salt, 'base64url')
    if (holderSecrets(key).some((secret) => idOf(signingKey(derive(secret, salt))) === auth.vault_id)) by = 'derived'
  }

  if (by === undefined) {
    throw notAuthentic(
      path,
      'its signer is neither the key this identity derives nor a pinned vault id',
      'If you were added to this vault, get its vault id from a holder (`jwtis vault status` shows it), then set JWTIS_VAULT_ID or run `jwtis config set vault-id ID`',
    )
  }

  const publicKey = createPublicKey({
    format: 'der',
    key: Buffer.concat([ED25519_SPKI, Buffer.from(auth.vault_id.slice(ID_PREFIX.length), 'base64url')]),
    type: 'spki',
  })
  if (!verify(null, signedBytes(doc), publicKey, Buffer.from(auth.sig!, 'base64url'))) {
    throw notAuthentic(path, 'its signature does not verify (the document was altered or forged)')
  }

  return {by, serial: auth.serial, vaultId: auth.vault_id}
}
