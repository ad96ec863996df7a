/**
 * The debugger page's verification (WebCrypto, the same module the browser runs) against jose:
 * what jose signs verifies here, with the key chosen the way `token verify` chooses it, and every
 * refusal carries `token verify`'s reason code.
 */
import {exportJWK, generateKeyPair, generateSecret, SignJWT} from 'jose'
import {describe, expect, it} from 'vitest'

import {checkClaims, decode, encodeUnsigned, parseClaims} from '../../src/debugger/inspect.js'
import {
  chooseKey,
  type KeyInfo,
  parsePastedKey,
  pastedSigningKey,
  signCompact,
  SUPPORTED_ALGS,
  verifySignature,
} from '../../src/jose/webcrypto.js'

const now = Date.parse('2026-06-01T00:00:00Z')
const at = now / 1000

async function signed(alg: string, claims: Record<string, unknown> = {}) {
  const hmac = alg.startsWith('HS')
  const pair = hmac ? undefined : await generateKeyPair(alg, {extractable: true})
  const secret = hmac ? await generateSecret(alg, {extractable: true}) : undefined
  const key = pair?.privateKey ?? secret!
  const publicJwk = await exportJWK(pair?.publicKey ?? secret!)
  const token = await new SignJWT({exp: at + 600, iat: at, sub: 'alice', ...claims})
    .setProtectedHeader({alg, kid: 'k1', typ: 'at+jwt'})
    .sign(key)
  return {jwk: {...publicJwk, alg, kid: 'k1', use: 'sig'}, token}
}

const jws = (token: string) => {
  const d = decode(token)
  if (d.kind !== 'jws') throw new Error(`not a JWS: ${JSON.stringify(d)}`)
  return d
}

