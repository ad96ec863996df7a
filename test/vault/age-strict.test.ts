/**
 * age-native against age's own reader (Go, /usr/bin/age) on files that are almost right: each is
 * built here with a file key the test knows, so its header MAC and payload are valid and the only
 * flaw is the one named. age refuses every one of them; jwtis must too (VAULT_CORRUPT, exit 3),
 * where a lenient reader would open the file or skip the damaged stanza. typage (the fallback
 * reader) is run on the same files, and where it differs from age the test says so.
 */
import {spawnSync} from 'node:child_process'
import {
  createCipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  scryptSync,
} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {identityScalar, nativeDecrypt} from '../../src/vault/age-native.js'
import {ageDecrypt, parseIdentities} from '../../src/vault/age.js'
import {hasTool, json, jwtis, jwtisOk, scratch} from '../helpers/cli.js'

const HAS_AGE = hasTool('age', ['--version'], 'the age CLI differential test of the strict age reader')
const HAS_SCRIPT = hasTool(
  'script',
  ['--version'],
  'the age -p half of the age differential test (age reads a passphrase from a terminal only)',
)

// ---- an age writer that lets each part be spelled wrong --------------------------------------

/** age's base64: the standard alphabet without padding. */
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '')

/** The same bytes spelled with the unused low bits of the last character set: Go's strict decoder refuses it. */
function nonCanonical(text: string): string {
  if (text.length % 4 < 2) throw new Error(`${text} has no unused bits`)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  return text.slice(0, -1) + alphabet[alphabet.indexOf(text.at(-1)!) + 1]
}

/** A stanza body as age wraps it: 64-column lines, the last one short (empty if need be). */
function bodyLines(body: Uint8Array): string {
  const text = b64(body)
  const lines: string[] = text.match(/.{1,64}/g) ?? []
  if (text.length % 64 === 0) lines.push('')
  return lines.join('\n')
}

const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex')
const seal = (key: Uint8Array, plain: Uint8Array, nonce = Buffer.alloc(12)) => {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, {authTagLength: 16})
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()])
}

const hkdf = (ikm: Uint8Array, salt: Uint8Array, info: string) => Buffer.from(hkdfSync('sha256', ikm, salt, info, 32))

/** The raw X25519 public key of an AGE-SECRET-KEY-1… identity. */
function publicOf(identity: string): Buffer {
  const scalar = identityScalar(identity)!
  const priv = createPrivateKey({format: 'der', key: Buffer.concat([X25519_PKCS8, scalar]), type: 'pkcs8'})
  return createPublicKey(priv).export({format: 'der', type: 'spki'}).subarray(-32)
}

/** The share and body of an X25519 stanza wrapping fileKey to a recipient, as age makes them. */
function wrapX25519(fileKey: Buffer, recipient: Buffer): {body: Buffer; share: Buffer} {
  const {privateKey, publicKey} = generateKeyPairSync('x25519')
  const share = publicKey.export({format: 'der', type: 'spki'}).subarray(-32)
  const peer = createPublicKey({format: 'der', key: Buffer.concat([X25519_SPKI, recipient]), type: 'spki'})
  const shared = diffieHellman({privateKey, publicKey: peer})
  const wrapKey = hkdf(shared, Buffer.concat([share, recipient]), 'age-encryption.org/v1/X25519')
  return {body: seal(wrapKey, fileKey), share}
}

const LOG_N = 10 // cheap for a test; age and typage accept any work factor up to theirs
function wrapScrypt(fileKey: Buffer, passphrase: string): {body: Buffer; salt: Buffer} {
  const salt = randomBytes(16)
  const label = Buffer.concat([Buffer.from('age-encryption.org/v1/scrypt'), salt])
  const key = scryptSync(passphrase, label, 32, {N: 2 ** LOG_N, p: 1, r: 8})
  return {body: seal(key, fileKey), salt}
}

/**
 * An age v1 file from stanza texts (each `-> …\nbody\n`), with a valid MAC over exactly that
 * header and a one-chunk payload: whatever is wrong with it is what the stanzas or `macText` say.
 */
function ageFile(fileKey: Buffer, stanzas: string[], plaintext: string, macText = b64): Buffer {
  const header = `age-encryption.org/v1\n${stanzas.join('')}---`
  const mac = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header'))
    .update(header)
    .digest()
  const nonce = randomBytes(16)
  const last = Buffer.alloc(12)
  last[11] = 1
  const payload = seal(hkdf(fileKey, nonce, 'payload'), Buffer.from(plaintext), last)
  return Buffer.concat([Buffer.from(`${header} ${macText(mac)}\n`, 'latin1'), nonce, payload])
}

const stanza = (args: string[], body: string) => `-> ${args.join(' ')}\n${body}\n`

/** The small-order points of Curve25519 (and one with the ignored top bit set): X25519 with any of them is all zeros. */
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000080',
].map((hex) => Buffer.from(hex, 'hex'))

