/**
 * What the debugger page knows about a token, without the DOM and without Node: decoding (the
 * token parts read by jwtis's one parser) and the claim checks `jwtis token verify` makes (its
 * checker, with its reason codes); the signature is checked by src/jose's WebCrypto path. It
 * never decrypts: a JWE's key stays in the vault (`jwtis jwe decrypt`).
 */
import {checkClaims as checkClaimSet, DEFAULT_LEEWAY_MS} from '../jose/claims.js'
import {base64urlBytes, canonicalBase64url, jsonPart, MAX_TOKEN_BYTES} from '../jose/header.js'
import {base64urlEncode, type Finding, type Json} from '../jose/webcrypto.js'

export {describeTime} from '../common/time.js'

export type Decoded =
  | {error: Finding; kind: 'invalid'}
  | {header: Json; kind: 'jwe'; parts: string[]}
  | {header: Json; kind: 'jws'; parts: string[]; payload?: Json; payloadText: string}

const fail = (name: string, code: string, message: string): Finding => ({code, message, name, ok: false})

const utf8 = new TextDecoder('utf8', {fatal: true})
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

function jsonObject(part: string): Json | undefined {
  try {
    const value = jsonPart(part)
    return isObject(value) ? value : undefined
  } catch {
    return undefined
  }
}

/**
 * Takes a token as people paste it (`Bearer ` in front, quotes or whitespace around) and splits
 * it into a JWS (3 parts) or a JWE (5 parts).
 */
export function decode(input: string): Decoded {
  const text = input
    .trim()
    .replace(/^bearer\s+/i, '')
    .replace(/^(["'])(.*)\1$/s, '$2')
    .trim()
  const invalid = (message: string, code = 'MALFORMED_TOKEN'): Decoded => ({
    error: fail('format', code, message),
    kind: 'invalid',
  })
  if (text.length > MAX_TOKEN_BYTES)
    return invalid(`the token is over ${MAX_TOKEN_BYTES / 1024} KiB`, 'TOKEN_TOO_LARGE')
  const parts = text.split('.')
  if (parts.length !== 3 && parts.length !== 5) return invalid('not a compact JWS (3 parts) or JWE (5 parts)')
  if (!parts.every((p) => canonicalBase64url(p))) return invalid('a part of the token is not canonical base64url')
  const header = jsonObject(parts[0])
  if (!header) return invalid('the protected header is not base64url JSON')
  if (parts.length === 5) return {header, kind: 'jwe', parts}
  let payloadText: string
  try {
    payloadText = utf8.decode(base64urlBytes(parts[1]))
  } catch {
    return invalid('the payload is not base64url UTF-8')
  }

  let payload: Json | undefined
  try {
    const value: unknown = JSON.parse(payloadText)
    if (isObject(value)) payload = value
  } catch {}

  return {header, kind: 'jws', parts, payload, payloadText}
}

export interface Expectations {
  /** Audiences any one of which the token must name; none: not checked. */
  audience?: string[]
  /** The issuer the token must name; absent: not checked. */
  issuer?: string
  now: number
}

/** The claim checks of `token verify` (its checker itself), each with its outcome, in the order it makes them. */
export function checkClaims(payload: Json | undefined, expected: Expectations): Finding[] {
  return checkClaimSet(payload, {...expected, leewayMs: DEFAULT_LEEWAY_MS})
}

/** The claims box read as a JSON object, or what is wrong with it and where (line and column, from 1). */
export function parseClaims(text: string): {claims: Json} | {error: string} {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    const offset = jsonErrorOffset(text, (error as Error).message)
    const before = text.slice(0, offset).split('\n')
    const reason = (error as Error).message
      .replace(/,? (?:\.\.\.)?".*" is not valid JSON$/s, '')
      .replace(/ (?:in JSON )?at position \d+.*$/s, '')
    return {error: `line ${before.length}, column ${before.at(-1)!.length + 1}: ${reason}`}
  }

  return isObject(value) ? {claims: value} : {error: 'the claims must be a JSON object ({…})'}
}

/**
 * Where JSON.parse gave up: the position its message names or, when V8 names none (an unexpected
 * token), the end of the shortest prefix that fails for another reason than ending early.
 */
function jsonErrorOffset(text: string, message: string): number {
  const named = /at position (\d+)/.exec(message)
  if (named) return Number(named[1])
  if (/end of JSON/.test(message)) return text.length
  const failsEarly = (n: number) => {
    try {
      JSON.parse(text.slice(0, n))
      return false
    } catch (error) {
      const at = /at position (\d+)/.exec((error as Error).message)
      return at ? Number(at[1]) < n : !/end of JSON/.test((error as Error).message)
    }
  }

  let low = 0
  let high = text.length
  while (low < high) {
    const mid = (low + high) >> 1
    if (failsEarly(mid)) high = mid
    else low = mid + 1
  }

  return Math.max(0, low - 1)
}

/** A token with these claims and header, re-encoded with an empty signature: for editing, never valid. */
export function encodeUnsigned(header: Json, payload: Json): string {
  const enc = (value: Json) => base64urlEncode(new TextEncoder().encode(JSON.stringify(value)))
  return `${enc(header)}.${enc(payload)}.`
}
