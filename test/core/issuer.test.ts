import {randomBytes} from 'node:crypto'
import {beforeEach, describe, expect, it} from 'vitest'

import type {SettingsInput} from '../../src/core/settings.js'
import type {TokenStore} from '../../src/store/store.js'

import {parseDuration as d} from '../../src/common/duration.js'
import {addClient, updateClient} from '../../src/core/clients.js'
import {Issuer} from '../../src/core/issuer.js'
import {rotateKeys, rotateSealKey} from '../../src/core/rotation.js'
import {encryptCompact} from '../../src/jose/compact.js'
import {decryptJwe} from '../../src/jose/jwe.js'
import {FileStore} from '../../src/store/file.js'
import {MemoryStore} from '../../src/store/memory.js'
import {manualClock, tempVault} from '../helpers/vault.js'

const kid = (t: string) => JSON.parse(Buffer.from(t.split('.')[0], 'base64url').toString()).kid
const decodePayload = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())

/** Whom the refresh tokens of the clients `setup` makes are sealed to (each suite runs under both). */
let seal: 'client' | 'issuer' = 'issuer'

async function setup(settings: SettingsInput = {}, store: (dir: string) => TokenStore = () => new MemoryStore()) {
  const {dir, vault} = await tempVault('https://issuer.test')
  const clock = manualClock()
  await addClient(
    vault,
    'app',
    {
      accessTtl: '15m',
      aud: ['app', 'https://api', 'a', 'b', 'c'],
      refreshSeal: seal,
      refreshTtl: '1h',
      sessionTtl: '24h',
      ...settings,
    },
    new Date(clock()),
  )
  const st = store(dir)
  const issuer = new Issuer(vault, async () => st, clock)
  return {clock, dir, issuer, store: st, vault}
}

const code = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: {code?: string}) => error.code,
  )

const fileStore = (dir: string) =>
  new FileStore(`${dir}/vault.age.tokens`, {storeKey: randomBytes(32).toString('base64url')})

