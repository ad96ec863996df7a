/**
 * The node:crypto age reader against files made by the real `age` tool and by typage: it must
 * open what they seal, and refuse what it should, exactly as they would.
 */
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {identityScalar, nativeDecrypt} from '../../src/vault/age-native.js'
import {ageEncrypt, dearmor, newIdentity} from '../../src/vault/age.js'
import {hasTool} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'jwtis-age-'))
afterAll(() => rmSync(dir, {force: true, recursive: true}))
const HAS_AGE = hasTool('age', ['--version'], 'the age CLI cross-check of the native age reader')

describe('age on node:crypto', () => {
  it('opens what typage seals to X25519 recipients (several sizes, several recipients) and refuses a wrong identity', async () => {
    const a = await newIdentity()
    const b = await newIdentity()
    for (const size of [0, 1, 65_535, 65_536, 65_537, 200_000]) {
      const text = 'x'.repeat(size)
      const sealed = Buffer.from(dearmor(await ageEncrypt(text, {recipients: [a.recipient, b.recipient]}))!)
      expect(nativeDecrypt(sealed, {identities: [b.identity]})).toEqual({kind: 'ok', plaintext: text})
    }

    const sealed = Buffer.from(dearmor(await ageEncrypt('secret', {recipients: [a.recipient]}))!)
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
    const sealed = Buffer.from(dearmor(await ageEncrypt('{"v":1}', {passphrase: 'correct horse'}))!)
    expect(nativeDecrypt(sealed, {passphrase: 'correct horse'})).toEqual({kind: 'ok', plaintext: '{"v":1}'})
    expect(nativeDecrypt(sealed, {passphrase: 'wrong horse'}).kind).toBe('no-match')
  })

  it('refuses an identity with a bad checksum without decoding it', async () => {
    const {identity} = await newIdentity()
    expect(identityScalar(identity)).toHaveLength(32)
    const mistyped = `${identity.slice(0, -1)}${identity.at(-1) === 'Q' ? 'P' : 'Q'}`
    expect(identityScalar(mistyped)).toBeUndefined()
    const sealed = Buffer.from(dearmor(await ageEncrypt('x', {recipients: [(await newIdentity()).recipient]}))!)
    expect(nativeDecrypt(sealed, {identities: [mistyped]}).kind).toBe('invalid-identity')
  })

  it.runIf(HAS_AGE)('opens what the age CLI seals, binary and armored, and age opens what typage seals', async () => {
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

    const armored = await ageEncrypt(text, {recipients: [recipient]})
    for (const sealed of [armored, dearmor(armored)!]) {
      const file = join(dir, 'typage.age')
      writeFileSync(file, sealed)
      const opened = spawnSync('age', ['-d', '-i', idFile, file], {encoding: 'utf8'})
      expect(opened.status, opened.stderr).toBe(0)
      expect(opened.stdout).toBe(text)
    }
  })
})
