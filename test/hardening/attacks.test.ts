import {CompactEncrypt, exportJWK, generateKeyPair, type JWK, SignJWT} from 'jose'
import {
  createECDH,
  createHmac,
  createPublicKey,
  constants as cryptoConstants,
  generateKeyPairSync,
  type KeyObject,
  publicEncrypt,
  sign,
} from 'node:crypto'
/**
 * The JWT attack catalogue (RFC 8725, and the attacks jwt_tool automates), one named test each,
 * against the code `token verify`, `token renew` and `jwe decrypt` run. Each attack is built by
 * hand from real keys, so a refusal proves the check, not a malformed input.
 */
import {createServer, type Server} from 'node:http'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {isJwtisError} from '../../src/common/errors.js'
import {addClient} from '../../src/core/clients.js'
import {Issuer} from '../../src/core/issuer.js'
import {keyFor} from '../../src/jose/compact.js'
import {decodeToken} from '../../src/jose/decode.js'
import {decryptJwe} from '../../src/jose/jwe.js'
import {Keyring} from '../../src/jose/keyring.js'
import {publicJwk} from '../../src/jose/keys.js'
import {verifyToken} from '../../src/jose/nested.js'
import {MemoryStore} from '../../src/store/memory.js'
import {ephemeralFor, sealByHand} from '../helpers/jwe.js'
import {manualClock, tempVault} from '../helpers/vault.js'

const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const parts = (token: string) => token.split('.')
const headerOf = (token: string) => JSON.parse(Buffer.from(parts(token)[0], 'base64url').toString())
const payloadOf = (token: string) => JSON.parse(Buffer.from(parts(token)[1], 'base64url').toString())

let issuer: Issuer
let clock: ReturnType<typeof manualClock>
let access: string
let refresh: string
let hsAccess: string
const verify = (token: string) => issuer.verify(token, {leewayMs: 30_000})

/** The rejection code of a promise that must fail, checking it is a documented refusal. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    expect(isJwtisError(error), String(error)).toBe(true)
    expect((error as {exitCode: number}).exitCode).not.toBe(70)
    return (error as {code: string}).code
  }

  throw new Error('the attack was accepted')
}

/** A JWKS URL host that records every request: attacks must never make it fetch anything. */
let fetched: string[] = []
let trap: Server
let trapUrl: string

beforeAll(async () => {
  const {vault} = await tempVault('https://issuer.test')
  clock = manualClock(Date.now())
  // alice seals her refresh tokens to her own key (ECDH-ES, what the JWE attacks below go after);
  // bob and hmac follow the vault's default, the issuer's A256KW key
  await addClient(vault, 'alice', {aud: ['api'], refreshSeal: 'client', sigAlg: 'ES256'}, new Date(clock()))
  await addClient(vault, 'bob', {aud: ['api'], sigAlg: 'RS256'}, new Date(clock()))
  await addClient(vault, 'hmac', {aud: ['api'], sigAlg: 'HS256'}, new Date(clock()))
  const store = new MemoryStore()
  issuer = new Issuer(vault, async () => store, clock)
  const issued = await issuer.issue('alice', {aud: ['api'], custom: {}, refresh: true, sub: 'u1'})
  access = issued.access_token
  refresh = issued.refresh_token!
  hsAccess = (await issuer.issue('hmac', {aud: ['api'], custom: {}, sub: 'u1'})).access_token
  trap = createServer((request, response) => {
    fetched.push(request.url ?? '')
    response.end('{"keys":[]}')
  })
  await new Promise<void>((resolve) => {
    trap.listen(0, '127.0.0.1', resolve)
  })
  trapUrl = `http://127.0.0.1:${(trap.address() as {port: number}).port}`
})
afterAll(async () => {
  trap?.close()
})

const signingKey = (client: string) =>
  issuer.vault.document.clients[client].keys.find((k) => k.use === 'sig' && k.state === 'active')!
    .jwk as unknown as Record<string, unknown>