describe.each([
  ['memory store', undefined, 'issuer'],
  ['file store', fileStore, 'issuer'],
  ['memory store', undefined, 'client'],
  ['file store', fileStore, 'client'],
] as const)('Issuer with the %s, refresh tokens sealed by the %s', (_name, store, sealedBy) => {
  beforeEach(() => {
    seal = sealedBy
  })

  describe('issue', () => {
    it('makes an at+jwt with the registered claims and a nested-JWE refresh token', async () => {
      const {clock, issuer} = await setup({}, store)
      const out = await issuer.issue('app', {
        aud: ['https://api'],
        custom: {role: 'admin'},
        refresh: true,
        sub: 'alice',
      })
      const header = JSON.parse(Buffer.from(out.access_token.split('.')[0], 'base64url').toString())
      expect(header).toMatchObject({alg: 'ES256', typ: 'at+jwt'})
      expect(decodePayload(out.access_token)).toEqual({
        aud: 'https://api',
        client_id: 'app',
        exp: Math.floor(clock() / 1000) + 900,
        iat: Math.floor(clock() / 1000),
        iss: 'https://issuer.test',
        jti: out.id,
        nbf: Math.floor(clock() / 1000),
        role: 'admin',
        sub: 'alice',
      })
      expect(out).toMatchObject({expires_in: 900, expiry: Math.floor(clock() / 1000) + 900, token_type: 'Bearer'})
      const rtHeader = JSON.parse(Buffer.from(out.refresh_token!.split('.')[0], 'base64url').toString())
      const sealedWith =
        sealedBy === 'issuer'
          ? issuer.vault.document.issuer.sealKeys![0].jwk
          : issuer.vault.document.clients.app.keys.find((k) => k.use === 'enc')!.jwk
      expect(rtHeader).toEqual({
        alg: sealedBy === 'issuer' ? 'A256KW' : 'ECDH-ES+A256KW',
        cty: 'JWT',
        enc: 'A256GCM',
        kid: sealedWith.kid,
        ...(sealedBy === 'client' ? {epk: expect.objectContaining({crv: 'P-256', kty: 'EC'})} : {}),
      })
      expect(out.refresh_token!.split('.')).toHaveLength(5)
    })
  })

  describe('renew', () => {
    it('noRefresh: a new access token with the same claims, the same refresh token back', async () => {
      const {clock, issuer} = await setup({refreshStrategy: 'noRefresh'}, store)
      const first = await issuer.issue('app', {aud: ['https://api'], custom: {role: 'x'}, refresh: true, sub: 'alice'})
      clock.advance(d('10m'))
      const renewed = await issuer.renew('app', first.refresh_token!)
      expect(renewed.refresh_token).toBe(first.refresh_token)
      const claims = decodePayload(renewed.access_token)
      expect(claims).toMatchObject({aud: 'https://api', role: 'x', sub: 'alice'})
      expect(claims.jti).not.toBe(decodePayload(first.access_token).jti)
      expect(claims.iat).toBe(Math.floor(clock() / 1000))
      // and again: noRefresh tokens are reusable until they expire
      expect((await issuer.renew('app', first.refresh_token!)).refresh_token).toBe(first.refresh_token)
    })

    it('refreshOnExpire: the same token until under 30% of its lifetime is left, then a new one', async () => {
      const {clock, issuer} = await setup({refreshStrategy: 'refreshOnExpire'}, store)
      const first = await issuer.issue('app', {custom: {}, refresh: true})
      clock.advance(d('41m')) // 19 of 60 minutes left: 31.7%
      expect((await issuer.renew('app', first.refresh_token!)).refresh_token).toBe(first.refresh_token)
      clock.advance(d('2m')) // 17 minutes left: 28%
      const second = await issuer.renew('app', first.refresh_token!)
      expect(second.refresh_token).not.toBe(first.refresh_token)
      expect(await code(issuer.renew('app', first.refresh_token!))).toBe('REFRESH_REUSED')
    })

    it('refreshBoth: always a new refresh token; reusing a spent one revokes the whole family', async () => {
      const {issuer} = await setup({refreshStrategy: 'refreshBoth'}, store)
      const t0 = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
      const t1 = (await issuer.renew('app', t0)).refresh_token!
      const t2 = (await issuer.renew('app', t1)).refresh_token!
      expect(new Set([t0, t1, t2]).size).toBe(3)
      expect(await code(issuer.renew('app', t1))).toBe('REFRESH_REUSED')
      // every later renew in that family fails, even with the newest token
      expect(await code(issuer.renew('app', t2))).toBe('TOKEN_REVOKED')
      // other families are not touched
      const other = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
      expect(await code(issuer.renew('app', other))).toBe('resolved')
    })

    it('the strategy can be overridden per call', async () => {
      const {issuer} = await setup({refreshStrategy: 'noRefresh'}, store)
      const t0 = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
      const t1 = (await issuer.renew('app', t0, {strategy: 'refreshBoth'})).refresh_token!
      expect(t1).not.toBe(t0)
      expect(await code(issuer.renew('app', t0))).toBe('REFRESH_REUSED')
    })

    it('idle lifetime: a refresh token unused for refresh-ttl expires', async () => {
      const {clock, issuer} = await setup({refreshStrategy: 'refreshBoth'}, store)
      const t0 = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
      clock.advance(d('59m'))
      const t1 = (await issuer.renew('app', t0)).refresh_token!
      clock.advance(d('59m'))
      const t2 = (await issuer.renew('app', t1)).refresh_token!
      clock.advance(d('1h') + 1000)
      expect(await code(issuer.renew('app', t2))).toBe('TOKEN_EXPIRED')
    })

    it('absolute lifetime: a family never outlives session-ttl, however often it is renewed', async () => {
      const {clock, issuer} = await setup({refreshStrategy: 'refreshBoth', sessionTtl: '3h'}, store)
      let token = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
      for (let i = 0; i < 5; i++) {
        clock.advance(d('50m'))
        const out = await issuer.renew('app', token).catch((error: {code: string}) => error.code)
        if (typeof out === 'string') {
          expect(out).toBe('TOKEN_EXPIRED')
          expect(i).toBe(3) // 4 x 50m = 200m > 3h
          return
        }

        // the new refresh token's exp is capped at the family's end
        expect(decodePayload(out.access_token).iat).toBe(Math.floor(clock() / 1000))
        token = out.refresh_token!
      }

      throw new Error('the family outlived its session-ttl')
    })

    it('refuses a refresh token of another client (WRONG_CLIENT) and garbage (MALFORMED_TOKEN)', async () => {
      const {issuer, vault} = await setup({}, store)
      await addClient(vault, 'other', {})
      const t = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
      expect(await code(issuer.renew('other', t))).toBe('WRONG_CLIENT')
      expect(await code(issuer.renew('app', 'not.a.token'))).toBe('MALFORMED_TOKEN')
      // an access token: the wrong type of token, with a hint to pass the refresh token
      expect(await code(issuer.renew('app', (await issuer.issue('app', {custom: {}})).access_token))).toBe('WRONG_TYPE')
    })
  })

  describe('revoke', () => {
    it('by token, by family, by client and by subject', async () => {
      const {clock, issuer} = await setup({}, store)
      const a = await issuer.issue('app', {custom: {}, refresh: true, sub: 'alice'})
      const b = await issuer.issue('app', {custom: {}, refresh: true, sub: 'bob'})
      const c = await issuer.issue('app', {custom: {}, refresh: true, sub: 'carol'})
      expect(await issuer.revokeRefreshToken(a.refresh_token!)).toEqual({family: a.family, revoked: true})
      expect(await code(issuer.renew('app', a.refresh_token!))).toBe('TOKEN_REVOKED')
      await issuer.revokeFamily(b.family!)
      expect(await code(issuer.renew('app', b.refresh_token!))).toBe('TOKEN_REVOKED')
      expect(await code(issuer.revokeFamily('no-such-family'))).toBe('FAMILY_NOT_FOUND')
      clock.advance(1000)
      await issuer.revokeSubject('app', 'carol')
      expect(await code(issuer.renew('app', c.refresh_token!))).toBe('TOKEN_REVOKED')
      clock.advance(1000)
      const later = await issuer.issue('app', {custom: {}, refresh: true, sub: 'carol'})
      expect(await code(issuer.renew('app', later.refresh_token!))).toBe('resolved') // cut-off is not a ban
      const d1 = await issuer.issue('app', {custom: {}, refresh: true, sub: 'dave'})
      clock.advance(1000)
      await issuer.revokeSubject('app')
      expect(await code(issuer.renew('app', d1.refresh_token!))).toBe('TOKEN_REVOKED')
      expect(await code(issuer.revokeSubject('nobody'))).toBe('CLIENT_NOT_FOUND')
    })
  })

  describe('key rotation', () => {
    it('old tokens verify and old refresh tokens renew during the grace; after it, UNKNOWN_KID', async () => {
      const {clock, issuer, vault} = await setup({refreshStrategy: 'noRefresh'}, store)
      const before = await issuer.issue('app', {custom: {}, refresh: true})
      const oldKid = JSON.parse(Buffer.from(before.access_token.split('.')[0], 'base64url').toString()).kid
      const rotated = await rotateKeys(vault, ['app'], ['sig', 'enc'], {graceMs: d('2h'), now: clock()})
      expect(rotated.map((r) => r.retired)).toContain(oldKid)
      const after = await issuer.issue('app', {custom: {}})
      const newKid = JSON.parse(Buffer.from(after.access_token.split('.')[0], 'base64url').toString()).kid
      expect(newKid).not.toBe(oldKid)
      expect((await issuer.verify(before.access_token, {leewayMs: 0})).header.kid).toBe(oldKid)
      clock.advance(d('30m'))
      expect(await code(issuer.renew('app', before.refresh_token!))).toBe('resolved')
      clock.advance(d('90m') + 1)
      expect(await code(issuer.verify(after.access_token, {leewayMs: d('2h')}))).toBe('resolved')
      expect(await code(issuer.verify(before.access_token, {leewayMs: d('3h')}))).toBe('UNKNOWN_KID')
      expect(await code(issuer.renew('app', before.refresh_token!))).toBe('UNKNOWN_KID')
    })

    it("a refresh token whose signing key is gone (its sealing key still current) is UNKNOWN_KID, not another client's", async () => {
      const {clock, issuer, vault} = await setup({refreshStrategy: 'noRefresh'}, store)
      const before = await issuer.issue('app', {custom: {}, refresh: true})
      await rotateKeys(vault, ['app'], ['sig'], {graceMs: d('1h'), now: clock()})
      clock.advance(d('1h') + 1)
      expect(await code(issuer.renew('app', before.refresh_token!))).toBe('UNKNOWN_KID')
    })

    it('keys past key-ttl rotate on their next use', async () => {
      const {clock, issuer, vault} = await setup({keyTtl: '24h'}, store)
      const first = await issuer.issue('app', {custom: {}})
      clock.advance(d('25h'))
      const second = await issuer.issue('app', {custom: {}})
      expect(kid(second.access_token)).not.toBe(kid(first.access_token))
      const states = vault.document.clients.app.keys.map((k) => `${k.use}:${k.state}`).sort()
      expect(states).toEqual(['enc:active', 'enc:retired', 'sig:active', 'sig:retired'])
    })
  })
})