interface Case {
  file: Buffer
  name: string
}

/** Files sealed to `recipient` that age refuses, each for one reason. */
function x25519Cases(recipient: Buffer, plaintext: string): Case[] {
  const fileKey = randomBytes(16)
  const {body, share} = wrapX25519(fileKey, recipient)
  const good = stanza(['X25519', b64(share)], bodyLines(body))
  const file = (stanzas: string[], macText?: (mac: Uint8Array) => string) =>
    ageFile(fileKey, stanzas, plaintext, macText)
  // a stanza of a type no identity here reads, with a body of two lines: age still parses it
  const grease = randomBytes(62)
  const greaseText = b64(grease)
  return [
    {
      file: file([stanza(['X25519', nonCanonical(b64(share))], bodyLines(body))]),
      name: 'share: non-canonical last character',
    },
    {file: file([stanza(['X25519', `${b64(share)}=`], bodyLines(body))]), name: 'share: padded'},
    {file: file([stanza(['X25519', b64(share)], nonCanonical(b64(body)))]), name: 'body: non-canonical last character'},
    {file: file([stanza(['X25519', b64(share)], `${b64(body)}=`)]), name: 'body: padded'},
    {file: file([good], (mac) => nonCanonical(b64(mac))), name: 'MAC line: non-canonical last character'},
    {file: file([good], (mac) => `${b64(mac)}=`), name: 'MAC line: padded'},
    {
      file: file([stanza(['jwtis.test/grease', 'x'], `${greaseText.slice(0, 60)}\n${greaseText.slice(60)}`), good]),
      name: 'body: a line of 60 columns before the last',
    },
    {
      file: file([
        stanza(['jwtis.test/grease', 'x'], `${greaseText.slice(0, 64)}\n${nonCanonical(greaseText.slice(64))}`),
        good,
      ]),
      name: 'body: non-canonical last character on its last line',
    },
    {
      file: file([stanza(['jwtis.test/grease', 'x'], b64(randomBytes(48))), good]),
      name: 'body: a full last line with no short line after it',
    },
    // a malformed X25519 stanza before one that opens: age stops at it, it is not skipped
    {
      file: file([stanza(['X25519', b64(share), 'extra'], bodyLines(body)), good]),
      name: 'X25519 stanza: two arguments',
    },
    {file: file([stanza(['X25519'], bodyLines(body)), good]), name: 'X25519 stanza: no share'},
    {
      file: file([stanza(['X25519', b64(share.subarray(1))], bodyLines(body)), good]),
      name: 'X25519 stanza: a 31-byte share',
    },
    {
      file: file([stanza(['X25519', b64(share)], bodyLines(Buffer.concat([body, Buffer.alloc(1)]))), good]),
      name: 'X25519 stanza: a 33-byte body',
    },
    {
      file: file([stanza(['X25519', b64(share)], bodyLines(body.subarray(0, 16))), good]),
      name: 'X25519 stanza: a 16-byte body',
    },
    ...LOW_ORDER.map((point, i) => ({
      file: file([stanza(['X25519', b64(point)], bodyLines(randomBytes(32))), good]),
      name: `X25519 stanza: low-order share #${i}`,
    })),
  ]
}

function scryptCases(passphrase: string, plaintext: string): Case[] {
  const fileKey = randomBytes(16)
  const {body, salt} = wrapScrypt(fileKey, passphrase)
  const file = (stanzas: string[]) => ageFile(fileKey, stanzas, plaintext)
  return [
    {
      file: file([stanza(['scrypt', nonCanonical(b64(salt)), `${LOG_N}`], bodyLines(body))]),
      name: 'salt: non-canonical last character',
    },
    {file: file([stanza(['scrypt', `${b64(salt)}==`, `${LOG_N}`], bodyLines(body))]), name: 'salt: padded'},
    {
      file: file([stanza(['scrypt', b64(salt), `${LOG_N}`], nonCanonical(b64(body)))]),
      name: 'scrypt body: non-canonical',
    },
    {
      file: file([stanza(['scrypt', b64(salt), `${LOG_N}`, 'extra'], bodyLines(body))]),
      name: 'scrypt stanza: three arguments',
    },
    {
      file: file([stanza(['scrypt', b64(salt), `${LOG_N}`], bodyLines(Buffer.concat([body, Buffer.alloc(1)])))]),
      name: 'scrypt stanza: a 33-byte body',
    },
  ]
}

type Key = {identities: string[]} | {passphrase: string}

/** Whether Debian's age opens the file: with an identity file, or a passphrase typed on a terminal. */
function ageOpens(file: string, key: {identityFile: string} | {passphrase: string}): boolean {
  if ('identityFile' in key)
    return spawnSync('age', ['-d', '-i', key.identityFile, file], {stdio: 'ignore'}).status === 0
  // age reads a passphrase only from a terminal: feed it one through `script`
  return (
    spawnSync('script', ['-qec', `age -d -o /dev/null ${file}`, '/dev/null'], {input: `${key.passphrase}\n`}).status ===
    0
  )
}

