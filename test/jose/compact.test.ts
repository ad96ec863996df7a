/**
 * The node:crypto JOSE path (src/core/compact.ts) checked against jose both ways for every
 * algorithm it handles, and against jwcrypto for JWEs jwcrypto makes.
 */
import {
  compactDecrypt,
  CompactEncrypt,
  compactVerify,
  exportJWK,
  generateKeyPair,
  generateSecret,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose'
import {spawnSync} from 'node:child_process'
import {createECDH, type KeyObject, randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'

import {ENC_ALGS, ENCS, SIG_ALGS} from '../../src/jose/algorithms.js'
import {
  agreementWith,
  decryptCompact,
  encodedHeader,
  encryptCompact,
  keyFor,
  signCompact,
  verifyBytes,
} from '../../src/jose/compact.js'
import {hasTool, PYTHON} from '../helpers/cli.js'
import {ephemeralFor, sealByHand} from '../helpers/jwe.js'
import {hasPythonJose, python} from '../helpers/tools.js'

const CURVES = ['P-256', 'P-384', 'P-521', 'X25519']

async function privateJwk(alg: string, crv?: string) {
  if (alg.startsWith('HS'))
    return {...(await exportJWK(await generateSecret(alg, {extractable: true}))), kid: `k-${alg}`}
  const {privateKey} = await generateKeyPair(alg, {crv, extractable: true, modulusLength: 2048})
  return {...(await exportJWK(privateKey)), kid: `k-${alg}-${crv ?? ''}-${randomBytes(4).toString('hex')}`}
}

const joseAlg = (alg: string) => (alg === 'EdDSA' ? 'Ed25519' : alg)

describe('JWS on node:crypto', () => {
  it.each(SIG_ALGS)('%s: its tokens verify with jose, and jose tokens verify with it', async (alg) => {
    const jwk = await privateJwk(alg)
    const payload = {aud: 'x', n: 1, sub: 'alice'}
    const header = {alg, kid: jwk.kid, typ: 'at+jwt'}
    const fast = signCompact(encodedHeader(header), payload, alg, keyFor(jwk, 'private'))
    const publicKey = await importJWK(alg.startsWith('HS') ? jwk : {...jwk, d: undefined}, joseAlg(alg))
    const verified = await compactVerify(fast, publicKey, {algorithms: [alg]})
    expect(JSON.parse(new TextDecoder().decode(verified.payload))).toEqual(payload)
    expect(verified.protectedHeader).toEqual(header)

    const theirs = await new SignJWT(payload).setProtectedHeader(header).sign(await importJWK(jwk, joseAlg(alg)))
    const [h, p, s] = theirs.split('.')
    const key = keyFor(jwk, 'public')
    expect(verifyBytes(alg, Buffer.from(`${h}.${p}`), Buffer.from(s, 'base64url'), key)).toBe(true)
    // and any change to the signed bytes or the signature fails
    expect(verifyBytes(alg, Buffer.from(`${h}.${p}x`), Buffer.from(s, 'base64url'), key)).toBe(false)
    const flipped = Buffer.from(s, 'base64url')
    flipped[0] ^= 1
    expect(verifyBytes(alg, Buffer.from(`${h}.${p}`), flipped, key)).toBe(false)
  })
})

const combos = [
  ...ENC_ALGS.filter((a) => a.startsWith('ECDH')).flatMap((alg) =>
    CURVES.flatMap((crv) => ENCS.map((enc) => [alg, crv, enc])),
  ),
  ...ENC_ALGS.filter((a) => a.startsWith('RSA')).flatMap((alg) => ENCS.map((enc) => [alg, 'RSA', enc])),
]

describe('JWE on node:crypto', () => {
  it.each(combos)(
    '%s (%s) %s: jose opens its JWEs, it opens jose JWEs, and refuses altered ones',
    async (alg, crv, enc) => {
      const jwk = await privateJwk(alg, crv === 'RSA' ? undefined : crv)
      const publicKey = keyFor(jwk, 'public') as KeyObject
      const privateKey = keyFor(jwk, 'private') as KeyObject
      const plaintext = `plain ${alg} ${enc} ${randomBytes(8).toString('hex')}`
      const header = {alg, cty: 'JWT', enc, kid: jwk.kid}

      const fast = encryptCompact(plaintext, header, publicKey)
      const opened = await compactDecrypt(fast, await importJWK(jwk, alg), {keyManagementAlgorithms: [alg]})
      expect(new TextDecoder().decode(opened.plaintext)).toBe(plaintext)
      // the header members jose would write, and an epk for ECDH-ES
      expect(Object.keys(opened.protectedHeader).sort()).toEqual(
        alg.startsWith('ECDH') ? ['alg', 'cty', 'enc', 'epk', 'kid'] : ['alg', 'cty', 'enc', 'kid'],
      )

      const theirs = await new CompactEncrypt(new TextEncoder().encode(plaintext))
        .setProtectedHeader(header)
        .encrypt(
          await importJWK(
            {...jwk, d: undefined, dp: undefined, dq: undefined, p: undefined, q: undefined, qi: undefined},
            alg,
          ),
        )
      const parts = theirs.split('.')
      const theirHeader = JSON.parse(Buffer.from(parts[0], 'base64url').toString())
      expect(decryptCompact(parts, theirHeader, privateKey)?.toString()).toBe(plaintext)

      // an altered ciphertext, tag, iv or header fails as one undefined
      for (const i of [0, 2, 3, 4]) {
        const altered = [...parts]
        const bytes = Buffer.from(altered[i], 'base64url')
        bytes[bytes.length - 1] ^= 1
        altered[i] = bytes.toString('base64url')
        expect(decryptCompact(altered, theirHeader, privateKey), `part ${i}`).toBeUndefined()
      }
    },
  )

  const HAS_PY = hasPythonJose() || hasTool('false', [], 'the jwcrypto cross-check of the node:crypto JWE path')
  it.skipIf(!HAS_PY).each(ENC_ALGS)('%s: opens the JWEs jwcrypto makes', async (alg) => {
    const jwk = await privateJwk(alg, alg.startsWith('ECDH') ? 'P-256' : undefined)
    const {made} = python<{made: Array<{enc: string; jwe: string}>}>('jwe.py', {
      clients: [{alg, enc: 'A256GCM', enc_jwk: jwk, name: 'c', refresh_token: '', sig_jwk: {}}],
      plaintext: 'from jwcrypto',
    })
    expect(made).toHaveLength(3)
    for (const {jwe} of made) {
      const parts = jwe.split('.')
      const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString())
      expect(decryptCompact(parts, header, keyFor(jwk, 'private') as KeyObject)?.toString()).toBe('from jwcrypto')
    }
  })
})

const ECDH_ALGS = ENC_ALGS.filter((a) => a.startsWith('ECDH'))
const apu = Buffer.from('Alice')
const apv = Buffer.from('Bob')
const HAS_JWCRYPTO = hasPythonJose() || hasTool('false', [], 'the jwcrypto cross-check of apu/apv')

/** jwcrypto, inline: a JWE with `header` to `jwk` (public), or the plaintext of `jwe` opened with `jwk`. */
function jwcrypto(input: {header?: Record<string, unknown>; jwe?: string; jwk: JWK; plaintext?: string}): string {
  const script = `
import json, sys
from jwcrypto import jwe, jwk
job = json.load(sys.stdin)
key = jwk.JWK(**job["jwk"])
if "jwe" in job:
    e = jwe.JWE()
    e.deserialize(job["jwe"], key=key)
    print(e.payload.decode())
else:
    e = jwe.JWE(job["plaintext"].encode(), json.dumps(job["header"]))
    e.add_recipient(key)
    print(e.serialize(compact=True))
`
  const out = spawnSync(PYTHON, ['-c', script], {encoding: 'utf8', input: JSON.stringify(input)})
  if (out.status !== 0) throw new Error(`jwcrypto: ${out.stderr}`)
  return out.stdout.trim()
}

describe('ECDH-ES: apu and apv are part of the key derivation (RFC 7518 §4.6.2)', () => {
  it.each(ECDH_ALGS.flatMap((alg) => ['P-256', 'X25519'].map((crv) => [alg, crv])))(
    '%s (%s): JWEs with apu/apv open both ways with jose; one that names them but derived without them does not',
    async (alg, crv) => {
      const jwk = await privateJwk(alg, crv)
      const publicKey = keyFor(jwk, 'public') as KeyObject
      const privateKey = keyFor(jwk, 'private') as KeyObject
      const enc = 'A256GCM'
      const party = {apu: apu.toString('base64url'), apv: apv.toString('base64url')}

      const theirs = await new CompactEncrypt(new TextEncoder().encode('from jose'))
        .setProtectedHeader({alg, enc})
        .setKeyManagementParameters({apu, apv})
        .encrypt(await importJWK({...jwk, d: undefined}, alg))
      const parts = theirs.split('.')
      const theirHeader = JSON.parse(Buffer.from(parts[0], 'base64url').toString())
      expect(theirHeader).toMatchObject(party)
      expect(decryptCompact(parts, theirHeader, privateKey)?.toString()).toBe('from jose')

      const ours = encryptCompact('from jwtis', {alg, enc, ...party}, publicKey)
      const opened = await compactDecrypt(ours, await importJWK(jwk, alg), {keyManagementAlgorithms: [alg]})
      expect(new TextDecoder().decode(opened.plaintext)).toBe('from jwtis')

      // The same header, the key derived with the party info it names, and without it.
      const {epk, z} = ephemeralFor(publicKey)
      const header = {alg, enc, epk: {...epk, d: undefined}, ...party}
      const honest = sealByHand('derived with apu/apv', {alg, apu, apv, enc, header, z})
      expect(decryptCompact(honest.split('.'), header, privateKey)?.toString()).toBe('derived with apu/apv')
      const ignoring = sealByHand('derived without', {alg, enc, header, z})
      expect(decryptCompact(ignoring.split('.'), header, privateKey)).toBeUndefined()
      await expect(compactDecrypt(ignoring, await importJWK(jwk, alg))).rejects.toThrow()
    },
  )

  it.skipIf(!HAS_JWCRYPTO).each(ECDH_ALGS)('%s: JWEs with apu/apv open both ways with jwcrypto', async (alg) => {
    const jwk = await privateJwk(alg, 'P-256')
    const party = {apu: apu.toString('base64url'), apv: apv.toString('base64url')}
    const theirs = jwcrypto({
      header: {alg, enc: 'A128GCM', ...party},
      jwk: {...jwk, d: undefined},
      plaintext: 'from jwcrypto',
    })
    const parts = theirs.split('.')
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString())
    expect(header).toMatchObject(party)
    expect(decryptCompact(parts, header, keyFor(jwk, 'private') as KeyObject)?.toString()).toBe('from jwcrypto')

    const ours = encryptCompact('from jwtis', {alg, enc: 'A128GCM', ...party}, keyFor(jwk, 'public') as KeyObject)
    expect(jwcrypto({jwe: ours, jwk})).toBe('from jwtis')
  })
})

