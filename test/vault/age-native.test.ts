/**
 * The node:crypto age reader and writer against the real `age` tool and typage: it must open
 * what they seal and refuse what it should, exactly as they would, and seal what they open.
 */
import {armor, Decrypter, Encrypter, generateHybridIdentity, identityToRecipient} from 'age-encryption'
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {identityScalar, nativeDecrypt, nativeEncrypt} from '../../src/vault/age-native.js'
import {ageEncrypt, dearmor, newIdentity, armor as ourArmor} from '../../src/vault/age.js'
import {hasTool} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'jwtis-age-'))
afterAll(() => rmSync(dir, {force: true, recursive: true}))
const HAS_AGE = hasTool('age', ['--version'], 'the age CLI cross-check of the native age reader and writer')

/** A binary age file sealed by typage, not by the code under test. */
async function typageSeal(text: string, to: {passphrase: string} | {recipients: string[]}): Promise<Buffer> {
  const e = new Encrypter()
  if ('passphrase' in to) e.setPassphrase(to.passphrase)
  else for (const r of to.recipients) e.addRecipient(r)
  return Buffer.from(await e.encrypt(text))
}

async function typageOpen(sealed: Uint8Array, key: {identity: string} | {passphrase: string}): Promise<string> {
  const d = new Decrypter()
  if ('passphrase' in key) d.addPassphrase(key.passphrase)
  else d.addIdentity(key.identity)
  return d.decrypt(sealed, 'text')
}

const SIZES = [0, 1, 65_535, 65_536, 65_537, 131_072, 200_000]

