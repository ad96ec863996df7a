import {type RejectionCode, TokenRejectedError} from '../common/errors.js'

/**
 * The one parser of compact token parts: `token verify`, the issuer, `token decode`, `jwe
 * decrypt` and the debugger page (in the browser: nothing here needs Node) read a header here.
 */

/** Larger inputs are refused before any parsing: no honest token comes near it. */
export const MAX_TOKEN_BYTES = 64 * 1024

export const reject = (code: RejectionCode, message: string): TokenRejectedError =>
  new TokenRejectedError(code, message)

export const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * RFC 7515 §2 and RFC 4648 §3.5: base64url without padding, and canonical (the unused low bits
 * of the last character zero). Decoders ignore those bits, so without this check one signature
 * could be written several ways: a token altered in them would still verify.
 */
export function canonicalBase64url(part: string): boolean {
  if (!/^[\w-]*$/.test(part) || part.length % 4 === 1) return false
  // Only the last character can carry unused bits (4 of them after 2 characters of a group, 2
  // after 3): checked there, rather than by decoding and re-encoding the whole part.
  const unused = [0, 0, 0b1111, 0b11][part.length % 4]
  return (BASE64URL.indexOf(part.at(-1) ?? 'A') & unused) === 0
}

/** The bytes of a base64url part: Node's decoder where there is one (far faster on a payload). */
export const base64urlBytes: (part: string) => Uint8Array =
  typeof Buffer === 'function' ? (part) => Buffer.from(part, 'base64url') : decodeBase64url

/** The browser's decoder (the debugger page), for a part already checked as base64url. */
function decodeBase64url(part: string): Uint8Array {
  const out = new Uint8Array(Math.floor((part.length * 3) / 4))
  let bits = 0
  let value = 0
  let length = 0
  for (const char of part) {
    value = ((value << 6) | BASE64URL.indexOf(char)) & 0xff_ff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[length++] = (value >> bits) & 0xff
    }
  }

  return out
}

const utf8 = new TextDecoder('utf8', {fatal: true})

/**
 * A header or payload part as JSON. Its bytes must be UTF-8 (RFC 7515 §5.2), decoded strictly as
 * jose decodes them: a lenient decoder would let bytes that are no text read as U+FFFD, so that
 * two different tokens could carry the same header or claims.
 */
export function jsonPart(part: string): unknown {
  return JSON.parse(utf8.decode(base64urlBytes(part)))
}

/** A protected header: its `alg` is a string (not "none": refused before this is returned). */
export type Header = Record<string, unknown> & {alg: string; kid?: string; typ?: string}

/** The protected header of a compact JWS or JWE, refusing what can never be accepted. */
export function protectedHeader(token: string): Header {
  // a string's UTF-16 length never exceeds its UTF-8 one: a huge input is refused without encoding it
  if (token.length > MAX_TOKEN_BYTES || new TextEncoder().encode(token).length > MAX_TOKEN_BYTES)
    throw reject('TOKEN_TOO_LARGE', `token is over ${MAX_TOKEN_BYTES / 1024} KiB`)
  const parts = token.split('.')
  if (parts.length !== 3 && parts.length !== 5)
    throw reject('MALFORMED_TOKEN', 'not a compact JWS (3 parts) or JWE (5 parts)')
  if (!parts.every((part) => canonicalBase64url(part)))
    throw reject('MALFORMED_TOKEN', 'a part of the token is not canonical base64url')
  let header
  try {
    header = jsonPart(parts[0]) as Header
  } catch {
    throw reject('MALFORMED_TOKEN', 'the protected header is not base64url UTF-8 JSON')
  }

  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw reject('MALFORMED_TOKEN', 'the protected header is not a JSON object')

  if (typeof header.alg !== 'string' || header.alg.toLowerCase() === 'none') {
    throw reject('ALG_NOT_ALLOWED', 'unsecured tokens (alg "none") are never accepted')
  }

  if (header.crit !== undefined) {
    throw reject(
      'UNSUPPORTED_CRIT',
      `the token requires header extensions this verifier does not implement: ${JSON.stringify(header.crit)}`,
    )
  }

  return header
}