const NIST = [
  ['P-256', 'prime256v1', 32],
  ['P-384', 'secp384r1', 48],
  ['P-521', 'secp521r1', 66],
] as const

/** Points of the right size that are not on the curve: one bit of y off, y = x, zero, and x = 2^n - 1 (≥ p). */
function offCurve(point: Buffer, bytes: number): Buffer[] {
  const x = point.subarray(1, 1 + bytes)
  const flipped = Buffer.from(point)
  flipped[flipped.length - 1] ^= 1
  return [
    flipped,
    Buffer.concat([Buffer.from([4]), x, x]),
    Buffer.concat([Buffer.from([4]), Buffer.alloc(2 * bytes)]),
    Buffer.concat([Buffer.from([4]), Buffer.alloc(bytes, 0xff), point.subarray(1 + bytes)]),
  ]
}

const asEpk = (crv: string, point: Buffer, bytes: number) => ({
  crv,
  kty: 'EC',
  x: point.subarray(1, 1 + bytes).toString('base64url'),
  y: point.subarray(1 + bytes).toString('base64url'),
})

describe('ECDH-ES: a point off the curve never yields a shared secret (invalid-curve attack)', () => {
  // The agreement's only defence is that computeSecret checks the point (Node 20, 22 and 24 do):
  // pinned here, so that a runtime that stops doing it fails this test, not a user.
  it.each(NIST)('%s: node:crypto ECDH refuses off-curve points', (_crv, curve, bytes) => {
    const ecdh = createECDH(curve)
    ecdh.generateKeys()
    const onCurve = createECDH(curve).generateKeys()
    expect(ecdh.computeSecret(onCurve)).toHaveLength(bytes)
    for (const point of offCurve(onCurve, bytes)) {
      expect(() => ecdh.computeSecret(point)).toThrow(
        expect.objectContaining({code: 'ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY'}),
      )
    }
  })

  it.each(NIST)(
    '%s: the agreement refuses an off-curve epk before any AES step, and agrees with WebCrypto on the curve',
    async (crv, curve, bytes) => {
      const jwk = await privateJwk('ECDH-ES', crv)
      const privateKey = keyFor(jwk, 'private') as KeyObject
      const ephemeral = await generateKeyPair('ECDH-ES', {crv, extractable: true})
      const ephemeralJwk = await exportJWK(ephemeral.publicKey)
      const webCrypto = await crypto.subtle.deriveBits(
        {
          name: 'ECDH',
          public: await crypto.subtle.importKey('jwk', ephemeralJwk, {name: 'ECDH', namedCurve: crv}, true, []),
        },
        await crypto.subtle.importKey('jwk', jwk as JsonWebKey, {name: 'ECDH', namedCurve: crv}, false, ['deriveBits']),
        bytes * 8,
      )
      expect(agreementWith(privateKey, ephemeralJwk)?.equals(Buffer.from(webCrypto))).toBe(true)

      const onCurve = createECDH(curve).generateKeys()
      for (const point of offCurve(onCurve, bytes)) {
        expect(() => agreementWith(privateKey, asEpk(crv, point, bytes))).toThrow(
          expect.objectContaining({code: 'ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY'}),
        )
      }
    },
  )

  it('X25519: a low-order epk yields no secret (OpenSSL refuses the all-zero result)', async () => {
    const jwk = await privateJwk('ECDH-ES', 'X25519')
    const privateKey = keyFor(jwk, 'private') as KeyObject
    const p = 2n ** 255n - 19n
    // 0, 1 and p - 1 (order 1, 4, 2), and the same u written with its unused top bit set
    const lowOrder = [0n, 1n, p - 1n, 2n ** 255n].map((u) => {
      const bytes = Buffer.alloc(32)
      for (let i = 0; i < 32; i++) bytes[i] = Number((u >> BigInt(8 * i)) & 0xffn)
      return bytes.toString('base64url')
    })
    for (const x of lowOrder) expect(() => agreementWith(privateKey, {crv: 'X25519', kty: 'OKP', x})).toThrow()
  })
})
