/**
 * The browser's path of the face: a JWS verified with WebCrypto, for the debugger page (where the
 * token stays) and in Node for its tests. Keys are chosen and refused as `token verify` chooses
 * and refuses them, each outcome with its reason code; the algorithms are the table's. Nothing
 * here imports Node.
 */
import {hmacKeyBytes, isHmac, JWS} from './algorithms.js'
import {BASE64URL, base64urlBytes, canonicalBase64url} from './header.js'

export type Json = Record<string, unknown>

/** One check's outcome; `code` is the reason code `token verify` gives for that failure. */
export interface Finding {
  code?: string
  message: string
  name: string
  ok: boolean
}

/** A public key as the page holds it: a JWK, and where it came from. */
export interface KeyInfo {
  client?: string
  jwk: Json
  /** An HMAC secret pasted as text (not as a JWK). */
  secret?: true
  source: 'jwks' | 'pasted'
  state?: string
  until?: null | string
}

/** A JWS split into its parts, with its header read. */
export interface SignedParts {
  header: Json
  parts: string[]
}

const fail = (name: string, code: string, message: string): Finding => ({code, message, name, ok: false})
const pass = (name: string, message: string): Finding => ({message, name, ok: true})
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** WebCrypto's parameters for a JWS algorithm of the table: how to import its key and verify with it. */
function webCrypto(alg: string): undefined | {import: Json; kty: string; verify: Json} {
  const spec = (JWS as Record<string, (typeof JWS)[keyof typeof JWS]>)[alg]
  if (!spec || !('client' in spec)) return undefined
  const kty = spec.kty[0]
  const hash = 'hash' in spec ? `SHA-${spec.hash}` : ''
  switch (spec.family) {
    case 'ECDSA': {
      return {import: {name: 'ECDSA', namedCurve: spec.crv[0]}, kty, verify: {hash, name: 'ECDSA'}}
    }

    case 'EdDSA': {
      return {import: {name: 'Ed25519'}, kty, verify: {name: 'Ed25519'}}
    }

    case 'RSA-PSS': {
      return {import: {hash, name: 'RSA-PSS'}, kty, verify: {name: 'RSA-PSS', saltLength: spec.hash / 8}}
    }

    default: {
      return {import: {hash, name: spec.family}, kty, verify: {name: spec.family}}
    }
  }
}

/** The JWS algorithms the page verifies: those a client may sign with. */
export const SUPPORTED_ALGS = Object.keys(JWS).filter((alg) => webCrypto(alg) !== undefined)

const shown = (value: unknown): string => (value === undefined ? 'none' : JSON.stringify(value))

/** Only the public members of a JWK (a pasted private key is used as its public half). */
const PUBLIC_MEMBERS: Record<string, string[]> = {EC: ['crv', 'x', 'y'], oct: ['k'], OKP: ['crv', 'x'], RSA: ['n', 'e']}

/**
 * The key that verifies a JWS, chosen as `token verify` chooses: by `kid` among the candidates
 * (the only one when there is one and the token names none), refusing `alg: none`, `crit`, and
 * an `alg` the key is not for (RFC 8725 §3.1: HMAC with a public key included).
 */
export function chooseKey(header: Json, keys: KeyInfo[]): {finding: Finding; key?: KeyInfo} {
  const {alg, crit, kid} = header
  if (typeof alg !== 'string' || alg.toLowerCase() === 'none')
    return {finding: fail('alg', 'ALG_NOT_ALLOWED', `alg ${shown(alg)} is never accepted`)}
  if (crit !== undefined)
    return {
      finding: fail(
        'crit',
        'UNSUPPORTED_CRIT',
        `the token requires extensions ${shown(crit)} that jwtis does not support`,
      ),
    }
  const spec = webCrypto(alg)
  if (!spec) return {finding: fail('alg', 'ALG_NOT_ALLOWED', `alg ${JSON.stringify(alg)} is not one jwtis accepts`)}
  const candidates = keys.filter((k) => k.jwk.use === undefined || k.jwk.use === 'sig')
  const key =
    kid === undefined
      ? candidates.length === 1
        ? candidates[0]
        : undefined
      : (candidates.find((k) => k.jwk.kid === kid) ??
        (candidates.length === 1 && candidates[0].source === 'pasted' ? candidates[0] : undefined))
  if (!key) {
    return {
      finding: fail(
        'kid',
        'UNKNOWN_KID',
        kid === undefined
          ? 'the token names no kid, and there is not exactly one key to try'
          : `no key with kid ${JSON.stringify(kid)} ${keys.some((k) => k.source === 'jwks') ? "in this server's JWKS" : 'in the key you pasted'}`,
      ),
    }
  }

  if (key.jwk.kty !== spec.kty || (key.jwk.alg !== undefined && key.jwk.alg !== alg)) {
    return {
      finding: fail(
        'alg',
        'ALG_NOT_ALLOWED',
        `alg ${alg} does not fit the key (${String(key.jwk.kty)}${key.jwk.alg ? `, for ${String(key.jwk.alg)}` : ''})`,
      ),
      key,
    }
  }

  return {finding: pass('alg', `alg ${alg} fits the key`), key}
}

