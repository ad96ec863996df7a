import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {copyVault, initVault, type InitVaultInput, rekeyVault, upgradeVault} from '../../src/core/vault-admin.js'
import {newDocument} from '../../src/model/document.js'
import {ageDecrypt, ageEncrypt, newIdentity, type VaultKey} from '../../src/vault/age.js'
import {Vault} from '../../src/vault/vault.js'
import {type RedisServer, startRedis} from '../helpers/redis.js'

const dir = mkdtempSync(join(tmpdir(), 'jwtis-admin-'))
afterAll(() => rmSync(dir, {force: true, recursive: true}))
let n = 0
/** A path in a directory of its own, where nothing is yet. */
const fresh = (name = 'vault.age') => {
  const at = join(dir, `${n++}`)
  mkdirSync(at)
  return join(at, name)
}

const NOW = new Date('2026-11-22T12:00:00Z')
const input = (location: string, seal: InitVaultInput['seal'], more: Partial<InitVaultInput> = {}): InitVaultInput => ({
  defaults: {},
  limits: {maxAccessTtl: '1440m', maxSessionTtl: '2160h'},
  location,
  name: 'https://issuer.test',
  now: NOW,
  seal,
  ...more,
})
const open = (location: string, key: VaultKey, pinned: string[] = []) => Vault.open(location, async () => key, {pinned})
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => 'no failure',
    (error: {code?: string}) => error.code,
  )

describe('initVault', () => {
  it('makes and saves an identity where none is (0600), and uses the one found there next time', async () => {
    const identityFile = fresh('identity.txt')
    const first = await initVault(input(fresh(), {identityFile}, {defaults: {sigAlg: 'EdDSA'}}))
    expect(first).toMatchObject({identityFile, newIdentity: true, recipient: expect.stringMatching(/^age1/)})
    expect(statSync(identityFile).mode & 0o777).toBe(0o600)
    const saved = readFileSync(identityFile, 'utf8')
    expect(saved).toContain(first.identity)

    const second = await initVault(input(fresh(), {identityFile}))
    expect(second).toMatchObject({identity: first.identity, newIdentity: false, recipient: first.recipient})
    expect(readFileSync(identityFile, 'utf8')).toBe(saved)
    const vault = await open(second.location, {identities: [first.identity!]})
    expect(vault.signer).toMatchObject({by: 'derived', vaultId: second.vaultId})
    expect(vault.document.age).toEqual({passphrase: false, recipients: [first.recipient]})
    expect((await open(first.location, {identities: [first.identity!]})).document.issuer).toMatchObject({
      defaults: {sigAlg: 'EdDSA'},
      limits: {maxAccessTtl: '24h', maxSessionTtl: '2160h'}, // as stored: normalized
      name: 'https://issuer.test',
    })
  })

  it('seals to an identity given as text, and to other holders, who open it under the vault id', async () => {
    const mine = await newIdentity()
    const other = await newIdentity()
    const made = await initVault(input(fresh(), {identity: mine.identity}, {recipients: [other.recipient]}))
    expect(made).toMatchObject({identityFile: undefined, newIdentity: false, recipient: mine.recipient})
    const theirs = await open(made.location, {identities: [other.identity]}, [made.vaultId])
    expect(theirs.document.age.recipients).toEqual([mine.recipient, other.recipient])
    expect(theirs.signer).toMatchObject({by: 'pinned', vaultId: made.vaultId})
    expect(await failure(open(made.location, {identities: [other.identity]}))).toBe('VAULT_NOT_AUTHENTIC')
  })

  it('seals with a passphrase, asked for only once everything else was checked', async () => {
    let asked = 0
    const passphrase = async () => {
      asked++
      return 'correct horse battery'
    }

    const location = fresh()
    const other = await newIdentity()
    expect(await failure(initVault(input(location, {passphrase}, {recipients: [other.recipient]})))).toBe('USAGE')
    expect(await failure(initVault(input(location, {passphrase}, {defaults: {accessTtl: '48h'}})))).toBe('USAGE')
    expect(asked).toBe(0)
    const made = await initVault(input(location, {passphrase}))
    expect(asked).toBe(1)
    expect(made).toMatchObject({identity: undefined, newIdentity: false, recipient: undefined})
    const vault = await open(location, {passphrase: 'correct horse battery'})
    expect(vault.document.age).toEqual({passphrase: true, recipients: []})
    expect(await failure(initVault(input(location, {passphrase})))).toBe('VAULT_EXISTS')
    expect(asked).toBe(1)
  })

  it('refuses bad input before it writes anything: no vault, no identity file', async () => {
    const location = fresh()
    const identityFile = fresh('identity.txt')
    const cases: Array<Partial<InitVaultInput>> = [
      {recipients: ['age1notakey']},
      {defaults: {accessTtl: '48h'}},
      {limits: {maxAccessTtl: 'soon', maxSessionTtl: '1h'}},
    ]
    for (const more of cases) expect(await failure(initVault(input(location, {identityFile}, more)))).toBe('USAGE')
    expect(existsSync(location) || existsSync(identityFile)).toBe(false)
  })
})

