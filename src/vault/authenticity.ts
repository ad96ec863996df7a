import {createPrivateKey, createPublicKey, hkdfSync, type KeyObject, randomBytes, sign, verify} from 'node:crypto'

import type {VaultAuth, VaultDocument} from '../model/document.js'
import type {VaultKey} from './age.js'

import {VaultError} from '../common/errors.js'
import {identityScalar} from './age-native.js'

/**
 * Who wrote a vault. age seals to public recipients, so sealing proves nothing about the writer:
 * anyone who can write the file (or the Redis key) can seal a document of their own to them.
 * Every document therefore carries two Ed25519 signatures, inside the age payload (so `age -d`
 * still prints the whole vault), over the document with the signatures left out:
 *
 * - `holder_sig`, by the writer's holder key: HKDF-SHA256 of its own secret (the X25519 scalar
 *   of its identity, or the passphrase), derived again whenever needed and never written
 *   anywhere. A reader derives its own holder key and so recognises its own writes with nothing
 *   more: one identity, a passphrase, CI given that identity.
 * - `sig`, by the vault key: a random key whose seed is kept in the document, so that every
 *   holder can sign; its public half is the vault id. A reader accepts another holder's write
 *   only under a vault id it pinned (JWTIS_VAULT_ID, or the `vault-id` setting, which `init
 *   --recipient` and `vault rekey --add-recipient` fill in for the one adding holders).
 *
 * A forger reads neither key. Someone who once could read the vault (a removed holder) knows an
 * old vault key, but not any holder key: a re-key that removes anyone makes a new vault key and
 * replaces the old one among the pins it set, so what they sign is refused. The signed content
 * carries a serial that every write increments: a reader that remembers the vault id and serial
 * it last saw (`serve` does) also refuses an older copy, or another vault, put in its place.
 */

const HOLDER_INFO = 'jwtis vault holder key v1'
const ID_PREFIX = 'jwtis-vault-'
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex')

/** What a reader may trust another holder's write by: the vault ids pinned by the user. */
export interface TrustAnchors {
  /** Vault ids from JWTIS_VAULT_ID and the `vault-id` setting. */
  pinned: string[]
}

/** How a document was found authentic. */
export interface Authenticity {
  /** `derived`: written by this holder (its derived key); `pinned`: by a holder, under a pinned vault id. */
  by: 'derived' | 'pinned'
  serial: number
  vaultId: string
}

const isB64u = (value: unknown, bytes: number): value is string =>
  typeof value === 'string' && /^[\w-]*$/.test(value) && Buffer.from(value, 'base64url').length === bytes

const privateKey = (seed: Buffer): KeyObject =>
  createPrivateKey({format: 'der', key: Buffer.concat([ED25519_PKCS8, seed]), type: 'pkcs8'})

const rawPublic = (key: KeyObject): string =>
  createPublicKey(key).export({format: 'der', type: 'spki'}).subarray(-32).toString('base64url')

const publicKey = (raw: string): KeyObject =>
  createPublicKey({format: 'der', key: Buffer.concat([ED25519_SPKI, Buffer.from(raw, 'base64url')]), type: 'spki'})

/** The vault ids a user pinned, from JWTIS_VAULT_ID and the `vault-id` setting (comma or space separated). */
export function pinnedIds(...sources: Array<string | undefined>): string[] {
  return sources.flatMap((source) => (source ?? '').split(/[\s,]+/)).filter(Boolean)
}

/** Whether `value` is written like a vault id (a check for input, not for trust). */
export function isVaultId(value: string): boolean {
  return value.startsWith(ID_PREFIX) && isB64u(value.slice(ID_PREFIX.length), 32)
}

/** The holder keys of `key`: one per identity (from its X25519 scalar), or the passphrase's. */
function holderKeys(key: VaultKey): KeyObject[] {
  const secrets =
    key.passphrase === undefined
      ? key.identities.map((identity) => identityScalar(identity)).filter((s): s is Buffer => s !== undefined)
      : [Buffer.from(key.passphrase, 'utf8')]
  return secrets.map((secret) => privateKey(Buffer.from(hkdfSync('sha256', secret, 'jwtis', HOLDER_INFO, 32))))
}

/** A new vault key: a new vault id. */
export function newAuth(): VaultAuth {
  const seed = randomBytes(32)
  return {
    alg: 'Ed25519',
    holder: '',
    key: seed.toString('base64url'),
    serial: 0,
    vault_id: ID_PREFIX + rawPublic(privateKey(seed)),
  }
}

/** The bytes the signatures cover: the document as JSON, without them. */
function signedBytes(doc: VaultDocument): Buffer {
  const auth = {...doc.auth}
  delete auth.sig
  delete auth.holder_sig
  return Buffer.from(JSON.stringify({...doc, auth}), 'utf8')
}

/** Signs `doc` in place as the next write of the vault, by the holder whose key is `writer`. */
export function signDocument(doc: VaultDocument, previousSerial: number, writer: VaultKey): void {
  const [holder] = holderKeys(writer)
  if (!holder) throw new VaultError('VAULT_BAD_KEY', 'no X25519 identity or passphrase to sign the vault with')
  doc.auth = {...doc.auth, holder: rawPublic(holder), holder_sig: undefined, serial: previousSerial + 1, sig: undefined}
  const bytes = signedBytes(doc)
  doc.auth.sig = sign(null, bytes, privateKey(Buffer.from(doc.auth.key, 'base64url'))).toString('base64url')
  doc.auth.holder_sig = sign(null, bytes, holder).toString('base64url')
}

const notAuthentic = (path: string, why: string, next = '') =>
  new VaultError(
    'VAULT_NOT_AUTHENTIC',
    `vault ${path} is not authentic: ${why}; it was left as it is and not used${next && `. ${next}`}`,
  )

/**
 * Checks that one of the vault's holders wrote `doc`, never trusting the document for the key:
 * this holder itself (its derived key), or a holder signing under a pinned vault id.
 * VAULT_NOT_AUTHENTIC (exit 3) otherwise; a document from before vaults were signed is refused
 * as well, with the command that signs it.
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
    !isB64u(auth.key, 32) ||
    !isB64u(auth.holder, 32) ||
    !isB64u(auth.sig, 64) ||
    !isB64u(auth.holder_sig, 64) ||
    typeof auth.vault_id !== 'string' ||
    !isVaultId(auth.vault_id) ||
    !Number.isSafeInteger(auth.serial) ||
    auth.serial < 1
  ) {
    throw notAuthentic(path, 'its signature block is missing or malformed')
  }

  const mine = holderKeys(key).some((holder) => rawPublic(holder) === auth.holder)
  if (!mine && !anchors.pinned.includes(auth.vault_id)) {
    throw notAuthentic(
      path,
      'it was written neither by this identity nor under a pinned vault id',
      'If another holder writes this vault too, get its vault id from a holder (`jwtis vault status` shows it), then set JWTIS_VAULT_ID or run `jwtis config set vault-id ID`',
    )
  }

  const bytes = signedBytes(doc)
  const vaultSig = verify(
    null,
    bytes,
    publicKey(auth.vault_id.slice(ID_PREFIX.length)),
    Buffer.from(auth.sig!, 'base64url'),
  )
  const holderSig = verify(null, bytes, publicKey(auth.holder), Buffer.from(auth.holder_sig!, 'base64url'))
  if (!vaultSig || !holderSig)
    throw notAuthentic(path, 'its signature does not verify (the document was altered or forged)')
  return {by: mine ? 'derived' : 'pinned', serial: auth.serial, vaultId: auth.vault_id}
}
