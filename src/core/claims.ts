import {ClaimsError} from './errors.js'
import {MAX_CLAIM_DEPTH, textDepth} from './limits.js'

/** Claims the issuer sets itself (RFC 7519 §4.1, RFC 9068 §2.2): a claim set may not carry them. */
export const RESERVED_CLAIMS = ['iss', 'exp', 'iat', 'nbf', 'jti', 'client_id'] as const

export type Claims = Record<string, unknown>

export interface ClaimSet {
  aud?: string[]
  /** Custom claims, re-issued on every renewal. */
  custom: Claims
  sub?: string
}

const isObject = (v: unknown): v is Claims => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `k=v` with v parsed as JSON when it is JSON (`n=3`, `admin=true`, `roles=["a"]`), else a string. */
export function parseClaimArg(arg: string): [string, unknown] {
  const eq = arg.indexOf('=')
  if (eq <= 0) throw new ClaimsError(`--claim ${arg}: expected NAME=VALUE`)
  const name = arg.slice(0, eq)
  const raw = arg.slice(eq + 1)
  try {
    return [name, JSON.parse(raw)]
  } catch {
    return [name, raw]
  }
}

export function parseClaimsJson(text: string, source: string): Claims {
  if (textDepth(text, MAX_CLAIM_DEPTH + 1) > MAX_CLAIM_DEPTH + 1) {
    throw new ClaimsError(`${source}: claims nest deeper than ${MAX_CLAIM_DEPTH} levels`)
  }

  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ClaimsError(`${source} is not valid JSON`)
  }

  if (!isObject(parsed)) throw new ClaimsError(`${source} must be a JSON object of claims`)
  return parsed
}

function audience(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0 || !list.every((a) => typeof a === 'string' && a !== '')) {
    throw new ClaimsError('"aud" must be a string or an array of strings')
  }

  return list as string[]
}

/**
 * Splits a claim set into subject, audience and custom claims. Reserved claims are refused
 * rather than silently replaced; `sub` and `aud` may come from the claims or from explicit
 * options, but not from both with different values.
 */
export function buildClaimSet(claims: Claims, explicit: {aud?: string[]; sub?: string} = {}): ClaimSet {
  const reserved = RESERVED_CLAIMS.filter((name) => Object.hasOwn(claims, name))
  if (reserved.length > 0) {
    throw new ClaimsError(
      `claim${reserved.length > 1 ? 's' : ''} ${reserved.join(', ')} ${reserved.length > 1 ? 'are' : 'is'} set by the issuer and cannot be given`,
    )
  }

  const {aud, sub, ...custom} = claims
  if (sub !== undefined && typeof sub !== 'string') throw new ClaimsError('"sub" must be a string')
  if (sub !== undefined && explicit.sub !== undefined && sub !== explicit.sub) {
    throw new ClaimsError(`"sub" is given twice with different values (${explicit.sub}, ${sub})`)
  }

  const claimAud = aud === undefined ? undefined : audience(aud)
  if (claimAud && explicit.aud?.length && JSON.stringify(claimAud) !== JSON.stringify(explicit.aud)) {
    throw new ClaimsError('"aud" is given twice with different values')
  }

  return {aud: explicit.aud?.length ? explicit.aud : claimAud, custom, sub: explicit.sub ?? (sub as string | undefined)}
}