describe('rekeyVault', () => {
  let me: {identity: string; recipient: string}
  let location: string
  let vaultId: string
  beforeAll(async () => {
    me = await newIdentity()
    location = fresh()
    ;({vaultId} = await initVault(input(location, {identity: me.identity})))
  })
  const mine = () => open(location, {identities: [me.identity]}, [vaultId])
  const byPassphrase = () => open(location, {passphrase: 'a new passphrase'})

  it('checks its input before it opens the vault', async () => {
    let opened = false
    const opener = async () => {
      opened = true
      return mine()
    }

    expect(await failure(rekeyVault(opener, {}))).toBe('USAGE')
    expect(await failure(rekeyVault(opener, {add: ['age1nope']}))).toBe('USAGE')
    expect(opened).toBe(false)
  })

  it('adds a holder under the same vault id, and a removal re-signs under a new one', async () => {
    const other = await newIdentity()
    const added = await rekeyVault(mine, {add: [other.recipient]})
    expect(added).toMatchObject({
      encryption: 'x25519',
      newSigningKey: false,
      previousVaultId: vaultId,
      recipients: [other.recipient, me.recipient],
      vaultId,
    })
    expect((await open(location, {identities: [other.identity]}, [vaultId])).signer?.by).toBe('pinned')

    const removed = await rekeyVault(mine, {remove: [other.recipient]})
    expect(removed).toMatchObject({newSigningKey: true, previousVaultId: vaultId, recipients: [me.recipient]})
    expect(removed.vaultId).not.toBe(vaultId)
    expect(await failure(open(location, {identities: [other.identity]}, [vaultId, removed.vaultId]))).toBe(
      'VAULT_BAD_KEY',
    )
    vaultId = removed.vaultId
    expect(await failure(rekeyVault(mine, {remove: [me.recipient]}))).toBe('USAGE')
  })

  it('moves to a new identity (never over an existing file), then to a passphrase and back', async () => {
    const taken = fresh('identity.txt')
    await initVault(input(fresh(), {identityFile: taken}))
    expect(await failure(rekeyVault(mine, {newIdentityFile: taken}))).toBe('IDENTITY_EXISTS')

    const newIdentityFile = fresh('identity-2027.txt')
    const moved = await rekeyVault(mine, {newIdentityFile})
    const identity = readFileSync(newIdentityFile, 'utf8').match(/AGE-SECRET-KEY-1\S+/)![0]
    expect(moved).toMatchObject({identityFile: newIdentityFile, newSigningKey: true, recipients: [expect.any(String)]})
    expect(moved.recipients).not.toContain(me.recipient)
    expect(await failure(mine())).toBe('VAULT_BAD_KEY')

    const byIdentity = () => open(location, {identities: [identity]})
    const sealed = await rekeyVault(byIdentity, {passphrase: async () => 'a new passphrase'})
    expect(sealed).toMatchObject({encryption: 'passphrase', newSigningKey: true, recipients: []})
    expect(await failure(rekeyVault(byPassphrase, {add: [me.recipient]}))).toBe('USAGE')
    const back = await rekeyVault(byPassphrase, {newIdentityFile: fresh('identity.txt')})
    expect(back).toMatchObject({encryption: 'x25519', newSigningKey: true, recipients: [expect.any(String)]})
  })
})