const aliceEncKey = () =>
  issuer.vault.document.clients.alice.keys.find((k) => k.use === 'enc' && k.state === 'active')!
    .jwk as unknown as Record<string, unknown>

/** A fresh refresh token of alice's, its JWE header, and the JWS inside it (for JWEs made by hand). */
async function aliceRefresh() {
  const token = (await issuer.issue('alice', {aud: ['api'], custom: {}, refresh: true, sub: 'u1'})).refresh_token!
  const inner = new TextDecoder().decode((await decryptJwe(token, {keyring: issuer.keyring()})).plaintext)
  return {header: headerOf(token), inner}
}

/** `value` as JSON with one byte that is not UTF-8 (0xff) in a string member. */
function notUtf8(value: Record<string, unknown>): Buffer {
  const bytes = Buffer.from(JSON.stringify({...value, note: '~'}))
  bytes[bytes.lastIndexOf('~')] = 0xff
  return bytes
}

/** A JWS signed with alice's ES256 key over the header bytes given and an encoded payload (or its bytes). */
function signedByAlice(header: Buffer, payload: Buffer | string): string {
  const input = `${header.toString('base64url')}.${typeof payload === 'string' ? payload : payload.toString('base64url')}`
  const key = keyFor(signingKey('alice') as JWK, 'private') as KeyObject
  return `${input}.${sign('sha256', Buffer.from(input), {dsaEncoding: 'ieee-p1363', key}).toString('base64url')}`
}

// P-256 as an implementation that never checks its input point computes on it (affine, a = -3).
type Point = {x: bigint; y: bigint}
const P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n
const mod = (n: bigint) => ((n % P) + P) % P
const big = (bytes: Buffer | string) =>
  BigInt(`0x${(typeof bytes === 'string' ? Buffer.from(bytes, 'base64url') : bytes).toString('hex')}`)
const bytes32 = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex')
const base64url = (n: bigint) => bytes32(n).toString('base64url')

function inverse(n: bigint): bigint {
  let [a, b, x, y] = [mod(n), P, 1n, 0n]
  while (b !== 0n) {
    const q = a / b
    ;[a, b, x, y] = [b, a - q * b, y, x - q * y]
  }

  return mod(x)
}

/** p + q on any curve y² = x³ - 3x + b (b never enters the formulas); undefined is the point at infinity. */
function add(p: Point | undefined, q: Point | undefined): Point | undefined {
  if (!p || !q) return p ?? q
  if (p.x === q.x && mod(p.y + q.y) === 0n) return undefined
  const slope = p.x === q.x ? mod((3n * p.x * p.x - 3n) * inverse(2n * p.y)) : mod((q.y - p.y) * inverse(q.x - p.x))
  const x = mod(slope * slope - p.x - q.x)
  return {x, y: mod(slope * (p.x - x) - p.y)}
}

function multiply(k: bigint, point: Point): Point | undefined {
  let result: Point | undefined
  let addend: Point | undefined = point
  for (let bits = k; bits > 0n; bits >>= 1n) {
    if (bits & 1n) result = add(result, addend)
    addend = add(addend, addend)
  }

  return result
}