describe('the scope claim', () => {
  it('from a client registered with scopes names only those; a client without any sets its own', async () => {
    const {issuer, vault} = await setup({redirectUris: ['https://app.test/cb'], scopes: ['read', 'write']})
    const scope = async (value: unknown) => {
      const {access_token: token} = await issuer.issue('app', {custom: {scope: value}})
      return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).scope
    }

    expect(await scope('read write')).toBe('read write')
    expect(await scope('openid read')).toBe('openid read')
    for (const refused of ['admin', 'read admin', ['read'], 'read "x"'])
      expect(await code(issuer.issue('app', {custom: {scope: refused}})), JSON.stringify(refused)).toBe(
        'SCOPE_NOT_ALLOWED',
      )
    const error = await issuer.issue('app', {custom: {scope: 'read admin'}}).catch((error_: Error) => error_)
    expect((error as Error).message).toMatch(/scope admin .*registered for scope read write/)
    // the same rule as the token endpoint: `openid` only with a redirect URI
    await addClient(vault, 'svc', {scopes: ['read']})
    expect(await code(issuer.issue('svc', {custom: {scope: 'openid'}}))).toBe('SCOPE_NOT_ALLOWED')
    await addClient(vault, 'legacy', {})
    const legacy = await issuer.issue('legacy', {custom: {scope: 'anything at all'}})
    expect(JSON.parse(Buffer.from(legacy.access_token.split('.')[1], 'base64url').toString()).scope).toBe(
      'anything at all',
    )
  })
})

