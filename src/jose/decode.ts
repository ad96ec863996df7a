import {jsonDepth, MAX_CLAIM_DEPTH} from '../common/limits.js'
import {jsonPart, protectedHeader, reject} from './header.js'

/** A token's parts as `jwtis token decode` shows them: nothing in it is verified. */
export interface Decoded {
  /** True for a JWE: its payload cannot be read without the key (see `jwtis jwe decrypt`). */
  encrypted: boolean
  header: Record<string, unknown>
  payload?: Record<string, unknown>
  verified: false
}

/**
 * Reads a compact JWS or JWE without verifying it. Shows what is there, even `alg: none` or
 * `crit` (refusing those is verification's job), within the same size and depth limits.
 */
export function decodeToken(token: string): Decoded {
  let header: Record<string, unknown>
  try {
    header = protectedHeader(token)
  } catch (error) {
    const {code} = error as {code?: string}
    if (code !== 'ALG_NOT_ALLOWED' && code !== 'UNSUPPORTED_CRIT') throw error
    header = jsonPart(token.split('.')[0]) as Record<string, unknown>
  }

  const parts = token.split('.')
  if (parts.length === 5) return {encrypted: true, header, verified: false}
  let payload: unknown
  try {
    payload = jsonPart(parts[1])
  } catch {
    throw reject('MALFORMED_TOKEN', 'the payload is not base64url UTF-8 JSON (an unencoded or non-JWT JWS?)')
  }

  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw reject('MALFORMED_TOKEN', 'the payload is not a JSON object of claims')
  if (jsonDepth(payload, MAX_CLAIM_DEPTH) > MAX_CLAIM_DEPTH)
    throw reject('MALFORMED_TOKEN', `the claims nest deeper than ${MAX_CLAIM_DEPTH} levels`)
  return {encrypted: false, header, payload: payload as Record<string, unknown>, verified: false}
}
