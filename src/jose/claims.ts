import {formatDuration} from '../common/duration.js'
import {ClaimsError, type RejectionCode} from '../common/errors.js'
import {jsonErrorPlace} from '../common/json-position.js'
import {MAX_CLAIM_DEPTH, textDepth} from '../common/limits.js'
import {describeTime} from '../common/time.js'

/** Claims the issuer sets itself (RFC 7519 §4.1, RFC 9068 §2.2): a claim set may not carry them. */
export const RESERVED_CLAIMS = ['iss', 'exp', 'iat', 'nbf', 'jti', 'client_id'] as const

/** Clock skew allowed on exp, nbf and iat unless told otherwise: `token verify`'s default --leeway. */
export const DEFAULT_LEEWAY_MS = 30_000

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
    const place = jsonErrorPlace(text)
    throw new ClaimsError(`${source} is not valid JSON${place ? ` at ${place}` : ''}`)
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

/** A failed claim check, with the reason code `token verify` gives for it. */
export interface ClaimRefusal {
  code: RejectionCode
  message: string
  name: string
  ok: false
}

/** One claim's check and its outcome. */
export type ClaimFinding = ClaimRefusal | {message: string; name: string; ok: true}

/** What a claim set is checked against. Without `now`, no time is compared (revoking an expired token). */
export interface ClaimExpectations {
  /** Accept a claim set without `exp` (a token that never expires). */
  allowNoExp?: boolean
  /** Audiences any one of which the token must name; none or empty: not checked. */
  audience?: string[]
  /** The issuer, or the names any one of which it may carry (a renamed issuer's refresh tokens). */
  issuer?: readonly string[] | string
  leewayMs: number
  maxAgeMs?: number
  now?: number
  subject?: string
}

const fail = (name: string, code: RejectionCode, message: string): ClaimFinding => ({code, message, name, ok: false})
const pass = (name: string, message: string): ClaimFinding => ({message, name, ok: true})
const shown = (value: unknown): string => (value === undefined ? 'none' : JSON.stringify(value))
const isNumericDate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)

/**
 * The registered claims (RFC 7519 §4.1) checked as jose's jwtVerify checks them, by every path
 * that accepts a token: `token verify`, the issuer's own refresh tokens (opened on node:crypto)
 * and the debugger page (in the browser: this module imports nothing of Node's), so that none
 * is looser than another. Stricter than jose twice: a NumericDate must be finite (JSON's 1e999
 * is Infinity: an `exp` that never comes), and an `iat` beyond the leeway in the future is refused
 * even without a max age (the issuer's clock, or the issuer, is wrong).
 *
 * One finding per claim checked, in jose's order, so that the first refusal is the one jose
 * makes: claims missing, then iss, sub and aud, a malformed iat, nbf, exp, then iat's time.
 */
export function checkClaims(payload: unknown, expected: ClaimExpectations): ClaimFinding[] {
  if (!isObject(payload)) return [fail('claims', 'MALFORMED_TOKEN', 'the payload is not a JSON object of claims')]
  return [...expectedValues(payload, expected), ...dates(payload, expected)]
    .sort(([a], [b]) => a - b)
    .map(([, finding]) => finding)
}

/** A finding and its place in jose's order of checks. */
type Ranked = [rank: number, finding: ClaimFinding]
const MISSING = 0
const MATCHED = 1
const MALFORMED_IAT = 2
const NBF = 3
const EXP = 4
const IAT = 5