describe('verify', () => {
  let ctx: Awaited<ReturnType<typeof setup>>

  beforeEach(async () => {
    ctx = await setup()
  })

  it('checks aud, iss, sub, leeway and max-age with reason codes', async () => {
    const {clock, issuer} = ctx
    const t = (await issuer.issue('app', {aud: ['a', 'b'], custom: {}, sub: 's'})).access_token
    expect(
      await code(issuer.verify(t, {audience: ['b'], issuer: 'https://issuer.test', leewayMs: 0, subject: 's'})),
    ).toBe('resolved')
    expect(await code(issuer.verify(t, {audience: ['c'], leewayMs: 0}))).toBe('AUDIENCE_MISMATCH')
    expect(await code(issuer.issue('app', {aud: ['elsewhere'], custom: {}}))).toBe('AUDIENCE_NOT_ALLOWED')
    expect(await code(issuer.verify(t, {issuer: 'other', leewayMs: 0}))).toBe('ISSUER_MISMATCH')
    expect(await code(issuer.verify(t, {leewayMs: 0, subject: 'x'}))).toBe('SUBJECT_MISMATCH')
    clock.advance(d('6m'))
    expect(await code(issuer.verify(t, {leewayMs: 0, maxAgeMs: d('10m')}))).toBe('resolved')
    expect(await code(issuer.verify(t, {leewayMs: 0, maxAgeMs: d('5m')}))).toBe('TOKEN_TOO_OLD')
    clock.advance(d('9m') + d('20s'))
    expect(await code(issuer.verify(t, {leewayMs: d('30s')}))).toBe('resolved')
    expect(await code(issuer.verify(t, {leewayMs: d('10s')}))).toBe('TOKEN_EXPIRED')
  })

  it('refuses the inside of a refresh token presented as an access token', async () => {
    const {issuer} = ctx
    const rt = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
    const {decryptJwe} = await import('../../src/jose/jwe.js')
    const inner = new TextDecoder().decode((await decryptJwe(rt, {keyring: issuer.keyring()})).plaintext)
    expect(await code(issuer.verify(inner, {leewayMs: 0}))).toBe('WRONG_TYPE')
    // inside its JWE too: only a caller asking for rt+jwt gets it
    expect(await code(issuer.verify(rt, {leewayMs: 0}))).toBe('WRONG_TYPE')
    expect((await issuer.verify(rt, {leewayMs: 0, typ: 'rt+jwt'})).header.typ).toBe('rt+jwt')
  })
})

const header = (t: string) => JSON.parse(Buffer.from(t.split('.')[0], 'base64url').toString())

