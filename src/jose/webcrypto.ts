/**
 * The browser's path of the face: a JWS verified with WebCrypto, for the debugger page (where the
 * token stays) and in Node for its tests. Keys are chosen and refused as `token verify` chooses
 * and refuses them, each outcome with its reason code; the algorithms are the table's. Nothing
 * here imports Node.
 */
import {JWS} from './algorithms.js'
import {base64urlBytes, canonicalBase64url} from './header.js'

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

/**
 * A public key the user pasted: a JWK, a JWKS (every key a candidate) or an SPKI PEM (for the
 * token's alg). Private members are dropped here, before anything else sees them.
 */
export async function parsePastedKey(text: string, alg: unknown): Promise<KeyInfo[]> {
  const trimmed = text.trim()
  if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
    const spec = typeof alg === 'string' ? webCrypto(alg) : undefined
    if (!spec || spec.kty === 'oct') throw new Error('a PEM key needs the token to name an asymmetric alg')
    const body = trimmed.replaceAll(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replaceAll(/\s+/g, '')
    // PEM's base64 read as base64url: the same bits under two other letters, padding dropped
    const der = base64urlBytes(body.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''))
    const key = await crypto.subtle.importKey('spki', der as never, spec.import as never, true, ['verify'])
    const jwk = (await crypto.subtle.exportKey('jwk', key)) as Json
    return [{jwk: {...publicPart(jwk), alg}, source: 'pasted'}]
  }

  if (trimmed.startsWith('-----BEGIN')) throw new Error('paste a public key: PEM "PUBLIC KEY" (SPKI) or a JWK')
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch {
    throw new Error('the key is neither JSON (a JWK or JWKS) nor a PEM public key')
  }

  const list = isObject(value) && Array.isArray(value.keys) ? (value.keys as unknown[]) : [value]
  const keys = list.filter((k) => isObject(k)).filter((k) => typeof k.kty === 'string')
  if (keys.length === 0) throw new Error('no JWK (an object with "kty") in what you pasted')
  return keys.map((jwk) => ({jwk: publicPart(jwk), source: 'pasted'}))
}

function publicPart(jwk: Json): Json {
  const out: Json = {}
  for (const name of ['kty', 'kid', 'alg', 'use', ...(PUBLIC_MEMBERS[String(jwk.kty)] ?? [])])
    if (jwk[name] !== undefined) out[name] = jwk[name]
  return out
}
