import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

const names = async (entry: string) => Object.keys(await import(entry)).sort()

describe('the package as a library', () => {
  it('works through its package entry points alone (the built jwtis, jwtis/vault, jwtis/store)', async () => {
    const {addClient, Issuer, TokenRejectedError} = await import('jwtis')
    const {keyResolver, newDocument, newIdentity, Vault} = await import('jwtis/vault')
    const {openStore} = await import('jwtis/store')
    const dir = mkdtempSync(join(tmpdir(), 'jwtis-lib-'))
    const {identity, recipient} = await newIdentity()
    const path = join(dir, 'vault.age')
    await Vault.create(path, newDocument({name: 'lib', recipients: [recipient]}), {identities: [identity]})
    const vault = await Vault.open(
      path,
      keyResolver({defaultIdentityFile: join(dir, 'none'), env: {JWTIS_AGE_KEY: identity}}),
    )
    await addClient(vault, 'svc', {sigAlg: 'EdDSA'})
    const issuer = new Issuer(vault, () => openStore('memory', path, 'lib'))
    const {access_token: token, refresh_token: refresh} = await issuer.issue('svc', {custom: {a: 1}, refresh: true})
    expect((await issuer.verify(token, {leewayMs: 0})).payload).toMatchObject({a: 1, client_id: 'svc', iss: 'lib'})
    expect((await issuer.renew('svc', refresh!)).refresh_token).toBe(refresh)
    const rejected = await issuer.verify(`${token}x`, {leewayMs: 0}).catch((error: unknown) => error)
    expect(rejected).toBeInstanceOf(TokenRejectedError)
    await issuer.close()
  })

  it('names its public API: the internals (file locks, atomic writes, the fast path, key caches) stay internal', async () => {
    expect(await names('jwtis')).toEqual(
      // prettier-ignore
      ['ClaimsError', 'ConflictError', 'ENCS', 'ENC_ALGS', 'ERROR_CODES', 'Issuer', 'JwksError', 'JwtisError', 'Keyring', 'NotFoundError', 'REFRESH_STRATEGIES', 'RedisError', 'SIG_ALGS', 'StoreError', 'TokenRejectedError', 'UsageError', 'VaultError', 'addClient', 'clientView', 'copyVault', 'decodeToken', 'decryptJwe', 'effectiveSettings', 'encryptJwe', 'formatDuration', 'getClient', 'importKey', 'initVault', 'isJwtisError', 'keyRows', 'listClients', 'parseDuration', 'publicPem', 'publishedKeys', 'rekeyVault', 'removeClient', 'rotateKeys', 'updateClient', 'upgradeVault', 'verifyJws'],
    )
    expect(await names('jwtis/vault')).toEqual(
      // prettier-ignore
      ['DEFAULT_SETTINGS', 'FORMAT_VERSION', 'Vault', 'ageDecrypt', 'ageEncrypt', 'keyResolver', 'newDocument', 'newIdentity', 'parseIdentities', 'recipientOf', 'resolveVaultPath', 'storeKeyOf'],
    )
    expect(await names('jwtis/store')).toEqual(['openStore', 'storeChoice'])
  })
})