/** Verifies the JWS signature with WebCrypto: a BAD_SIGNATURE finding when it does not match. */
export async function verifySignature(decoded: SignedParts, key: KeyInfo): Promise<Finding> {
  const alg = String(decoded.header.alg)
  const spec = webCrypto(alg)!
  const members = PUBLIC_MEMBERS[spec.kty] ?? []
  const jwk: Json = {kty: key.jwk.kty}
  for (const name of members) jwk[name] = key.jwk[name]
  let cryptoKey
  try {
    cryptoKey = await crypto.subtle.importKey('jwk', jwk as never, spec.import as never, false, ['verify'])
  } catch (error) {
    return fail('signature', 'BAD_KEY', `the key is not usable for ${alg}: ${(error as Error).message}`)
  }

  if (!canonicalBase64url(decoded.parts[2]))
    return fail('signature', 'MALFORMED_TOKEN', 'the signature is not base64url')
  const signature = base64urlBytes(decoded.parts[2])

  const input = new TextEncoder().encode(`${decoded.parts[0]}.${decoded.parts[1]}`)
  // (a signature of the wrong length is false in browsers, an exception in some runtimes)
  const ok = await crypto.subtle
    .verify(spec.verify as never, cryptoKey, signature as never, input as never)
    .catch(() => false)
  return ok
    ? pass('signature', `${alg} signature verified`)
    : fail('signature', 'BAD_SIGNATURE', 'signature verification failed')
}

/** Bytes as unpadded base64url, six bits to a letter (the page has no Buffer). */
export function base64urlEncode(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xff_ff
    bits += 8
    while (bits >= 6) {
      bits -= 6
      out += BASE64URL[(value >> bits) & 0x3f]
    }
  }

  return bits > 0 ? out + BASE64URL[(value << (6 - bits)) & 0x3f] : out
}

/** An HMAC secret pasted as text: its UTF-8 bytes, less one final newline, as `token sign --secret` reads it. */
const secretBytes = (text: string): Uint8Array => new TextEncoder().encode(text.replace(/\r?\n$/, ''))

/** A WebCrypto key (named without the DOM's types, which the Node side of the build does not load). */
type CryptoKeyLike = Awaited<ReturnType<typeof crypto.subtle.importKey>>

/** What was pasted in the key box, sorted out: PEM (its DER), a JWK or JWKS (its keys), or text. */
type Pasted = {der: Uint8Array; pem: 'private' | 'public'} | {jwks: Json[]} | {text: string}

function readPasted(text: string): Pasted {
  const trimmed = text.trim()
  const pem = /^-----BEGIN (PUBLIC|PRIVATE) KEY-----([^-]*)-----END \1 KEY-----$/.exec(trimmed)
  if (pem) {
    // PEM's base64 read as base64url: the same bits under two other letters, padding dropped
    const body = pem[2].replaceAll(/\s+/g, '').replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
    if (!canonicalBase64url(body)) throw new Error('the PEM block is not base64')
    return {der: base64urlBytes(body), pem: pem[1] === 'PUBLIC' ? 'public' : 'private'}
  }

  if (trimmed.startsWith('-----BEGIN'))
    throw new Error('paste a PEM "PUBLIC KEY" (SPKI) or "PRIVATE KEY" (PKCS #8), a JWK or a JWKS')
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch {}

  if (!isObject(value)) return {text}
  const list = Array.isArray(value.keys) ? (value.keys as unknown[]) : [value]
  const jwks = list.filter((k) => isObject(k)).filter((k) => typeof k.kty === 'string')
  if (jwks.length === 0) throw new Error('no JWK (an object with "kty") in what you pasted')
  return {jwks}
}

function asymmetric(alg: unknown, what: string): NonNullable<ReturnType<typeof webCrypto>> {
  const spec = typeof alg === 'string' ? webCrypto(alg) : undefined
  if (!spec || spec.kty === 'oct') throw new Error(`${what} needs the token to name an asymmetric alg`)
  return spec
}

/**
 * A key the user pasted, to verify with: a JWK, a JWKS (every key a candidate), a PEM public or
 * private key (for the token's alg) or, for an HMAC alg, the secret as text. Only public members
 * are kept, before anything else sees them: a private key is used as its public half.
 */