async function typageOpens(file: Buffer, key: Key): Promise<boolean> {
  const {Decrypter} = await import('age-encryption')
  const d = new Decrypter()
  if ('passphrase' in key) d.addPassphrase(key.passphrase)
  else for (const id of key.identities) d.addIdentity(id)
  return d.decrypt(file, 'text').then(
    () => true,
    () => false,
  )
}

/** age refuses the file; so do the native reader, jwtis's ageDecrypt (VAULT_CORRUPT) and typage. */
async function refusedEverywhere(path: string, {file, name}: Case, key: Key, ageKey: Parameters<typeof ageOpens>[1]) {
  writeFileSync(path, file)
  expect.soft(ageOpens(path, ageKey), `age opened: ${name}`).toBe(false)
  expect.soft(nativeDecrypt(file, key).kind, name).toBe('corrupt')
  await expect.soft(ageDecrypt(file, key, path), name).rejects.toMatchObject({code: 'VAULT_CORRUPT'})
  expect.soft(await typageOpens(file, key), `typage opened: ${name}`).toBe(false)
}

async function cliCorrupt(args: string[], env: Record<string, string>) {
  const result = await jwtis([...args, '--json'], {env})
  expect([result.code, json<any>(result).error?.code, result.stderr]).toEqual([3, 'VAULT_CORRUPT', ''])
}

describe.runIf(HAS_AGE)('the age reader is as strict as age', () => {
  const s = scratch()

  it('X25519 files age refuses (base64 spelled loosely, malformed or low-order stanzas) are VAULT_CORRUPT, exit 3', async () => {
    const vault = join(s.dir, 'x.age')
    const init = json<{identity_file: string}>(await jwtisOk(['init', '--vault', vault, '--json'], {env: s.env}))
    const identities = parseIdentities(readFileSync(init.identity_file, 'utf8'))
    const key = {identities}
    const ageKey = {identityFile: init.identity_file}
    const plaintext = await ageDecrypt(readFileSync(vault), key, vault)
    const env = {...s.env, JWTIS_AGE_KEY_FILE: init.identity_file}

    // the files below are made right but for their one flaw: made right in full, one opens everywhere
    const fileKey = randomBytes(16)
    const {body, share} = wrapX25519(fileKey, publicOf(identities[0]))
    writeFileSync(vault, ageFile(fileKey, [stanza(['X25519', b64(share)], bodyLines(body))], plaintext))
    expect(ageOpens(vault, ageKey)).toBe(true)
    expect(nativeDecrypt(readFileSync(vault), key)).toEqual({kind: 'ok', plaintext})
    expect(await typageOpens(readFileSync(vault), key)).toBe(true)
    await jwtisOk(['vault', 'status', '--vault', vault], {env})

    const cases = x25519Cases(publicOf(identities[0]), plaintext)
    for (const c of cases) await refusedEverywhere(vault, c, key, ageKey)
    // and the process: exit 3 with its code, no stack trace (a low-order share was an uncaught exit 70)
    for (const name of [
      'X25519 stanza: low-order share #0',
      'MAC line: non-canonical last character',
      'X25519 stanza: two arguments',
    ]) {
      writeFileSync(vault, cases.find((c) => c.name === name)!.file)
      await cliCorrupt(['vault', 'status', '--vault', vault], env)
    }
  })

  it.runIf(HAS_SCRIPT)(
    'age -p files open; passphrase files age refuses (a loosely spelled salt, a malformed scrypt stanza) are VAULT_CORRUPT',
    async () => {
      const passphrase = 'correct horse battery staple'
      const key = {passphrase}
      const plain = join(s.dir, 'plain.txt')
      const sealed = join(s.dir, 'p-by-age.age')
      writeFileSync(plain, '{"made by":"age -p"}')
      const made = spawnSync('script', ['-qec', `age -p -o ${sealed} ${plain}`, '/dev/null'], {
        input: `${passphrase}\n${passphrase}\n`,
      })
      expect(made.status).toBe(0)
      expect(nativeDecrypt(readFileSync(sealed), key)).toEqual({kind: 'ok', plaintext: '{"made by":"age -p"}'})

      const vault = join(s.dir, 'p.age')
      const env = {...s.env, JWTIS_PASSPHRASE: passphrase}
      await jwtisOk(['init', '--vault', vault, '--passphrase', '--json'], {env})
      const cases = scryptCases(passphrase, await ageDecrypt(readFileSync(vault), key, vault))
      for (const c of cases) await refusedEverywhere(vault, c, key, key)
      writeFileSync(vault, cases[0].file)
      await cliCorrupt(['client', 'list', '--vault', vault], env)
    },
  )
})