/** iss, sub and aud against the values expected. */
function expectedValues({aud, iss, sub}: Claims, expected: ClaimExpectations): Ranked[] {
  const ranked: Ranked[] = []
  const check = (name: string, value: unknown, ok: boolean, code: RejectionCode, is: string, wanted: string) =>
    ranked.push([
      value === undefined ? MISSING : MATCHED,
      ok ? pass(name, is) : fail(name, code, `the token ${is}, expected ${wanted}`),
    ])
  const {audience, issuer, subject} = expected
  if (issuer !== undefined)
    check(
      'iss',
      iss,
      typeof issuer === 'string' ? iss === issuer : issuer.includes(iss as string),
      'ISSUER_MISMATCH',
      `was issued by ${shown(iss)}`,
      typeof issuer === 'string' ? JSON.stringify(issuer) : issuer.map((name) => JSON.stringify(name)).join(' or '),
    )
  if (subject !== undefined)
    check('sub', sub, sub === subject, 'SUBJECT_MISMATCH', `is about subject ${shown(sub)}`, JSON.stringify(subject))
  if (audience?.length) {
    const named = Array.isArray(aud) ? (aud as unknown[]) : [aud]
    const wanted = audience.map((a) => JSON.stringify(a)).join(' or ')
    check(
      'aud',
      aud,
      audience.some((a) => named.includes(a)),
      'AUDIENCE_MISMATCH',
      `is for audience ${shown(aud)}`,
      wanted,
    )
  }

  return ranked
}

/** exp, nbf and iat: each a finite NumericDate, and (when `now` is given) in force at `now`, with the leeway. */
function dates({exp, iat, nbf}: Claims, expected: ClaimExpectations): Ranked[] {
  const ranked: Ranked[] = []
  const {leewayMs, maxAgeMs} = expected
  const now = expected.now === undefined ? undefined : Math.floor(expected.now / 1000)
  const leeway = leewayMs / 1000
  const withLeeway = leewayMs ? `, with ${formatDuration(leewayMs)} leeway` : ''
  const when = (seconds: number) => describeTime(seconds, expected.now!) ?? shown(seconds)
  const date = (name: string, value: unknown, rank: number, check: (seconds: number, now: number) => ClaimFinding) => {
    if (!isNumericDate(value))
      ranked.push([rank, fail(name, 'CLAIM_INVALID', `"${name}" must be a finite number of seconds since the epoch`)])
    else if (now !== undefined) ranked.push([rank, check(value, now)])
  }

  if (iat !== undefined) {
    date('iat', iat, isNumericDate(iat) ? IAT : MALFORMED_IAT, (t, now) => {
      if (t > now + leeway)
        return fail('iat', 'TOKEN_NOT_YET_VALID', `the token was issued in the future, at ${when(t)}${withLeeway}`)
      if (maxAgeMs !== undefined && now - t - leeway > maxAgeMs / 1000)
        return fail(
          'iat',
          'TOKEN_TOO_OLD',
          `the token was issued at ${when(t)}, over ${formatDuration(maxAgeMs)} ago${withLeeway}`,
        )
      return pass('iat', `issued ${when(t)}`)
    })
  } else if (maxAgeMs !== undefined && now !== undefined)
    ranked.push([MISSING, fail('iat', 'TOKEN_TOO_OLD', 'the token has no "iat": its age cannot be checked')])

  if (nbf !== undefined) {
    date('nbf', nbf, NBF, (t, now) =>
      t > now + leeway
        ? fail('nbf', 'TOKEN_NOT_YET_VALID', `the token is not valid before ${when(t)}${withLeeway}`)
        : pass('nbf', `valid since ${when(t)}`),
    )
  }

  if (exp !== undefined) {
    date('exp', exp, EXP, (t, now) =>
      t <= now - leeway
        ? fail('exp', 'TOKEN_EXPIRED', `the token expired at ${when(t)}${withLeeway}`)
        : pass('exp', `expires ${when(t)}`),
    )
  } else if (!expected.allowNoExp)
    ranked.push([MISSING, fail('exp', 'CLAIM_INVALID', 'the token has no "exp": it would never expire')])

  return ranked
}

/** The refusal of a claim set: its first failing check in jose's order; undefined when every check passes. */
export function claimVerdict(payload: unknown, expected: ClaimExpectations): ClaimRefusal | undefined {
  return checkClaims(payload, expected).find((finding): finding is ClaimRefusal => !finding.ok)
}