describe('debugger: signatures checked with WebCrypto', () => {
  it.each(SUPPORTED_ALGS)('%s: what jose signs verifies; one flipped bit does not', async (alg) => {
    const {jwk, token} = await signed(alg)
    const keys: KeyInfo[] = [{client: 'app', jwk, source: 'jwks', state: 'active'}]
    const decoded = jws(token)
    const {finding, key} = chooseKey(decoded.header, keys)
    expect(finding.ok).toBe(true)
    expect(await verifySignature(decoded, key!)).toMatchObject({ok: true})

    const [h, p, s] = token.split('.')
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString())
    const forged = `${h}.${Buffer.from(JSON.stringify({...claims, sub: 'mallory'})).toString('base64url')}.${s}`
    expect(await verifySignature(jws(forged), key!)).toMatchObject({code: 'BAD_SIGNATURE', ok: false})
    const sig = Buffer.from(s, 'base64url')
    sig[0] ^= 1
    expect(await verifySignature(jws(`${h}.${p}.${sig.toString('base64url')}`), key!)).toMatchObject({
      code: 'BAD_SIGNATURE',
    })
  })

  it('refuses what token verify refuses, with its codes', async () => {
    const {jwk, token} = await signed('ES256')
    const keys: KeyInfo[] = [{jwk, source: 'jwks'}]
    const {header} = jws(token)
    for (const alg of ['none', 'None', 'NONE'])
      expect(chooseKey({...header, alg}, keys).finding).toMatchObject({code: 'ALG_NOT_ALLOWED'})
    // an HMAC alg with a public key (the key confusion attack), another alg than the key's
    expect(chooseKey({...header, alg: 'HS256'}, keys).finding).toMatchObject({code: 'ALG_NOT_ALLOWED'})
    expect(chooseKey({...header, alg: 'ES384'}, keys).finding).toMatchObject({code: 'ALG_NOT_ALLOWED'})
    expect(chooseKey({...header, crit: ['b64']}, keys).finding).toMatchObject({code: 'UNSUPPORTED_CRIT'})
    expect(chooseKey({...header, kid: 'other'}, keys).finding).toMatchObject({code: 'UNKNOWN_KID'})
    expect(decode('a.b')).toMatchObject({error: {code: 'MALFORMED_TOKEN'}, kind: 'invalid'})
    expect(decode('x'.repeat(70_000))).toMatchObject({error: {code: 'TOKEN_TOO_LARGE'}})
    expect(decode('!!.e30.')).toMatchObject({error: {code: 'MALFORMED_TOKEN'}})
    // pasted as people paste it
    expect(decode(`Bearer ${token}`).kind).toBe('jws')
    expect(decode(`"${token}"`).kind).toBe('jws')
  })

  it('claim checks: expired (and when), not yet valid, issued in the future, iss and aud with the values', () => {
    const base = {aud: 'api', exp: at + 60, iat: at - 10, iss: 'https://issuer.test', nbf: at - 10}
    expect(checkClaims(base, {audience: ['api'], issuer: 'https://issuer.test', now}).every((f) => f.ok)).toBe(true)
    const expired = checkClaims({...base, exp: at - 3 * 3600}, {now}).find((f) => f.name === 'exp')!
    expect(expired).toMatchObject({code: 'TOKEN_EXPIRED', ok: false})
    expect(expired.message).toBe('the token expired at 2026-05-31T21:00:00.000Z (3 hours ago), with 30s leeway')
    // within the 30 s leeway
    expect(checkClaims({...base, exp: at - 20}, {now}).find((f) => f.name === 'exp')!.ok).toBe(true)
    expect(checkClaims({...base, nbf: at + 120}, {now}).find((f) => !f.ok)).toMatchObject({
      code: 'TOKEN_NOT_YET_VALID',
    })
    expect(checkClaims({...base, iat: at + 120}, {now}).find((f) => !f.ok)).toMatchObject({
      code: 'TOKEN_NOT_YET_VALID',
    })
    expect(checkClaims(base, {issuer: 'https://other', now}).find((f) => !f.ok)).toMatchObject({
      code: 'ISSUER_MISMATCH',
      message: 'the token was issued by "https://issuer.test", expected "https://other"',
    })
    expect(checkClaims(base, {audience: ['web'], now}).find((f) => !f.ok)).toMatchObject({
      code: 'AUDIENCE_MISMATCH',
      message: 'the token is for audience "api", expected "web"',
    })
    const noExp: Record<string, unknown> = {...base}
    delete noExp.exp
    expect(checkClaims(noExp, {now}).find((f) => !f.ok)).toMatchObject({code: 'CLAIM_INVALID'})
  })

  it('a pasted key: JWK (private members dropped), JWKS, or SPKI PEM', async () => {
    const {privateKey, publicKey} = await generateKeyPair('ES256', {extractable: true})
    const priv = await exportJWK(privateKey)
    const [fromPrivate] = await parsePastedKey(JSON.stringify(priv), 'ES256')
    expect(fromPrivate.jwk.d).toBeUndefined()
    const token = await new SignJWT({exp: at + 60}).setProtectedHeader({alg: 'ES256'}).sign(privateKey)
    const decoded = jws(token)
    const {key} = chooseKey(decoded.header, [fromPrivate])
    expect(await verifySignature(decoded, key!)).toMatchObject({ok: true})

    const {exportSPKI} = await import('jose')
    const [fromPem] = await parsePastedKey(await exportSPKI(publicKey), 'ES256')
    expect(await verifySignature(decoded, fromPem)).toMatchObject({ok: true})
    const jwks = await parsePastedKey(
      JSON.stringify({keys: [await exportJWK(publicKey), {k: 'AA', kty: 'oct'}]}),
      'ES256',
    )
    expect(jwks).toHaveLength(2)
    // a private PEM (PKCS #8) verifies as its public half; other PEM blocks are named
    const {exportPKCS8} = await import('jose')
    const [fromPrivatePem] = await parsePastedKey(await exportPKCS8(privateKey), 'ES256')
    expect(fromPrivatePem.jwk.d).toBeUndefined()
    expect(await verifySignature(decoded, fromPrivatePem)).toMatchObject({ok: true})
    await expect(
      parsePastedKey('-----BEGIN EC PRIVATE KEY-----\nAA\n-----END EC PRIVATE KEY-----', 'ES256'),
    ).rejects.toThrow(/"PRIVATE KEY" \(PKCS #8\)/)
    await expect(parsePastedKey('-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----', 'ES256')).rejects.toThrow(
      /the PEM private key is not one for ES256/,
    )
  })

  it('HMAC: a secret pasted as text verifies (one final newline dropped, as token sign reads it); not for other algs', async () => {
    const secret = 'correct horse battery staple, 32+'
    const token = await new SignJWT({exp: at + 60})
      .setProtectedHeader({alg: 'HS256', kid: 'web-hs'})
      .sign(new TextEncoder().encode(secret))
    const decoded = jws(token)
    const keys = await parsePastedKey(`${secret}\n`, 'HS256')
    expect(keys).toMatchObject([{secret: true, source: 'pasted'}])
    const {finding, key} = chooseKey(decoded.header, keys)
    expect(finding.ok).toBe(true)
    expect(await verifySignature(decoded, key!)).toMatchObject({ok: true})
    const [wrong] = await parsePastedKey('another secret, 32 bytes or more', 'HS256')
    expect(await verifySignature(decoded, wrong)).toMatchObject({code: 'BAD_SIGNATURE'})
    await expect(parsePastedKey(secret, 'ES256')).rejects.toThrow(/an HS token takes the secret as text/)
  })
})

describe('debugger: edited claims signed in the page', () => {
  const header = {alg: 'ES256', kid: 'k1', typ: 'at+jwt'}
  const claims = {exp: at + 60, role: 'admin', sub: 'alice'}

  it.each(SUPPORTED_ALGS)('%s: a private JWK signs what the public key (and jose) verify', async (alg) => {
    const {exportJWK: toJwk, jwtVerify} = await import('jose')
    const hmac = alg.startsWith('HS')
    const pair = hmac ? undefined : await generateKeyPair(alg, {extractable: true})
    const secret = hmac ? await generateSecret(alg, {extractable: true}) : undefined
    const privateJwk = await toJwk(pair?.privateKey ?? secret!)
    const token = await signCompact({alg, kid: 'k1'}, claims, await pastedSigningKey(JSON.stringify(privateJwk), {alg}))
    const [verifyWith] = await parsePastedKey(JSON.stringify(privateJwk), alg)
    expect(await verifySignature(jws(token), verifyWith)).toMatchObject({ok: true})
    const {payload} = await jwtVerify(token, pair?.publicKey ?? secret!, {currentDate: new Date(now)})
    expect(payload).toMatchObject(claims)
  })

  it('a PKCS #8 PEM, an oct JWK with no alg and a secret as text sign; a public key or a short secret does not', async () => {
    const {exportPKCS8, exportSPKI} = await import('jose')
    const {privateKey, publicKey} = await generateKeyPair('ES256', {extractable: true})
    const signed = await signCompact(header, claims, await pastedSigningKey(await exportPKCS8(privateKey), header))
    expect(
      await verifySignature(jws(signed), (await parsePastedKey(await exportSPKI(publicKey), 'ES256'))[0]),
    ).toMatchObject({ok: true})
    await expect(pastedSigningKey(await exportSPKI(publicKey), header)).rejects.toThrow(/that is a public key/)
    await expect(pastedSigningKey(JSON.stringify(await exportJWK(publicKey)), header)).rejects.toThrow(
      /that is a public key/,
    )

    const hs = {alg: 'HS256', kid: 'web-hs'}
    const secret = 'a text secret of at least 32 bytes!'
    const fromText = await signCompact(hs, claims, await pastedSigningKey(secret, hs))
    const octJwk = {k: Buffer.from(secret).toString('base64url'), kty: 'oct'}
    expect(await signCompact(hs, claims, await pastedSigningKey(JSON.stringify(octJwk), hs))).toBe(fromText)
    expect(await verifySignature(jws(fromText), (await parsePastedKey(secret, 'HS256'))[0])).toMatchObject({ok: true})
    await expect(pastedSigningKey('too short', hs)).rejects.toThrow(
      /an HS256 secret needs at least 32 bytes; this one has 9/,
    )
    await expect(pastedSigningKey(secret, header)).rejects.toThrow(/ES256 signs with a private key/)
  })
})

describe('debugger: the claims box', () => {
  it.each([
    ['{"sub":1', "line 1, column 9: Expected ',' or '}' after property value"],
    ['{\n  "a": 1,\n  "b": x\n}', "line 3, column 8: Unexpected token 'x'"],
    ['{"a":tru}', "line 1, column 9: Unexpected token '}'"],
    ['{"a":1}}', 'line 1, column 8: Unexpected non-whitespace character after JSON'],
    ['', 'line 1, column 1: Unexpected end of JSON input'],
  ])('%j: the parse error with its line and column', (text, error) => {
    expect(parseClaims(text)).toEqual({error})
  })

  it('an object is read; anything else is named', () => {
    expect(parseClaims('{"sub": "alice"}')).toEqual({claims: {sub: 'alice'}})
    expect(parseClaims('[1]')).toEqual({error: 'the claims must be a JSON object ({…})'})
  })

  it('an edited token is re-encoded with no signature, which verifies nowhere', async () => {
    const {jwk, token} = await signed('ES256')
    const decoded = jws(token)
    const edited = encodeUnsigned(decoded.header, {...decoded.payload, sub: 'root'})
    expect(edited.endsWith('.')).toBe(true)
    const again = jws(edited)
    expect(again.payload?.sub).toBe('root')
    expect(await verifySignature(again, {jwk, source: 'jwks'})).toMatchObject({code: 'BAD_SIGNATURE'})
  })
})