describe('refresh_seal', () => {
  it('a client switched from one sealing to the other still renews every refresh token it was issued', async () => {
    seal = 'client'
    const {issuer, vault} = await setup({refreshStrategy: 'noRefresh'})
    const old = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
    expect(header(old).alg).toBe('ECDH-ES+A256KW')
    expect(vault.document.issuer.sealKeys).toBeUndefined() // no client needed one yet
    await updateClient(vault, 'app', {refreshSeal: 'issuer'})
    expect(vault.document.issuer.sealKeys).toHaveLength(1) // made by the write that needs it
    const next = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
    expect(header(next)).toMatchObject({alg: 'A256KW', kid: vault.document.issuer.sealKeys![0].jwk.kid})
    expect(await code(issuer.renew('app', old))).toBe('resolved')
    expect(await code(issuer.renew('app', next))).toBe('resolved')
    await updateClient(vault, 'app', {refreshSeal: 'client'})
    expect(await code(issuer.renew('app', next))).toBe('resolved')
    // refreshBoth replaces a token with one sealed as the client's setting says now
    expect(header((await issuer.renew('app', next, {strategy: 'refreshBoth'})).refresh_token!).alg).toBe(
      'ECDH-ES+A256KW',
    )
  })

  it("rotating the issuer's key: its old key opens the tokens it sealed until its grace ends", async () => {
    seal = 'issuer'
    const {clock, issuer, vault} = await setup({refreshStrategy: 'noRefresh', refreshTtl: '24h', sessionTtl: '24h'})
    const before = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
    const rotated = await rotateSealKey(vault, {now: clock()})
    expect(rotated).toMatchObject({client: null, retired: header(before).kid, use: 'enc'})
    // default grace: the longest session-ttl of any client or the defaults (720h), plus the leeway
    expect(Date.parse(rotated!.retire_after!) - clock()).toBe(d('720h') + d('30s'))
    const after = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
    expect(header(after).kid).toBe(rotated!.kid)
    await rotateSealKey(vault, {graceMs: d('2h'), now: clock()}) // retires the new one for 2h, the first stays
    clock.advance(d('2h') + 1)
    expect(await code(issuer.renew('app', before))).toBe('resolved')
    expect(await code(issuer.renew('app', after))).toBe('UNKNOWN_KID')
  })

  it("the issuer's key rotates on use past the defaults' key-ttl, and a vault switched to issuer sealing gets one", async () => {
    seal = 'client'
    const {clock, issuer, vault} = await setup({refreshSeal: undefined})
    await vault.update((doc) => {
      delete doc.issuer.defaults.refreshSeal // a vault made before refresh_seal existed
    })
    await addClient(vault, 'old', {}, new Date(clock()))
    expect(header((await issuer.issue('old', {custom: {}, refresh: true})).refresh_token!).alg).toBe('ECDH-ES+A256KW')
    await vault.update((doc) => {
      doc.issuer.defaults.refreshSeal = 'issuer'
    })
    const first = (await issuer.issue('old', {custom: {}, refresh: true})).refresh_token!
    expect(header(first)).toMatchObject({alg: 'A256KW', kid: vault.document.issuer.sealKeys![0].jwk.kid})
    clock.advance(d('4320h'))
    const second = (await issuer.issue('old', {custom: {}, refresh: true})).refresh_token!
    expect(header(second).kid).not.toBe(header(first).kid)
    expect(vault.document.issuer.sealKeys!.map((k) => k.state)).toEqual(['retired', 'active'])
  })

  it("refuses a JWE naming the issuer's key with another algorithm, or sealed under another key", async () => {
    seal = 'issuer'
    const {issuer, vault} = await setup()
    const token = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
    const {kid: sealKid} = vault.document.issuer.sealKeys![0].jwk
    const inner = new TextDecoder().decode((await decryptJwe(token, {keyring: issuer.keyring()})).plaintext)
    const as = (alg: string, key: Buffer) => encryptCompact(inner, {alg, cty: 'JWT', enc: 'A256GCM', kid: sealKid}, key)
    expect(await code(issuer.renew('app', as('A256KW', randomBytes(32))))).toBe('DECRYPT_FAILED')
    expect(await code(issuer.renew('app', as('A128KW', randomBytes(16))))).toBe('ALG_NOT_ALLOWED')
    // the same inner token sealed again under the real key is accepted: only the key and alg differed
    const real = Buffer.from(vault.document.issuer.sealKeys![0].jwk.k!, 'base64url')
    expect(await code(issuer.renew('app', as('A256KW', real)))).toBe('resolved')
  })

  it('jose opens what the node:crypto path seals under the issuer key, and the other way round', async () => {
    seal = 'issuer'
    const {issuer, vault} = await setup()
    const token = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token!
    const {jwk} = vault.document.issuer.sealKeys![0]
    const {compactDecrypt, CompactEncrypt} = await import('jose')
    const key = Buffer.from(jwk.k!, 'base64url')
    const {plaintext, protectedHeader} = await compactDecrypt(token, key)
    expect(protectedHeader).toMatchObject({alg: 'A256KW', cty: 'JWT', enc: 'A256GCM', kid: jwk.kid})
    const again = await new CompactEncrypt(plaintext)
      .setProtectedHeader({alg: 'A256KW', cty: 'JWT', enc: 'A256GCM', kid: jwk.kid})
      .encrypt(key)
    expect(await code(issuer.renew('app', again))).toBe('resolved')
  })
})