describe('the JWT attack catalogue', () => {
  it('alg "none" in every casing, with and without a signature', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const [, payload, signature] = parts(access)
      for (const sig of ['', signature]) {
        expect(await refusal(verify(`${b64({...headerOf(access), alg})}.${payload}.${sig}`))).toBe('ALG_NOT_ALLOWED')
      }
    }
  })

  it("a public key used as an HMAC secret (key confusion): HS256 over the ES or RS key's own bytes", async () => {
    for (const client of ['alice', 'bob']) {
      const jwk = signingKey(client)
      const pub = publicJwk(jwk as never) as Record<string, unknown>
      const pem = createPublicKey({format: 'jwk', key: pub as never}).export({format: 'pem', type: 'spki'})
      for (const secret of [pem, JSON.stringify(pub), String(pub.x ?? pub.n)]) {
        const header = b64({alg: 'HS256', kid: jwk.kid, typ: 'at+jwt'})
        const payload = parts(access)[1]
        const mac = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
        expect(['ALG_NOT_ALLOWED', 'UNKNOWN_KID']).toContain(await refusal(verify(`${header}.${payload}.${mac}`)))
        // and with the public key handed over as --key (a PEM file): still never an HMAC secret
        const keyring = await Keyring.fromText(String(pem), '--key')
        expect(['ALG_NOT_ALLOWED', 'UNKNOWN_KID']).toContain(
          await refusal(verifyToken(`${header}.${payload}.${mac}`, {keyring, leewayMs: 0, now: clock()})),
        )
      }
    }
  })

  it('HS tokens are checked only with secrets, asymmetric ones only with public keys', async () => {
    const esKid = signingKey('alice').kid
    const hsKid = signingKey('hmac').kid
    const [hh, hp, hs] = parts(hsAccess)
    const [eh, ep, es] = parts(access)
    expect(
      await refusal(verify(`${b64({...JSON.parse(Buffer.from(hh, 'base64url').toString()), kid: esKid})}.${hp}.${hs}`)),
    ).toBe('ALG_NOT_ALLOWED')
    expect(
      await refusal(verify(`${b64({...JSON.parse(Buffer.from(eh, 'base64url').toString()), kid: hsKid})}.${ep}.${es}`)),
    ).toBe('ALG_NOT_ALLOWED')
  })

  it('an embedded jwk, jku, x5u or x5c is never trusted and never fetched', async () => {
    const attacker = await generateKeyPair('ES256', {extractable: true})
    const attackerJwk = await exportJWK(attacker.publicKey)
    const now = Math.floor(clock() / 1000)
    fetched = []
    for (const extra of [
      {jwk: attackerJwk},
      {jku: `${trapUrl}/jwks.json`},
      {x5u: `${trapUrl}/cert.pem`},
      {x5c: ['MIIBszCCAVmgAwIBAgIUaW52YWxpZA==']},
      {jwk: attackerJwk, kid: signingKey('alice').kid},
    ]) {
      const token = await new SignJWT({aud: 'api', exp: now + 60, iat: now, sub: 'u1'})
        .setProtectedHeader({alg: 'ES256', typ: 'at+jwt', ...extra} as never)
        .sign(attacker.privateKey)
      expect(['UNKNOWN_KID', 'BAD_SIGNATURE']).toContain(await refusal(verify(token)))
    }

    expect(fetched).toEqual([])
  })

  it('kid as a path, as SQL, and 10 KB long: an unknown kid, nothing read, nothing run', async () => {
    const [, payload, signature] = parts(access)
    for (const kid of [
      '../../../../etc/passwd',
      '/dev/zero',
      "x' UNION SELECT key FROM keys--",
      '|id',
      'k'.repeat(10_240),
    ]) {
      expect(await refusal(verify(`${b64({...headerOf(access), kid})}.${payload}.${signature}`))).toBe('UNKNOWN_KID')
    }
  })

  it('crit, and b64: false (RFC 7797), are refused', async () => {
    const [, payload, signature] = parts(access)
    expect(
      await refusal(verify(`${b64({...headerOf(access), b64: false, crit: ['b64']})}.${payload}.${signature}`)),
    ).toBe('UNSUPPORTED_CRIT')
    expect(await refusal(verify(`${b64({...headerOf(access), crit: ['exp']})}.${payload}.${signature}`))).toBe(
      'UNSUPPORTED_CRIT',
    )
    expect(['BAD_SIGNATURE', 'MALFORMED_TOKEN']).toContain(
      await refusal(verify(`${b64({...headerOf(access), b64: false})}.${payload}.${signature}`)),
    )
  })

  it('the same signature written another way (unused bits of base64url set) is not the same token', async () => {
    const [header, payload, signature] = parts(access)
    // 64 bytes are 86 characters: the last one carries 2 bits of the signature and 4 unused ones
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(signature.at(-1)!)
    const twin = signature.slice(0, -1) + alphabet[last ^ 1]
    expect(Buffer.from(twin, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true)
    expect(await refusal(verify(`${header}.${payload}.${twin}`))).toBe('MALFORMED_TOKEN')
    expect((await verify(access)).payload.sub).toBe('u1')
  })

  it('ECDSA signatures all zero, or r and s out of range (the "psychic signature" of CVE-2022-21449)', async () => {
    const [header, payload] = parts(access)
    const n = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex')
    const signatures = [
      Buffer.alloc(64),
      Buffer.concat([n, n]),
      Buffer.concat([Buffer.alloc(32), n]),
      Buffer.concat([n, Buffer.alloc(32)]),
      Buffer.alloc(64, 0xff),
      Buffer.alloc(0),
      Buffer.alloc(63, 1),
    ]
    for (const sig of signatures) {
      expect(['BAD_SIGNATURE', 'MALFORMED_TOKEN']).toContain(
        await refusal(verify(`${header}.${payload}.${sig.toString('base64url')}`)),
      )
    }
  })

  it('ECDH-ES with an ephemeral key off the curve (invalid curve attack): what an agreement that skips the point check would open is refused', async () => {
    const {header, inner} = await aliceRefresh()
    const d = big(String(aliceEncKey().d))
    const sealed = (point: Point) =>
      sealByHand(inner, {
        alg: header.alg,
        enc: header.enc,
        header: {...header, epk: {crv: 'P-256', kty: 'EC', x: base64url(point.x), y: base64url(point.y)}},
        z: bytes32(multiply(d, point)!.x),
      })
    const onCurve = createECDH('prime256v1').generateKeys()
    const ephemeral = {x: big(onCurve.subarray(1, 33)), y: big(onCurve.subarray(33))}
    // Points of other curves y² = x³ - 3x + b': the formulas never use b, so an agreement that
    // does not check the point computes d·P there, and the sender who chose P can predict it.
    for (const point of [
      {...ephemeral, y: ephemeral.y + 1n},
      {x: 1n, y: 2n},
      {x: ephemeral.x, y: ephemeral.x},
    ]) {
      const token = sealed(point)
      expect(await refusal(issuer.renew('alice', token))).toBe('DECRYPT_FAILED')
      expect(await refusal(decryptJwe(token, {keyring: issuer.keyring()}))).toBe('DECRYPT_FAILED')
    }

    // The same construction on the curve is an honest sender's JWE: it renews (the family was untouched).
    expect((await issuer.renew('alice', sealed(ephemeral))).refresh_token).toBeTruthy()
  })

  it('an epk with private members, or apu/apv that are no distinct base64url strings, is refused by both paths (as jose refuses them)', async () => {
    const {header, inner} = await aliceRefresh()
    const {epk, z} = ephemeralFor(keyFor(aliceEncKey() as JWK, 'public') as KeyObject)
    const {d, ...publicEpk} = epk
    const sealed = (members: Record<string, unknown>, party: {apu?: Buffer; apv?: Buffer} = {}) =>
      sealByHand(inner, {
        alg: header.alg,
        enc: header.enc,
        header: {...header, epk: publicEpk, ...members},
        z,
        ...party,
      })
    // Each is a well-made JWE (the key derived without party info): what the header says is refused.
    for (const members of [
      {epk},
      {epk: {...publicEpk, k: d}},
      {apu: 5},
      {apv: ['Qm9i']},
      {apu: 'QWxpY2U='},
      {apu: 'QWxp Y2U'},
      {apu: 'Qm9i', apv: 'Qm9i'},
    ]) {
      const token = sealed(members)
      expect(await refusal(issuer.renew('alice', token)), JSON.stringify(members)).toBe('MALFORMED_TOKEN')
      expect(await refusal(decryptJwe(token, {keyring: issuer.keyring()}))).toBe('MALFORMED_TOKEN')
    }

    // apu and apv that are what they should be enter the key derivation, on both paths.
    const apu = Buffer.from('Alice')
    const apv = Buffer.from('Bob')
    const named = sealed({apu: apu.toString('base64url'), apv: apv.toString('base64url')}, {apu, apv})
    expect(await decryptJwe(named, {keyring: issuer.keyring()})).toBeTruthy()
    expect((await issuer.renew('alice', named)).refresh_token).toBeTruthy()
  })

  it('a protected header or claims that are not UTF-8 are refused by every path (MALFORMED_TOKEN)', async () => {
    const {header, inner} = await aliceRefresh()
    const {epk, z} = ephemeralFor(keyFor(aliceEncKey() as JWK, 'public') as KeyObject)
    const publicEpk = {...epk, d: undefined}
    const sealed = (headerBytes: Buffer, plaintext = inner) =>
      sealByHand(plaintext, {alg: header.alg, enc: header.enc, header: headerBytes, z})
    const jweHeader = {...header, epk: publicEpk}

    const outer = sealed(notUtf8(jweHeader))
    expect(await refusal(issuer.renew('alice', outer))).toBe('MALFORMED_TOKEN')
    expect(await refusal(decryptJwe(outer, {keyring: issuer.keyring()}))).toBe('MALFORMED_TOKEN')
    const [, innerPayload] = parts(inner)
    const innerHeader = sealed(
      Buffer.from(JSON.stringify(jweHeader)),
      signedByAlice(notUtf8(headerOf(inner)), innerPayload),
    )
    expect(await refusal(issuer.renew('alice', innerHeader))).toBe('MALFORMED_TOKEN')

    const [, accessPayload] = parts(access)
    const accessHeader = signedByAlice(notUtf8(headerOf(access)), accessPayload)
    const accessClaims = signedByAlice(Buffer.from(JSON.stringify(headerOf(access))), notUtf8(payloadOf(access)))
    for (const token of [accessHeader, accessClaims]) {
      expect(await refusal(verify(token))).toBe('MALFORMED_TOKEN')
      expect(() => decodeToken(token)).toThrow(expect.objectContaining({code: 'MALFORMED_TOKEN'}))
    }

    // the same tokens with the byte written as UTF-8 pass, so the byte is what is refused
    expect(
      (await issuer.renew('alice', sealed(Buffer.from(JSON.stringify({...jweHeader, note: 'ÿ'}))))).refresh_token,
    ).toBeTruthy()
  })

  it('PBES2 with p2c over the cap is refused before any key derivation', async () => {
    const password = new TextEncoder().encode('correct horse battery staple')
    const jwe = await new CompactEncrypt(new TextEncoder().encode('x'))
      .setProtectedHeader({alg: 'PBES2-HS256+A128KW', enc: 'A128GCM', p2c: 10_000_000})
      .encrypt(password)
      .catch(() => {})
    // jose may refuse to make such a JWE at all: build the header by hand then
    const [, ...rest] = parts(
      jwe ??
        (await new CompactEncrypt(new TextEncoder().encode('x'))
          .setProtectedHeader({alg: 'PBES2-HS256+A128KW', enc: 'A128GCM', p2c: 1000})
          .encrypt(password)),
    )
    const heavy = [
      b64({alg: 'PBES2-HS256+A128KW', enc: 'A128GCM', p2c: 10_000_000, p2s: b64('saltsaltsaltsalt')}),
      ...rest,
    ].join('.')
    const started = performance.now()
    expect(await refusal(decryptJwe(heavy, {password: 'correct horse battery staple'}))).toBe('ALG_NOT_ALLOWED')
    expect(performance.now() - started).toBeLessThan(500)
  })

  it('zip (compression before encryption) is refused', async () => {
    const [h, ...rest] = parts(refresh)
    const token = [b64({...JSON.parse(Buffer.from(h, 'base64url').toString()), zip: 'DEF'}), ...rest].join('.')
    expect(await refusal(decryptJwe(token, {keyring: issuer.keyring()}))).toBe('ALG_NOT_ALLOWED')
  })

  it('RSA1_5 is refused; RSA-OAEP answers a padding failure and a later failure alike, in about the same time', async () => {
    const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
    const jwk = {...privateKey.export({format: 'jwk'}), alg: 'RSA-OAEP-256', kid: 'rsa-enc', use: 'enc'}
    const keyring = await Keyring.fromText(JSON.stringify(jwk), '--key')
    const rsa15 = await new CompactEncrypt(new TextEncoder().encode('x'))
      .setProtectedHeader({alg: 'RSA-OAEP-256', enc: 'A128GCM', kid: 'rsa-enc'})
      .encrypt(publicKey)
    const [, ek, iv, ct, tag] = parts(rsa15)
    expect(
      await refusal(
        decryptJwe([b64({alg: 'RSA1_5', enc: 'A128GCM', kid: 'rsa-enc'}), ek, iv, ct, tag].join('.'), {keyring}),
      ),
    ).toBe('ALG_NOT_ALLOWED')

    // a: the encrypted key is garbage (OAEP padding fails); b: the key unwraps, the tag does not match
    const header = parts(rsa15)[0]
    const badPadding = [header, Buffer.alloc(256, 7).toString('base64url'), iv, ct, tag].join('.')
    const cek = Buffer.alloc(16, 1)
    const wrapped = publicEncrypt(
      {key: publicKey, oaepHash: 'sha256', padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING},
      cek,
    )
    const badTag = [header, wrapped.toString('base64url'), iv, ct, tag].join('.')
    const errors = new Set<string>()
    const time = async (token: string) => {
      const started = process.hrtime.bigint()
      try {
        await decryptJwe(token, {keyring})
      } catch (error) {
        errors.add(`${(error as {code: string}).code}: ${(error as Error).message}`)
      }

      return Number(process.hrtime.bigint() - started)
    }

    const a: number[] = []
    const b: number[] = []
    for (let i = 0; i < 60; i++) {
      a.push(await time(badPadding))
      b.push(await time(badTag))
    }

    expect([...errors]).toEqual(['DECRYPT_FAILED: decryption failed: wrong key, or the JWE was altered'])
    // both are one RSA private-key operation; a padding oracle would answer the first much sooner
    expect(median(a) / median(b)).toBeGreaterThan(0.5)
    expect(median(a) / median(b)).toBeLessThan(2)
  })

  it("a refresh token of client A presented as client B is WRONG_CLIENT, and A's family lives on", async () => {
    expect(await refusal(issuer.renew('bob', refresh))).toBe('WRONG_CLIENT')
    expect((await issuer.renew('alice', refresh)).access_token).toBeTruthy()
  })

  it('an access token presented as a refresh token, and the reverse, is WRONG_TYPE (or cannot be opened)', async () => {
    expect(['WRONG_TYPE', 'MALFORMED_TOKEN']).toContain(await refusal(issuer.renew('alice', access)))
    expect(await refusal(verify(refresh))).toBe('WRONG_TYPE')
    // the inner JWS of a refresh token, taken out of its JWE, is no access token either
    const inner = new TextDecoder().decode((await decryptJwe(refresh, {keyring: issuer.keyring()})).plaintext)
    expect(headerOf(inner).typ).toBe('rt+jwt')
    expect(await refusal(verify(inner))).toBe('WRONG_TYPE')
    expect(payloadOf(inner)).toBeTruthy()
  })
})
