/**
 * One claims checker (src/core/claims.ts) for every path that accepts a token: the same forged
 * claim sets, signed with a client's real keys, go through `token verify` (jose checks the
 * signature), the issuer's refresh tokens (opened on node:crypto) and the debugger page. All
 * three give the same verdict with the same code, and it is jose's jwtVerify's verdict, except
 * where jwtis is stricter on purpose (each such case says what jose does).
 */
import type {KeyObject} from 'node:crypto'

import {importJWK, type JWK, jwtVerify} from 'jose'
import {sign} from 'node:crypto'
import {beforeAll, describe, expect, it} from 'vitest'

import {isJwtisError} from '../../src/common/errors.js'
import {addClient} from '../../src/core/clients.js'
import {Issuer} from '../../src/core/issuer.js'
import {checkClaims, decode} from '../../src/debugger/inspect.js'
import {encryptCompact, keyFor} from '../../src/jose/compact.js'
import {decryptJwe} from '../../src/jose/jwe.js'
import {MemoryStore} from '../../src/store/memory.js'
import {manualClock, tempVault} from '../helpers/vault.js'

const ISS = 'https://issuer.test'
let issuer: Issuer
let clock: ReturnType<typeof manualClock>

beforeAll(async () => {
  const {vault} = await tempVault(ISS)
  clock = manualClock()
  await addClient(vault, 'app', {aud: ['api'], sigAlg: 'ES256'}, new Date(clock()))
  const store = new MemoryStore()
  issuer = new Issuer(vault, async () => store, clock)
})

const activeKey = (use: 'enc' | 'sig') =>
  issuer.vault.document.clients.app.keys.find((k) => k.use === use && k.state === 'active')!.jwk as unknown as JWK

/** A JWS over exactly these payload bytes, signed with app's key: what a holder of that key can make. */
function signed(payload: Buffer, typ: string): string {
  const {alg, kid} = activeKey('sig')
  const input = `${Buffer.from(JSON.stringify({alg, kid, typ})).toString('base64url')}.${payload.toString('base64url')}`
  const key = keyFor(activeKey('sig'), 'private') as KeyObject
  return `${input}.${sign('sha256', Buffer.from(input), {dsaEncoding: 'ieee-p1363', key}).toString('base64url')}`
}

/** A fresh refresh token of app's (its family is live: renewing works): its claims and its JWE header. */
async function freshRefresh() {
  const {refresh_token: token} = await issuer.issue('app', {aud: ['api'], custom: {}, refresh: true, sub: 'u1'})
  const {header, plaintext} = await decryptJwe(token!, {keyring: issuer.keyring()})
  const inner = new TextDecoder().decode(plaintext)
  return {
    claims: JSON.parse(Buffer.from(inner.split('.')[1], 'base64url').toString()) as Record<string, unknown>,
    header: header as {alg: string; cty: string; enc: string; kid: string},
  }
}