describe('copyVault', () => {
  let redis: RedisServer
  let source: {identity: string; location: string; vaultId: string}
  beforeAll(async () => {
    redis = await startRedis()
    const me = await newIdentity()
    const made = await initVault(input(fresh(), {identity: me.identity}))
    source = {identity: me.identity, location: made.location, vaultId: made.vaultId}
  })
  afterAll(async () => redis?.stop())

  it('copies a file to a file, the same sealed bytes, and replaces a vault there only with force', async () => {
    const to = fresh()
    const copied = await copyVault(source.location, to)
    expect(copied).toMatchObject({bytes: statSync(source.location).size, from: source.location, to})
    expect(readFileSync(to)).toEqual(readFileSync(source.location))
    expect(await failure(copyVault(source.location, to))).toBe('VAULT_EXISTS')
    writeFileSync(to, 'left alone?')
    expect(await failure(copyVault(source.location, to))).toBe('VAULT_EXISTS')
    expect(readFileSync(to, 'utf8')).toBe('left alone?')
    await copyVault(source.location, to, {force: true})
    expect(readFileSync(to)).toEqual(readFileSync(source.location))
    expect(await failure(copyVault(source.location, source.location))).toBe('VAULT_EXISTS')
  })

  it('refuses to copy what is not an age-sealed vault', async () => {
    const bogus = fresh()
    await copyVault(source.location, bogus)
    writeFileSync(bogus, '{"not": "sealed"}')
    const to = fresh()
    expect(await failure(copyVault(bogus, to))).toBe('VAULT_CORRUPT')
    expect(existsSync(to)).toBe(false)
  })

  it('copies a file into Redis and back out, still opening under the same vault id', async () => {
    const url = `${redis.url}?name=copy-test`
    expect(await copyVault(source.location, url)).toMatchObject({from: source.location, to: url})
    const inRedis = await open(url, {identities: [source.identity]}, [source.vaultId])
    expect(inRedis.signer?.vaultId).toBe(source.vaultId)
    await inRedis.close()
    expect(await failure(copyVault(source.location, url))).toBe('VAULT_EXISTS')

    const back = fresh()
    expect(await copyVault(url, back)).toMatchObject({from: url, to: back})
    const plain = await ageDecrypt(readFileSync(back), {identities: [source.identity]}, back)
    expect(plain).toBe(await ageDecrypt(readFileSync(source.location), {identities: [source.identity]}, back))
  })
})

describe('upgradeVault', () => {
  it('signs a vault from before vaults were signed, telling first what it vouches for; then leaves it', async () => {
    const me = await newIdentity()
    const location = fresh()
    const legacy = {...newDocument({name: 'old', now: NOW, recipients: [me.recipient]}), version: 1}
    writeFileSync(location, await ageEncrypt(JSON.stringify(legacy), {recipients: [me.recipient]}))
    const key = {identities: [me.identity]}
    expect(await failure(open(location, key))).toBe('VAULT_NOT_AUTHENTIC')

    const heard: unknown[] = []
    const vault = await Vault.open(location, async () => key, {legacy: true})
    const upgraded = await upgradeVault(vault, (what) => heard.push(what))
    expect(heard).toEqual([{clients: [], issuer: 'old', location, passphrase: false, recipients: [me.recipient]}])
    expect(upgraded).toMatchObject({formatVersion: 2, location, upgraded: true})
    expect((await open(location, key)).signer?.vaultId).toBe(upgraded.vaultId)

    const again = await upgradeVault(await open(location, key), (what) => heard.push(what))
    expect(again).toMatchObject({upgraded: false, vaultId: upgraded.vaultId})
    expect(heard).toHaveLength(1)
  })
})
