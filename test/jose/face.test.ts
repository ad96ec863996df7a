/**
 * The face of src/jose: it picks node:crypto or jose itself, and the issuer's refresh tokens are
 * opened through it (decrypted, signature checked, only then claims read).
 */
import {randomBytes} from 'node:crypto'
import {beforeAll, describe, expect, it} from 'vitest'

import {isJwtisError} from '../../src/common/errors.js'
import {MAX_CLAIM_DEPTH} from '../../src/common/limits.js'
import {addClient} from '../../src/core/clients.js'
import {Issuer} from '../../src/core/issuer.js'
import {
  algorithmsForKey,
  decryptJwe,
  type JWK,
  Keyring,
  publicJwk,
  sealJwe,
  SIG_ALGS,
  verifyToken,
} from '../../src/jose/index.js'
import {SUPPORTED_ALGS} from '../../src/jose/webcrypto.js'
import {MemoryStore} from '../../src/store/memory.js'
import {manualClock, tempVault} from '../helpers/vault.js'

let issuer: Issuer

beforeAll(async () => {
  const {vault} = await tempVault('https://issuer.test')
  const clock = manualClock()
  await addClient(vault, 'app', {aud: ['api'], sigAlg: 'ES256'}, new Date(clock()))
  const store = new MemoryStore()
  issuer = new Issuer(vault, async () => store, clock)
})

const activeKey = (use: 'enc' | 'sig') =>
  issuer.vault.document.clients.app.keys.find((k) => k.use === use && k.state === 'active')!.jwk as JWK
const b64 = (text: string) => Buffer.from(text).toString('base64url')

const codeOf = async (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'ok',
    (error: unknown) => {
      if (!isJwtisError(error)) throw error
      return error.code
    },
  )

describe('refresh tokens through the face', () => {
  it('reads no claim before the signature holds: a forged JWT with unparseable claims is BAD_SIGNATURE', async () => {
    const {alg, kid} = activeKey('sig')
    const forged = `${b64(JSON.stringify({alg, kid, typ: 'rt+jwt'}))}.${b64('{not json')}.${b64('x'.repeat(64))}`
    const enc = activeKey('enc')
    const token = await sealJwe(
      forged,
      {alg: 'ECDH-ES+A256KW', enc: 'A256GCM', jwk: publicJwk(enc), kid: enc.kid},
      'JWT',
    )
    expect(await codeOf(issuer.renew('app', token))).toBe('BAD_SIGNATURE')
  })

  it('renews a family whose custom claims nest as deep as a claim set may (one level more inside `cl`)', async () => {
    let deep: Record<string, unknown> = {leaf: true}
    for (let depth = 2; depth < MAX_CLAIM_DEPTH; depth++) deep = {n: deep}
    const issued = await issuer.issue('app', {aud: ['api'], custom: {deep}, refresh: true, sub: 'u1'})
    const renewed = await issuer.renew('app', issued.refresh_token!)
    expect(renewed.family).toBe(issued.family)
  })
})

describe("a token's own values in refusals", () => {
  it('are quoted on one line without terminal controls: a kid with a newline and an escape sequence', async () => {
    // found by the fuzz suite: a mutated refresh token whose kid held "\n" gave a two-line UNKNOWN_KID
    const header = Buffer.from(JSON.stringify({alg: 'A256KW', enc: 'A256GCM', kid: 'a\nb\u001B[2Jc'})).toString(
      'base64url',
    )
    const jwe = `${header}.${'A'.repeat(54)}.${'A'.repeat(16)}.AAAA.${'A'.repeat(22)}`
    const error = await decryptJwe(jwe, {keyring: issuer.keyring()}).catch((error_: unknown) => error_)
    expect(error).toMatchObject({code: 'UNKNOWN_KID'})
    const {message} = error as Error
    expect(message.includes('\n') || message.includes('\u001B')).toBe(false)
    expect(message).toContain(String.raw`a\u000ab\u001b[2Jc`)
  })
})

describe('the fast path and jose agree', () => {
  it('an access token verifies the same with the vault key (node:crypto) and its published JWK (jose)', async () => {
    const {access_token: token} = await issuer.issue('app', {aud: ['api'], custom: {n: 1}, sub: 'u1'})
    const jwks = new Keyring([{alg: 'ES256', jwk: publicJwk(activeKey('sig')), kid: activeKey('sig').kid, use: 'sig'}])
    const options = {leewayMs: 0, now: issuer.now(), typ: 'at+jwt'}
    const fast = await issuer.verify(token, {leewayMs: 0})
    const viaJose = await verifyToken(token, {...options, keyring: jwks})
    expect(viaJose.payload).toEqual(fast.payload)
    const [head, body, signature] = token.split('.')
    const flipped = `${head}.${body}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`
    expect(await codeOf(issuer.verify(flipped, {leewayMs: 0}))).toBe('BAD_SIGNATURE')
    expect(await codeOf(verifyToken(flipped, {...options, keyring: jwks}))).toBe('BAD_SIGNATURE')
  })

  it('seals with a key management the fast path lacks (A256KW to an oct key) through jose, and opens it', async () => {
    const jwk: JWK = {alg: 'A256KW', k: randomBytes(32).toString('base64url'), kid: 'kw', kty: 'oct', use: 'enc'}
    const token = await sealJwe('hello', {alg: 'A256KW', enc: 'A256GCM', jwk, kid: 'kw'})
    const keyring = new Keyring([{alg: 'A256KW', jwk: publicJwk(jwk), kid: 'kw', privateJwk: jwk, use: 'enc'}])
    const opened = await decryptJwe(token, {keyring})
    expect(new TextDecoder().decode(opened.plaintext)).toBe('hello')
    expect(opened.header).toMatchObject({alg: 'A256KW', enc: 'A256GCM', kid: 'kw'})
  })
})

describe('the algorithm table', () => {
  it("gives each key type the algorithms it served before the table (a key's default first)", () => {
    const ecdh = ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW']
    expect(algorithmsForKey('EC', 'P-384')).toEqual(['ES384', ...ecdh])
    expect(algorithmsForKey('OKP', 'Ed25519')).toEqual(['EdDSA', 'Ed25519'])
    expect(algorithmsForKey('OKP', 'X25519')).toEqual(ecdh)
    expect(algorithmsForKey('RSA')).toEqual([
      'RS256',
      'RS384',
      'RS512',
      'PS256',
      'PS384',
      'PS512',
      'RSA-OAEP',
      'RSA-OAEP-256',
      'RSA-OAEP-384',
      'RSA-OAEP-512',
    ])
    expect(algorithmsForKey('oct', undefined, 16).sort()).toEqual(['A128KW', 'A128GCMKW', 'dir'].sort())
    expect(algorithmsForKey('oct', undefined, 32).sort()).toEqual(['A256KW', 'A256GCMKW', 'HS256', 'dir'].sort())
    expect(algorithmsForKey('oct', undefined, 48)).toEqual(['HS384', 'dir'])
    expect(algorithmsForKey('oct', undefined, 65)).toEqual(['HS256', 'HS384', 'HS512', 'dir'])
    expect(algorithmsForKey('oct', undefined, 20)).toEqual(['dir'])
  })

  it('the debugger page verifies exactly the algorithms a client may sign with', () => {
    expect(SUPPORTED_ALGS).toEqual([...SIG_ALGS])
  })
})