/** `claims` as JSON text with members replaced by raw JSON (`1e999` included) or, for undefined, removed. */
function edited(claims: Record<string, unknown>, edits: Record<string, string | undefined>): Buffer {
  const kept = Object.entries(claims).filter(([name]) => !Object.hasOwn(edits, name))
  const members = [
    ...kept.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`),
    ...Object.entries(edits)
      .filter(([, raw]) => raw !== undefined)
      .map(([name, raw]) => `${JSON.stringify(name)}:${raw}`),
  ]
  return Buffer.from(`{${members.join(',')}}`)
}

const verdict = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise
    return 'ok'
  } catch (error) {
    if (!isJwtisError(error)) throw error
    return error.code
  }
}

/** jose's refusals named with the code jwtis gives for the same failure. */
async function joseVerdict(token: string): Promise<string> {
  const key = await importJWK({...activeKey('sig'), d: undefined}, 'ES256')
  try {
    await jwtVerify(token, key, {currentDate: new Date(clock()), issuer: ISS, requiredClaims: ['exp'], typ: 'at+jwt'})
    return 'ok'
  } catch (error) {
    const {claim, code, reason} = error as {claim?: string; code: string; reason?: string}
    if (code === 'ERR_JWT_EXPIRED') return 'TOKEN_EXPIRED'
    if (code === 'ERR_JWT_INVALID') return 'MALFORMED_TOKEN'
    if (code !== 'ERR_JWT_CLAIM_VALIDATION_FAILED') throw error
    if (claim === 'iss') return 'ISSUER_MISMATCH'
    // a claim missing or not a number (reason "missing", "invalid") is malformed, whichever it is
    return claim === 'nbf' && reason === 'check_failed' ? 'TOKEN_NOT_YET_VALID' : 'CLAIM_INVALID'
  }
}

type Forge = (claims: Record<string, unknown>, now: number) => Buffer
const edit =
  (edits: (now: number) => Record<string, string | undefined>): Forge =>
  (claims, now) =>
    edited(claims, edits(now))

/** [what is forged, the forgery, every jwtis path's verdict, jose's where it differs] */
const cases: Array<[string, Forge, string, string?]> = [
  ['the claims as issued', edit(() => ({})), 'ok'],
  ['exp with a fraction of a second', edit((now) => ({exp: `${now + 600}.5`})), 'ok'],
  ['exp as a string', edit((now) => ({exp: `"${now + 600}"`})), 'CLAIM_INVALID'],
  ['exp in an array', edit((now) => ({exp: `[${now + 600}]`})), 'CLAIM_INVALID'],
  ['exp null', edit(() => ({exp: 'null'})), 'CLAIM_INVALID'],
  ['no exp', edit(() => ({exp: undefined})), 'CLAIM_INVALID'],
  ['exp an hour ago', edit((now) => ({exp: `${now - 3600}`})), 'TOKEN_EXPIRED'],
  ['exp 1e999 (Infinity: never)', edit(() => ({exp: '1e999'})), 'CLAIM_INVALID', 'ok'],
  ['nbf as a string', edit((now) => ({nbf: `"${now - 60}"`})), 'CLAIM_INVALID'],
  ['nbf in an array', edit(() => ({nbf: '[0]'})), 'CLAIM_INVALID'],
  ['nbf an object', edit(() => ({nbf: '{}'})), 'CLAIM_INVALID'],
  ['nbf in an hour', edit((now) => ({nbf: `${now + 3600}`})), 'TOKEN_NOT_YET_VALID'],
  ['nbf 1e999', edit(() => ({nbf: '1e999'})), 'CLAIM_INVALID', 'TOKEN_NOT_YET_VALID'],
  ['nbf -1e999', edit(() => ({nbf: '-1e999'})), 'CLAIM_INVALID', 'ok'],
  ['iat as a string', edit((now) => ({iat: `"${now}"`})), 'CLAIM_INVALID'],
  ['iat true', edit(() => ({iat: 'true'})), 'CLAIM_INVALID'],
  // jose refuses an iat in the future only when a max age is asked for
  ['iat in an hour', edit((now) => ({iat: `${now + 3600}`})), 'TOKEN_NOT_YET_VALID', 'ok'],
  ['iat 1e999', edit(() => ({iat: '1e999'})), 'CLAIM_INVALID', 'ok'],
  ['another iss', edit(() => ({iss: '"https://evil.test"'})), 'ISSUER_MISMATCH'],
  ['no iss', edit(() => ({iss: undefined})), 'ISSUER_MISMATCH'],
  ['iss a number', edit(() => ({iss: '1'})), 'ISSUER_MISMATCH'],
  // several faults: the first in jose's order (missing claims, iss, a malformed iat, nbf, exp)
  ['another iss and no exp', edit(() => ({exp: undefined, iss: '"x"'})), 'CLAIM_INVALID'],
  ['another iss and exp as a string', edit(() => ({exp: '"x"', iss: '"x"'})), 'ISSUER_MISMATCH'],
  ['iat as a string and nbf in an hour', edit((now) => ({iat: '"x"', nbf: `${now + 3600}`})), 'CLAIM_INVALID'],
  [
    'nbf in an hour and exp an hour ago',
    edit((now) => ({exp: `${now - 3600}`, nbf: `${now + 3600}`})),
    'TOKEN_NOT_YET_VALID',
  ],
  ['claims that are not an object', () => Buffer.from('[1]'), 'MALFORMED_TOKEN'],
  [
    'claims that are not UTF-8',
    (claims) => Buffer.concat([edited(claims, {}).subarray(0, -1), Buffer.from(',"n":"\u00FF"}', 'latin1')]),
    'MALFORMED_TOKEN',
  ],
]

describe('one claims checker: token verify, refresh tokens, the debugger and jose agree', () => {
  it.each(cases)('%s', async (_name, forge, expected, jose = expected) => {
    const {claims, header} = await freshRefresh()
    const payload = forge(claims, Math.floor(clock() / 1000))

    const {alg, cty, enc, kid} = header
    // sealed again under the very key the issuer sealed it with (its key-wrapping key, by default)
    const sealKey = issuer.keyring().entries.find((e) => e.kid === kid)!.privateJwk!
    const refresh = encryptCompact(signed(payload, 'rt+jwt'), {alg, cty, enc, kid}, keyFor(sealKey, 'public'))
    expect(await verdict(issuer.renew('app', refresh)), 'refresh token (node:crypto)').toBe(expected)

    const access = signed(payload, 'at+jwt')
    expect(await verdict(issuer.verify(access, {issuer: ISS, leewayMs: 0})), 'token verify (jose)').toBe(expected)

    const decoded = decode(access)
    const page =
      decoded.kind === 'jws'
        ? (checkClaims(decoded.payload, {issuer: ISS, now: clock()}).find((f) => !f.ok)?.code ?? 'ok')
        : decoded.kind === 'invalid'
          ? decoded.error.code
          : 'not a JWS'
    expect(page, 'debugger page').toBe(expected)

    expect(await joseVerdict(access), "jose's jwtVerify").toBe(jose)
  })
})