export async function parsePastedKey(text: string, alg: unknown): Promise<KeyInfo[]> {
  const pasted = readPasted(text)
  if ('der' in pasted) {
    const spec = asymmetric(alg, 'a PEM key')
    const format = pasted.pem === 'public' ? 'spki' : 'pkcs8'
    const usage = pasted.pem === 'public' ? 'verify' : 'sign'
    const key = await crypto.subtle
      .importKey(format, pasted.der as never, spec.import as never, true, [usage])
      .catch((error: Error) => {
        throw new Error(`the PEM ${pasted.pem} key is not one for ${String(alg)}: ${error.message}`)
      })
    const jwk = (await crypto.subtle.exportKey('jwk', key)) as Json
    return [{jwk: {...publicPart(jwk), alg}, source: 'pasted'}]
  }

  if ('jwks' in pasted) return pasted.jwks.map((jwk) => ({jwk: publicPart(jwk), source: 'pasted'}))
  if (typeof alg === 'string' && isHmac(alg))
    return [{jwk: {k: base64urlEncode(secretBytes(pasted.text)), kty: 'oct'}, secret: true, source: 'pasted'}]
  throw new Error('the key is neither JSON (a JWK or JWKS) nor a PEM key; an HS token takes the secret as text')
}

/** The members of a private JWK that WebCrypto imports: its own `alg`, `use` and the like are checked here instead. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi']

/**
 * A key to sign with, from the key box: a private JWK (of a JWKS: the one with the header's
 * kid), a PEM "PRIVATE KEY", an oct JWK or the secret as text. Never extractable: it signs in
 * this page and goes nowhere.
 */
export async function pastedSigningKey(text: string, header: Json): Promise<CryptoKeyLike> {
  const alg = String(header.alg)
  const spec = webCrypto(alg)
  if (!spec) throw new Error(`alg ${JSON.stringify(header.alg)} is not one this page signs with`)
  const pasted = readPasted(text)
  const importAs = (format: 'jwk' | 'pkcs8' | 'raw', data: unknown) =>
    // (`as 'raw'`: one call for the three formats, which the DOM typings split into overloads)
    crypto.subtle
      .importKey(format as 'raw', data as never, spec.import as never, false, ['sign'])
      .catch((error: Error) => {
        throw new Error(`the key cannot sign ${alg}: ${error.message}`)
      })
  if ('der' in pasted) {
    if (pasted.pem === 'public') throw new Error('that is a public key: signing needs the private key or the secret')
    asymmetric(alg, 'a PEM key')
    return importAs('pkcs8', pasted.der)
  }

  if ('text' in pasted) {
    if (spec.kty !== 'oct') throw new Error(`${alg} signs with a private key (JWK or PEM), not a secret`)
    return importAs('raw', hmacSecret(secretBytes(pasted.text), alg))
  }

  const jwk = pasted.jwks.length === 1 ? pasted.jwks[0] : pasted.jwks.find((k) => k.kid === header.kid)
  if (!jwk) throw new Error(`no key with kid ${JSON.stringify(header.kid)} in the JWKS you pasted`)
  if (jwk.kty !== spec.kty || (jwk.alg !== undefined && jwk.alg !== alg))
    throw new Error(`the key (${String(jwk.kty)}${jwk.alg ? `, for ${String(jwk.alg)}` : ''}) does not sign ${alg}`)
  if (spec.kty === 'oct') {
    if (typeof jwk.k !== 'string' || !canonicalBase64url(jwk.k)) throw new Error('the oct JWK has no base64url "k"')
    return importAs('raw', hmacSecret(base64urlBytes(jwk.k), alg))
  }

  if (jwk.d === undefined) throw new Error('that is a public key: signing needs the private key (with "d")')
  const members: Json = {}
  for (const name of [...PUBLIC_MEMBERS[spec.kty], ...PRIVATE_MEMBERS])
    if (jwk[name] !== undefined) members[name] = jwk[name]
  return importAs('jwk', {kty: jwk.kty, ...members})
}

/** RFC 7518 §3.2, as `token sign` holds it: an HMAC key at least as long as the hash. */
function hmacSecret(bytes: Uint8Array, alg: string): Uint8Array {
  if (bytes.length < hmacKeyBytes(alg))
    throw new Error(`an ${alg} secret needs at least ${hmacKeyBytes(alg)} bytes; this one has ${bytes.length}`)
  return bytes
}

/** A compact JWS of this header and payload, signed with WebCrypto by `key` (see pastedSigningKey). */
export async function signCompact(header: Json, payload: Json, key: CryptoKeyLike): Promise<string> {
  const spec = webCrypto(String(header.alg))!
  const encode = (value: Json) => base64urlEncode(new TextEncoder().encode(JSON.stringify(value)))
  const input = `${encode(header)}.${encode(payload)}`
  const signature = await crypto.subtle.sign(spec.verify as never, key, new TextEncoder().encode(input) as never)
  return `${input}.${base64urlEncode(new Uint8Array(signature))}`
}

function publicPart(jwk: Json): Json {
  const out: Json = {}
  for (const name of ['kty', 'kid', 'alg', 'use', ...(PUBLIC_MEMBERS[String(jwk.kty)] ?? [])])
    if (jwk[name] !== undefined) out[name] = jwk[name]
  return out
}