describe('age on node:crypto', () => {
  it('opens what typage seals to X25519 recipients (several sizes, several recipients) and refuses a wrong identity', async () => {
    const a = await newIdentity()
    const b = await newIdentity()
    for (const size of SIZES) {
      const text = 'x'.repeat(size)
      const sealed = await typageSeal(text, {recipients: [a.recipient, b.recipient]})
      expect(nativeDecrypt(sealed, {identities: [b.identity]})).toEqual({kind: 'ok', plaintext: text})
    }

    const sealed = await typageSeal('secret', {recipients: [a.recipient]})
    expect(nativeDecrypt(sealed, {identities: [b.identity]}).kind).toBe('no-match')
    // any flipped byte, in the header or the payload, is caught
    for (const i of [30, sealed.length - 20, sealed.length - 1]) {
      const bad = Buffer.from(sealed)
      bad[i] ^= 1
      expect(['corrupt', 'no-match', 'unsupported']).toContain(nativeDecrypt(bad, {identities: [a.identity]}).kind)
      expect(nativeDecrypt(bad, {identities: [a.identity]}).kind).not.toBe('ok')
    }

    expect(nativeDecrypt(sealed.subarray(0, -5), {identities: [a.identity]}).kind).toBe('corrupt')
  })

  it('opens passphrase (scrypt) files and refuses a wrong passphrase', async () => {
    const sealed = await typageSeal('{"v":1}', {passphrase: 'correct horse'})
    expect(nativeDecrypt(sealed, {passphrase: 'correct horse'})).toEqual({kind: 'ok', plaintext: '{"v":1}'})
    expect(nativeDecrypt(sealed, {passphrase: 'wrong horse'}).kind).toBe('no-match')
  })

  it('refuses an identity with a bad checksum without decoding it', async () => {
    const {identity} = await newIdentity()
    expect(identityScalar(identity)).toHaveLength(32)
    const mistyped = `${identity.slice(0, -1)}${identity.at(-1) === 'Q' ? 'P' : 'Q'}`
    expect(identityScalar(mistyped)).toBeUndefined()
    const sealed = await typageSeal('x', {recipients: [(await newIdentity()).recipient]})
    expect(nativeDecrypt(sealed, {identities: [mistyped]}).kind).toBe('invalid-identity')
  })

  it('seals what typage opens, to each of several X25519 recipients, at every chunk boundary', async () => {
    const a = await newIdentity()
    const b = await newIdentity()
    for (const size of SIZES) {
      // two bytes each in UTF-8 (the chunks are counted in bytes), and one more for odd sizes
      const text = 'é'.repeat(Math.floor(size / 2)) + 'x'.repeat(size % 2)
      expect(Buffer.byteLength(text)).toBe(size)
      const sealed = nativeEncrypt(text, {recipients: [a.recipient, b.recipient]})!
      expect(await typageOpen(sealed, {identity: a.identity})).toBe(text)
      expect(await typageOpen(sealed, {identity: b.identity})).toBe(text)
    }

    // a fresh file key and payload nonce every time
    const twice = [
      nativeEncrypt('same', {recipients: [a.recipient]})!,
      nativeEncrypt('same', {recipients: [a.recipient]})!,
    ]
    expect(twice[0].equals(twice[1])).toBe(false)
  })

  it("seals with a passphrase at age's work factor, and leaves other recipients to typage", async () => {
    const sealed = nativeEncrypt('{"v":2}', {passphrase: 'correct horse'})!
    expect(sealed.toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> scrypt [\w+/]{22} 18\n/)
    expect(await typageOpen(sealed, {passphrase: 'correct horse'})).toBe('{"v":2}')
    expect(nativeDecrypt(sealed, {passphrase: 'wrong horse'}).kind).toBe('no-match')

    // a post-quantum recipient, or a mistyped one: not for the native writer
    const hybrid = await identityToRecipient(await generateHybridIdentity())
    expect(nativeEncrypt('x', {recipients: [hybrid]})).toBeUndefined()
    expect(nativeEncrypt('x', {recipients: [`${(await newIdentity()).recipient.slice(0, -1)}q`]})).toBeUndefined()
    expect(nativeEncrypt('x', {recipients: []})).toBeUndefined()
    // a low-order point (all zero) spelled as a recipient: refused in one line, not an OpenSSL error
    const lowOrder = 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z'
    expect(() => nativeEncrypt('x', {recipients: [lowOrder]})).toThrow(/not a usable X25519 public key/)
  })

  it('armors byte for byte as typage does, and ageEncrypt falls back to typage for a post-quantum recipient', async () => {
    for (const size of [0, 1, 47, 48, 49, 1000]) {
      const bytes = randomBytes(size)
      expect(ourArmor(bytes)).toBe(armor.encode(bytes))
    }

    const identity = await generateHybridIdentity()
    const sealed = await ageEncrypt('pq', {recipients: [await identityToRecipient(identity)]})
    expect(await typageOpen(dearmor(sealed)!, {identity})).toBe('pq')
  })

  it.runIf(HAS_AGE)(
    'opens what the age CLI seals, binary and armored, and age opens what jwtis and typage seal',
    async () => {
      const {identity, recipient} = await newIdentity()
      const idFile = join(dir, 'id.txt')
      writeFileSync(idFile, `${identity}\n`)
      const text = randomBytes(100_000).toString('base64')
      const plain = join(dir, 'plain.txt')
      writeFileSync(plain, text)
      for (const armor of [[], ['-a']]) {
        const out = join(dir, `sealed${armor.length}.age`)
        const made = spawnSync('age', ['-r', recipient, ...armor, '-o', out, plain])
        expect(made.status, String(made.stderr)).toBe(0)
        const bytes = readFileSync(out)
        const binary =
          armor.length === 0
            ? bytes
            : Buffer.from(
                bytes
                  .toString('latin1')
                  .split('\n')
                  .filter((l) => l && !l.startsWith('-----'))
                  .join(''),
                'base64',
              )
        expect(nativeDecrypt(binary, {identities: [identity]})).toEqual({kind: 'ok', plaintext: text})
      }

      // what jwtis writes, at every chunk boundary, and what typage writes
      const written = async (plain: string) => [
        await ageEncrypt(plain, {recipients: [recipient]}),
        nativeEncrypt(plain, {recipients: [recipient]})!,
        armor.encode(await typageSeal(plain, {recipients: [recipient]})),
      ]
      for (const size of SIZES) {
        const plain = 'y'.repeat(size)
        for (const sealed of await written(plain)) {
          const file = join(dir, 'written.age')
          writeFileSync(file, sealed)
          const opened = spawnSync('age', ['-d', '-i', idFile, file], {encoding: 'utf8'})
          expect(opened.status, opened.stderr).toBe(0)
          expect(opened.stdout).toBe(plain)
        }
      }
    },
  )
})
