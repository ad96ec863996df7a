import {spawnSync} from 'node:child_process'
import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {hasTool, json, jwtis, jwtisOk, scratch} from '../helpers/cli.js'

const HAS_AGE = hasTool('age', ['--version'], 'the vault rekey tests')

describe('config', () => {
  it('sets, gets, lists and unsets settings, and the vault setting is used', async () => {
    const s = scratch()
    const vault = join(s.dir, 'elsewhere', 'v.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    // init made it the default (there was none); unset, it is gone
    expect((await jwtisOk(['config', 'get', 'vault'], {env: s.env})).stdout.trim()).toBe(vault)
    await jwtisOk(['config', 'unset', 'vault'], {env: s.env})
    const unset = await jwtis(['config', 'get', 'vault', '--json'], {env: s.env})
    expect([unset.code, json<any>(unset).error.code]).toEqual([4, 'SETTING_NOT_FOUND'])
    await jwtisOk(['config', 'set', 'vault', vault], {cwd: s.dir, env: s.env})
    expect((await jwtisOk(['config', 'get', 'vault'], {env: s.env})).stdout.trim()).toBe(vault)
    expect(json(await jwtisOk(['config', 'list', '--json'], {env: s.env}))).toEqual({vault})
    // commands now find the vault without --vault
    expect(json<any>(await jwtisOk(['vault', 'status', '--json'], {env: s.env})).path).toBe(vault)
    // JWTIS_VAULT and --vault still come first
    const viaEnv = await jwtis(['vault', 'status', '--json'], {env: {...s.env, JWTIS_VAULT: join(s.dir, 'none.age')}})
    expect(json<any>(viaEnv).error.code).toBe('VAULT_NOT_FOUND')
    await jwtisOk(['config', 'unset', 'vault'], {env: s.env})
    expect(json(await jwtisOk(['config', 'list', '--json'], {env: s.env}))).toEqual({})
    const bad = await jwtis(['config', 'set', 'password', 'x'], {env: s.env})
    expect(bad.code).toBe(2)
    expect(readFileSync(join(s.config, 'config.json'), 'utf8')).not.toContain('password')
  })
})

describe.skipIf(!HAS_AGE)('vault rekey', () => {
  it('adds and removes recipients, moves to a new identity, and to a passphrase and back', async () => {
    const s = scratch()
    const vault = join(s.dir, 'v.age')
    const {env} = s
    await jwtisOk(['init', '--vault', vault], {env})
    await jwtisOk(['client', 'add', 'keep', '--vault', vault], {env})
    const other = join(s.dir, 'other.txt')
    spawnSync('age-keygen', ['-o', other])
    const otherRecipient = /public key: (age1\w+)/.exec(readFileSync(other, 'utf8'))![1]
    const ageOpens = (identity: string) => spawnSync('age', ['-d', '-i', identity, vault]).status === 0

    await jwtisOk(['vault', 'rekey', '--add-recipient', otherRecipient, '--vault', vault], {env})
    expect(ageOpens(other)).toBe(true)
    await jwtisOk(['vault', 'rekey', '--remove-recipient', otherRecipient, '--vault', vault], {env})
    expect(ageOpens(other)).toBe(false)

    const moved = json<any>(
      await jwtisOk(
        ['vault', 'rekey', '--new-identity', '--identity-file', join(s.dir, 'new.txt'), '--vault', vault, '--json'],
        {env},
      ),
    )
    expect(moved.identity_file).toBe(join(s.dir, 'new.txt'))
    expect(statSync(moved.identity_file).mode & 0o777).toBe(0o600)
    expect(ageOpens(join(s.config, 'identity.txt'))).toBe(false)
    expect(ageOpens(moved.identity_file)).toBe(true)
    const oldKey = await jwtis(['client', 'list', '--vault', vault, '--json'], {env})
    expect(json<any>(oldKey).error.code).toBe('VAULT_BAD_KEY')

    const withNew = {...env, JWTIS_AGE_KEY_FILE: moved.identity_file}
    const sealed = await jwtis(['vault', 'rekey', '--passphrase', '--vault', vault], {env: withNew})
    expect(sealed.code).toBe(2) // no JWTIS_NEW_PASSPHRASE and no terminal
    await jwtisOk(['vault', 'rekey', '--passphrase', '--vault', vault], {
      env: {...withNew, JWTIS_NEW_PASSPHRASE: 'a long passphrase'},
    })
    const status = json<any>(
      await jwtisOk(['vault', 'status', '--vault', vault, '--json'], {
        env: {...env, JWTIS_PASSPHRASE: 'a long passphrase'},
      }),
    )
    expect(status).toMatchObject({clients: 1, encryption: 'passphrase', recipients: []})
    const back = json<any>(
      await jwtisOk(
        ['vault', 'rekey', '--new-identity', '--identity-file', join(s.dir, 'back.txt'), '--vault', vault, '--json'],
        {env: {...env, JWTIS_PASSPHRASE: 'a long passphrase'}},
      ),
    )
    expect(back.encryption).toBe('x25519')
    expect(ageOpens(join(s.dir, 'back.txt'))).toBe(true)
    const again = await jwtis(
      ['vault', 'rekey', '--new-identity', '--identity-file', join(s.dir, 'back.txt'), '--vault', vault, '--json'],
      {env: {...env, JWTIS_AGE_KEY_FILE: join(s.dir, 'back.txt')}},
    )
    expect([again.code, json<any>(again).error.code]).toEqual([5, 'IDENTITY_EXISTS'])
    expect(
      json<any[]>(
        await jwtisOk(['client', 'list', '--vault', vault, '--json'], {
          env: {...env, JWTIS_AGE_KEY_FILE: join(s.dir, 'back.txt')},
        }),
      ),
    ).toHaveLength(1)
  })
})

describe('keys past key-ttl', () => {
  it('show as due in `vault status` and rotate on their next use', async () => {
    const s = scratch()
    const vault = join(s.dir, 'v.age')
    await jwtisOk(['init', '--vault', vault, '--key-ttl', '24h'], {env: s.env})
    await jwtisOk(['client', 'add', 'svc', '--vault', vault], {env: s.env})
    const later = {...s.env, JWTIS_NOW: new Date(Date.now() + 25 * 3_600_000).toISOString()}
    const status = json<any>(await jwtisOk(['vault', 'status', '--vault', vault, '--json'], {env: later}))
    // the issuer's key-wrapping key follows the defaults' key-ttl, and rotates on the client's next use too
    expect(status.keys_due.map((k: any) => `${k.client}/${k.use}`).sort()).toEqual(['null/enc', 'svc/enc', 'svc/sig'])
    const before = json<any[]>(await jwtisOk(['keys', 'list', '--vault', vault, '--json'], {env: s.env}))
    const token = (await jwtisOk(['token', 'issue', '--client', 'svc', '--vault', vault], {env: later})).stdout.trim()
    const {kid} = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())
    expect(before.map((k) => k.kid)).not.toContain(kid)
    const after = json<any[]>(await jwtisOk(['keys', 'list', '--vault', vault, '--json'], {env: later}))
    expect(
      after
        .filter((k) => k.state === 'retired')
        .map((k) => k.kid)
        .sort(),
    ).toEqual(before.map((k) => k.kid).sort())
    expect(json<any>(await jwtisOk(['vault', 'status', '--vault', vault, '--json'], {env: later})).keys_due).toEqual([])
  })
})
