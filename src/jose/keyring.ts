import type {CryptoKey, JWK} from 'jose'
import type {KeyObject} from 'node:crypto'

import {UsageError} from '../common/errors.js'
import {algorithmsForKey, CONTENT_ENCRYPTION} from './algorithms.js'
import {type KeyUse, publicJwk} from './keys.js'

export type KeyMaterial = CryptoKey | KeyObject | Uint8Array

/** One key a token may name: from the vault (with its client and state) or from a file. */
export interface KeyEntry {
  /** The algorithm the key is bound to (RFC 8725 §3.1: one key, one algorithm), when known. */
  alg?: string
  client?: string
  /** The issuer's own key (it seals refresh tokens: `refresh_seal: issuer`), not a client's. */
  issuer?: true
  /** Public members only, for verification and export. */
  jwk?: JWK
  /** A key given as PEM, already parsed. */
  keyObject?: KeyObject
  kid?: string
  /** Private JWK (vault keys, or a private JWK file), for decryption and signing. */
  privateJwk?: JWK
  /** Vault keys: `retired` keys verify and decrypt only. */
  state?: 'active' | 'retired'
  use?: KeyUse
}

export function entryAllows(entry: KeyEntry, alg: string): boolean {
  if (entry.alg) {
    // a `dir` key's JWK may name its content encryption as its `alg` (RFC 7520 §5.6)
    if (alg === 'dir' && Object.hasOwn(CONTENT_ENCRYPTION, entry.alg)) return true
    return entry.alg === alg || (entry.alg === 'EdDSA' && alg === 'Ed25519')
  }

  if (entry.keyObject) {
    const type = entry.keyObject.asymmetricKeyType
    const details = entry.keyObject.asymmetricKeyDetails
    const crv = ({prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521'} as Record<string, string>)[
      details?.namedCurve ?? ''
    ]
    const kty =
      type === 'rsa' || type === 'rsa-pss'
        ? 'RSA'
        : type === 'ec'
          ? 'EC'
          : type === 'ed25519'
            ? 'OKP'
            : type === 'x25519'
              ? 'OKP'
              : undefined
    return algorithmsForKey(kty, type === 'ed25519' ? 'Ed25519' : type === 'x25519' ? 'X25519' : crv).includes(alg)
  }

  const jwk = entry.privateJwk ?? entry.jwk
  const octBytes = jwk?.k ? Buffer.from(jwk.k, 'base64url').length : 0
  return algorithmsForKey(jwk?.kty, jwk?.crv, octBytes).includes(alg)
}

/**
 * Keys by `kid`, with their imported forms cached (importing is the slow part of verifying).
 * Built from the vault, a JWKS, a JWK or a PEM file.
 */
export class Keyring {
  private readonly imported = new Map<string, Promise<KeyMaterial>>()

  constructor(readonly entries: KeyEntry[]) {}

  /** Reads a JWK, a JWKS, or PEM (SPKI/X.509 public key, PKCS#8 or SEC1/PKCS#1 private key). */
  static async fromText(text: string, source: string): Promise<Keyring> {
    const trimmed = text.trim()
    if (trimmed.startsWith('{')) {
      let parsed: JWK & {keys?: JWK[]}
      try {
        parsed = JSON.parse(trimmed)
      } catch {
        throw new UsageError(`${source} is not valid JSON (expected a JWK or a JWKS)`, 'BAD_KEY')
      }

      const jwks = Array.isArray(parsed.keys) ? parsed.keys : [parsed]
      if (jwks.length === 0 || !jwks.every((k) => typeof k?.kty === 'string')) {
        throw new UsageError(`${source} holds no JWK (each key needs a "kty")`, 'BAD_KEY')
      }

      return new Keyring(
        jwks.map((jwk) => ({
          alg: jwk.alg,
          jwk: publicJwk(jwk),
          kid: jwk.kid,
          privateJwk: jwk.d || jwk.k ? jwk : undefined,
          use: jwk.use as KeyUse | undefined,
        })),
      )
    }

    // PEM: one or more blocks (a bundle), with any text around them, as `keys export --format pem` writes.
    const blocks = trimmed.match(/-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g)
    if (blocks) {
      const {createPrivateKey, createPublicKey} = await import('node:crypto')
      try {
        return new Keyring(
          blocks.map((pem) => ({
            keyObject: pem.includes('PRIVATE KEY') ? createPrivateKey(pem) : createPublicKey(pem),
          })),
        )
      } catch (error) {
        throw new UsageError(`${source} is not a PEM key this tool can read: ${(error as Error).message}`, 'BAD_KEY')
      }
    }

    throw new UsageError(`${source} is neither a JWK, a JWKS nor a PEM key`, 'BAD_KEY')
  }

  /** Keys that may verify (use `sig`) or decrypt (use `enc`) a token naming `kid` and `alg`. */
  candidates(kid: string | undefined, use: KeyUse): KeyEntry[] {
    return this.entries.filter(
      (e) => (kid === undefined || e.kid === undefined || e.kid === kid) && (e.use === undefined || e.use === use),
    )
  }

  /** The key in the form jose takes: the public half (verify, encrypt) or the private one (decrypt, sign). */
  async material(entry: KeyEntry, alg: string, purpose: 'private' | 'public'): Promise<KeyMaterial> {
    if (entry.keyObject) {
      if (purpose === 'private' && entry.keyObject.type !== 'private') {
        throw new UsageError('the key is a public key: decrypting (or signing) needs the private key', 'BAD_KEY')
      }

      if (purpose === 'public' && entry.keyObject.type === 'private') {
        const {createPublicKey} = await import('node:crypto')
        return createPublicKey(entry.keyObject)
      }

      return entry.keyObject
    }

    const jwk = purpose === 'private' || entry.jwk?.kty === 'oct' ? entry.privateJwk : entry.jwk
    if (!jwk) {
      throw new UsageError(
        `${entry.kid === undefined ? 'the key' : `key ${entry.kid}`} is a public key: decrypting (or signing) needs the private key`,
        'BAD_KEY',
      )
    }

    const cacheKey = `${purpose}:${alg}:${entry.kid ?? JSON.stringify(jwk)}`
    let key = this.imported.get(cacheKey)
    if (!key) {
      key = import('jose').then(async ({importJWK}) => {
        try {
          return await importJWK({...jwk, alg: undefined, key_ops: undefined, use: undefined}, alg)
        } catch (error) {
          const name = entry.kid === undefined ? 'the key' : `key ${entry.kid}`
          throw new UsageError(`${name} is not a usable ${alg} key: ${(error as Error).message}`, 'BAD_KEY')
        }
      })
      this.imported.set(cacheKey, key)
    }

    return key
  }
}
