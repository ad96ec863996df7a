import {spawn, spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {readdirSync, readFileSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, expect, it} from 'vitest'

import {BIN, cleanEnv, hasTool, json, jwtis, NODE, scratch} from '../helpers/cli.js'
import {cli, cliOk} from '../helpers/run-command.js'
import {ageDecrypt} from '../helpers/tools.js'

const HAS_AGE = hasTool('age', ['--version'], 'the tests that open the vault with Debian age')

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

/** Runs `node args…` and kills it with SIGKILL after a random delay in [min, min + spread) ms. */
async function killMidway(args: string[], env: NodeJS.ProcessEnv, min: number, spread: number): Promise<void> {
  const child = spawn(NODE, args, {env, stdio: 'ignore'})
  const exited = new Promise((resolve) => {
    child.on('close', resolve)
  })
  await sleep(min + Math.random() * spread)
  child.kill('SIGKILL')
  await exited
}

/** Every file below `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
}

async function newVault(extraArgs: string[] = [], env: Record<string, string> = {}) {
  const s = scratch()
  const vault = join(s.dir, 'data', 'vault.age')
  const init = json<{identity_file: string; recipient: string; vault: string}>(
    await cliOk(['init', '--vault', vault, '--json', ...extraArgs], {env: {...s.env, ...env}}),
  )
  return {...s, init, vault}
}

describe('init', () => {
  it('creates a vault and an identity file readable only by the user', async () => {
    const {config, init, vault} = await newVault()
    expect(init.vault).toBe(vault)
    expect(init.identity_file).toBe(join(config, 'identity.txt'))
    expect(init.recipient).toMatch(/^age1[a-z0-9]{58}$/)
    expect(statSync(init.identity_file).mode & 0o777).toBe(0o600)
    expect(statSync(vault).mode & 0o077).toBe(0)
    expect(readFileSync(init.identity_file, 'utf8')).toContain(`# public key: ${init.recipient}`)
  })

  it('refuses to overwrite an existing vault (exit 5) and leaves it as it was', async () => {
    const {env, vault} = await newVault()
    const before = sha(vault)
    const again = await cli(['init', '--vault', vault, '--json'], {env})
    expect(again.code).toBe(5)
    expect(json(again)).toEqual({error: {code: 'VAULT_EXISTS', message: expect.stringContaining(vault)}})
    expect(sha(vault)).toBe(before)
  })

  it('reuses the saved identity for a second vault instead of overwriting it', async () => {
    const {dir, env, init} = await newVault()
    const identityBefore = readFileSync(init.identity_file, 'utf8')
    const second = json<{recipient: string}>(await cliOk(['init', '--vault', join(dir, 'other.age'), '--json'], {env}))
    expect(second.recipient).toBe(init.recipient)
    expect(readFileSync(init.identity_file, 'utf8')).toBe(identityBefore)
  })

  it("makes the identity where --identity names it, and unlocks in the contract's order", async () => {
    const s = scratch()
    const vault = join(s.dir, 'v.age')
    const mine = join(s.dir, 'keys', 'mine.txt')
    const init = json<any>(await cliOk(['init', '--vault', vault, '--identity', mine, '--json'], {env: s.env}))
    expect(init.identity_file).toBe(mine)
    expect(statSync(mine).mode & 0o777).toBe(0o600)
    const other = join(s.dir, 'other.txt')
    spawnSync('age-keygen', ['-o', other])
    const right = readFileSync(mine, 'utf8').match(/AGE-SECRET-KEY-\w+/)![0]
    const wrong = readFileSync(other, 'utf8').match(/AGE-SECRET-KEY-\w+/)![0]
    const list = (args: string[], env: Record<string, string>) =>
      cli(['client', 'list', '--vault', vault, '--json', ...args], {env: {...s.env, ...env}})
    // --identity first, then JWTIS_AGE_KEY, then JWTIS_AGE_KEY_FILE; the first found wins
    expect((await list(['--identity', mine], {JWTIS_AGE_KEY: wrong, JWTIS_AGE_KEY_FILE: other})).code).toBe(0)
    expect((await list([], {JWTIS_AGE_KEY: right, JWTIS_AGE_KEY_FILE: other})).code).toBe(0)
    expect((await list([], {JWTIS_AGE_KEY: wrong, JWTIS_AGE_KEY_FILE: mine})).code).toBe(3)
    expect((await list([], {JWTIS_AGE_KEY_FILE: mine})).code).toBe(0)
    // nothing given and nothing saved: exit 3, naming what to pass
    const none = await list([], {})
    expect([none.code, json<any>(none).error.code]).toEqual([3, 'VAULT_BAD_KEY'])
    expect(json<any>(none).error.message).toContain('--identity')
  })

  it('prints the identity only with --print-identity', async () => {
    const s = scratch()
    const quiet = await cliOk(['init', '--vault', join(s.dir, 'a.age')], {env: s.env})
    expect(quiet.stdout).toBe('')
    expect(quiet.stderr).toContain('identity')
    expect(quiet.stderr).not.toContain('AGE-SECRET-KEY')
    const shown = await cliOk(['init', '--vault', join(s.dir, 'b.age'), '--print-identity', '--json'], {env: s.env})
    const saved = readFileSync(join(s.config, 'identity.txt'), 'utf8')
    expect(saved).toContain(json<{identity: string}>(shown).identity)
  })

  it('asks for nothing without a terminal: --passphrase needs JWTIS_PASSPHRASE (usage error)', async () => {
    const s = scratch()
    const result = await cli(['init', '--vault', join(s.dir, 'v.age'), '--passphrase'], {env: s.env})
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/JWTIS_PASSPHRASE/)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(readdirSync(s.dir)).not.toContain('v.age')
  })

  it('stores the defaults given as flags and rejects bad ones', async () => {
    const {env, vault} = await newVault([
      '--name',
      'https://auth.example',
      '--sig-alg',
      'EdDSA',
      '--access-ttl',
      '1h30m',
    ])
    const status = json<{defaults: Record<string, string>; issuer: string}>(
      await cliOk(['vault', 'status', '--vault', vault, '--json'], {env}),
    )
    expect(status.issuer).toBe('https://auth.example')
    expect(status.defaults).toMatchObject({access_ttl: '1h30m', sig_alg: 'EdDSA'})
    const bad = await cli(['init', '--vault', `${vault}.2`, '--refresh-ttl', 'soon', '--json'], {env})
    expect(bad.code).toBe(2)
    expect(json(bad)).toMatchObject({error: {code: 'USAGE'}})
  })
})

describe('client add/list/show/remove', () => {
  it('creates keys for every algorithm with RFC 7638 kids, and a client token shown once', async () => {
    const {env, vault} = await newVault()
    const algs = [
      ['ES384', 'ECDH-ES', 'A128GCM'],
      ['EdDSA', 'ECDH-ES+A128KW', 'A192GCM'],
      ['RS256', 'RSA-OAEP', 'A256GCM'],
      ['PS512', 'RSA-OAEP-256', 'A256GCM'],
    ]
    for (const [i, [sig, encAlg, enc]] of algs.entries()) {
      const out = json<any>(
        await cliOk(
          ['client', 'add', `c${i}`, '--vault', vault, '--sig-alg', sig, '--enc-alg', encAlg, '--enc', enc, '--json'],
          {env},
        ),
      )
      expect(out.kid).toBe(`c${i}`)
      expect(out.client_token).toMatch(/^jwtis_[\w-]{43}$/)
      expect(out.pub_sig_key).toMatchObject({alg: sig, use: 'sig'})
      expect(out.pub_enc_key).toMatchObject({alg: encAlg, use: 'enc'})
      expect(out.pub_sig_key.d).toBeUndefined()
      expect(out.pub_enc_key.d).toBeUndefined()
      if (sig.startsWith('RS') || sig.startsWith('PS'))
        expect(Buffer.from(out.pub_sig_key.n, 'base64url').length * 8).toBeGreaterThanOrEqual(2048)
      if (sig === 'EdDSA') expect(out.pub_sig_key.crv).toBe('Ed25519')
      if (sig === 'ES384') expect(out.pub_sig_key.crv).toBe('P-384')
      const {calculateJwkThumbprint} = await import('jose')
      expect(out.pub_sig_key.kid).toBe(await calculateJwkThumbprint(out.pub_sig_key))
      expect(out.pub_enc_key.kid).toBe(await calculateJwkThumbprint(out.pub_enc_key))
      const shown = json<any>(await cliOk(['client', 'show', `c${i}`, '--vault', vault, '--json'], {env}))
      expect(shown.client_token).toBeUndefined()
      expect(shown.pub_sig_key).toEqual(out.pub_sig_key)
      expect(JSON.stringify(shown)).not.toMatch(/"d":/)
    }

    const list = json<Array<{kid: string}>>(await cliOk(['client', 'list', '--vault', vault, '--json'], {env}))
    expect(list.map((c) => c.kid)).toEqual(['c0', 'c1', 'c2', 'c3'])
  })

  it('prints the client token alone on stdout in human mode', async () => {
    const {env, vault} = await newVault()
    const out = await cliOk(['client', 'add', 'billing', '--vault', vault], {env})
    expect(out.stdout).toMatch(/^jwtis_[\w-]{43}\n$/)
  })

  it('answers CLIENT_EXISTS (5), CLIENT_NOT_FOUND (4) and a bad name (2)', async () => {
    const {env, vault} = await newVault()
    await cliOk(['client', 'add', 'a', '--vault', vault], {env})
    const dup = await cli(['client', 'add', 'a', '--vault', vault, '--json'], {env})
    expect([dup.code, json<any>(dup).error.code]).toEqual([5, 'CLIENT_EXISTS'])
    const missing = await cli(['client', 'show', 'nobody', '--vault', vault, '--json'], {env})
    expect([missing.code, json<any>(missing).error.code]).toEqual([4, 'CLIENT_NOT_FOUND'])
    const bad = await cli(['client', 'add', '../etc', '--vault', vault], {env})
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^Error: invalid client name/)
  })

  it('removes a client only with --yes when there is no terminal', async () => {
    const {env, vault} = await newVault()
    await cliOk(['client', 'add', 'gone', '--vault', vault], {env})
    const refused = await cli(['client', 'remove', 'gone', '--vault', vault], {env})
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('--yes')
    await cliOk(['client', 'remove', 'gone', '--yes', '--vault', vault], {env})
    expect(json<unknown[]>(await cliOk(['client', 'list', '--vault', vault, '--json'], {env}))).toEqual([])
  })
})

describe.skipIf(!HAS_AGE)('the vault stays readable by Debian age', () => {
  it('opens with `age -d -i IDENTITY` and holds the client with its private keys as JWKs', async () => {
    const {env, init, vault} = await newVault()
    const added = json<any>(await cliOk(['client', 'add', 'billing', '--vault', vault, '--json'], {env}))
    const doc = ageDecrypt(init.identity_file, vault)
    expect(doc.version).toBe(2)
    const {keys} = doc.clients.billing
    expect(keys.map((k: any) => k.jwk.kid)).toEqual([added.pub_sig_key.kid, added.pub_enc_key.kid])
    expect(keys[0].jwk.d).toEqual(expect.any(String))
    expect(doc.clients.billing.tokenHash).toMatch(/^sha256:/)
    expect(JSON.stringify(doc)).not.toContain(added.client_token)
  })

  it('an extra --recipient can open it too', async () => {
    const s = scratch()
    const keyFile = join(s.dir, 'other.txt')
    spawnSync('age-keygen', ['-o', keyFile])
    const recipient = /public key: (age1\w+)/.exec(readFileSync(keyFile, 'utf8'))![1]
    const vault = join(s.dir, 'v.age')
    const init = json<{vault_id: string}>(
      await cliOk(['init', '--vault', vault, '--recipient', recipient, '--json'], {env: s.env}),
    )
    await cliOk(['client', 'add', 'x', '--vault', vault], {env: s.env})
    expect(Object.keys(ageDecrypt(keyFile, vault).clients)).toEqual(['x'])
    // and that key unlocks it for jwtis as well, given the vault id (the other holder's writes are signed under it)
    const list = await cliOk(['client', 'list', '--vault', vault, '--json'], {
      env: {JWTIS_AGE_KEY_FILE: keyFile, JWTIS_CONFIG_DIR: join(s.dir, 'none'), JWTIS_VAULT_ID: init.vault_id},
    })
    expect(json<unknown[]>(list)).toHaveLength(1)
  })

  it('a passphrase vault opens with age and JWTIS_PASSPHRASE, and a wrong passphrase exits 3', async () => {
    const s = scratch()
    const vault = join(s.dir, 'p.age')
    const pass = {JWTIS_PASSPHRASE: 'correct horse battery staple', ...s.env}
    const init = json<any>(await cliOk(['init', '--vault', vault, '--passphrase', '--json'], {env: pass}))
    expect(init).toEqual({
      identity_file: null,
      is_default: true,
      recipient: null,
      vault,
      vault_id: expect.stringMatching(/^jwtis-vault-/),
    })
    await cliOk(['client', 'add', 'p', '--vault', vault], {env: pass})
    const before = sha(vault)
    const wrong = await cli(['client', 'list', '--vault', vault, '--json'], {env: {...s.env, JWTIS_PSWD: 'wrong'}})
    expect([wrong.code, json<any>(wrong).error.code]).toEqual([3, 'VAULT_BAD_KEY'])
    expect(sha(vault)).toBe(before)
    const none = await cli(['client', 'list', '--vault', vault], {env: s.env})
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('JWTIS_PASSPHRASE')
    // age reads a passphrase only from a terminal: feed it one through `script`.
    const out = spawnSync('script', ['-qec', `age -d ${vault}`, '/dev/null'], {
      encoding: 'utf8',
      input: `${pass.JWTIS_PASSPHRASE}\n`,
    })
    expect(out.stdout).toContain('"p"')
  })
})

describe('unusable vaults exit 3 and are never modified', () => {
  const cases: Array<[string, (v: string, dir: string) => Record<string, string>, string]> = [
    [
      'wrong identity',
      (_v, dir) => {
        const other = join(dir, 'other.txt')
        spawnSync('age-keygen', ['-o', other])
        return {JWTIS_AGE_KEY_FILE: other}
      },
      'VAULT_BAD_KEY',
    ],
    [
      'truncated file',
      (v) => {
        truncateSync(v, statSync(v).size - 20)
        return {}
      },
      'VAULT_CORRUPT',
    ],
    [
      'truncated header',
      (v) => {
        truncateSync(v, 40)
        return {}
      },
      'VAULT_CORRUPT',
    ],
    [
      'random bytes',
      (v) => {
        writeFileSync(v, randomBytes(700))
        return {}
      },
      'VAULT_CORRUPT',
    ],
    [
      'a flipped payload byte',
      (v) => {
        const bytes = readFileSync(v)
        bytes[bytes.length - 30] ^= 1
        writeFileSync(v, bytes)
        return {}
      },
      'VAULT_CORRUPT',
    ],
  ]

  it.skipIf(!HAS_AGE).each(cases)('%s', async (_name, damage, code) => {
    const {dir, env, vault} = await newVault()
    await cliOk(['client', 'add', 'a', '--vault', vault], {env})
    const extra = damage(vault, dir)
    const before = sha(vault)
    for (const args of [
      ['client', 'list'],
      ['client', 'add', 'b'],
      ['vault', 'status'],
    ]) {
      const result = await cli([...args, '--vault', vault, '--json'], {env: {...env, ...extra}})
      expect(result.code).toBe(3)
      expect(json<any>(result).error.code).toBe(code)
      expect(result.stderr).not.toMatch(/at .*\.js:\d+/)
    }

    const human = await cli(['client', 'add', 'b', '--vault', vault], {env: {...env, ...extra}})
    expect(human.stderr.trim().split('\n')).toHaveLength(1)
    expect(sha(vault)).toBe(before)
  })

  it('a missing vault is VAULT_NOT_FOUND and nothing is created', async () => {
    const s = scratch()
    const result = await cli(['client', 'list', '--vault', join(s.dir, 'nope.age'), '--json'], {env: s.env})
    expect([result.code, json<any>(result).error.code]).toEqual([3, 'VAULT_NOT_FOUND'])
    expect(json<any>(result).error.message).toContain('jwtis init')
    expect(readdirSync(s.dir)).toEqual([])
  })

  it.skipIf(!HAS_AGE)('a vault with a newer format version is refused, not rewritten', async () => {
    const {env, init, vault} = await newVault()
    const doc = ageDecrypt(init.identity_file, vault)
    doc.version = 3
    spawnSync('age', ['-r', init.recipient, '-o', vault], {input: JSON.stringify(doc)})
    const before = sha(vault)
    const result = await cli(['client', 'add', 'x', '--vault', vault, '--json'], {env})
    expect([result.code, json<any>(result).error.code]).toEqual([3, 'VAULT_TOO_NEW'])
    expect(sha(vault)).toBe(before)
  })
})

describe('concurrency and crashes', () => {
  it('8 processes adding clients at the same moment: all 8 are kept', async () => {
    const {env, vault} = await newVault()
    const results = await Promise.all(
      Array.from({length: 8}, (_, i) => jwtis(['client', 'add', `p${i}`, '--vault', vault], {env})),
    )
    expect(results.map((r) => r.code)).toEqual(Array.from({length: 8}, () => 0))
    const list = json<Array<{kid: string}>>(await cliOk(['client', 'list', '--vault', vault, '--json'], {env}))
    expect(list.map((c) => c.kid).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'])
    expect(readdirSync(join(vault, '..')).sort()).toEqual(['vault.age'])
  })

  it('SIGKILL at random moments while writing never leaves a vault that does not open', async () => {
    const {env, vault} = await newVault()
    // A writer that updates the vault in a tight loop, so that kills land mid-write.
    const writer = `
      import {Vault} from ${JSON.stringify(join(BIN, '../../dist/vault/vault.js'))}
      import {keyResolver} from ${JSON.stringify(join(BIN, '../../dist/vault/unlock.js'))}
      const v = await Vault.open(process.argv[1], keyResolver({env: process.env, defaultIdentityFile: process.env.ID}))
      for (let i = 0; ; i++) await v.update((doc) => { doc.issuer.name = 'n' + process.pid + '-' + i })
    `
    const identity = join(env.JWTIS_CONFIG_DIR, 'identity.txt')
    const names = new Set<string>()
    for (let round = 0; round < 12; round++) {
      await killMidway(['--input-type=module', '-e', writer, vault], cleanEnv({ID: identity}), 500, 1000)
      // The vault opens (old or new content), a stale lock does not block the next writer,
      // and the next writer's change lands.
      const status = json<{issuer: string}>(await cliOk(['vault', 'status', '--vault', vault, '--json'], {env}))
      names.add(status.issuer)
      await cliOk(['client', 'add', `k${round}`, '--vault', vault], {env})
    }

    expect(names.size).toBeGreaterThan(1) // the writer really did write before it was killed
    const list = json<Array<{kid: string}>>(await cliOk(['client', 'list', '--vault', vault, '--json'], {env}))
    expect(list).toHaveLength(12)
    expect(readdirSync(join(vault, '..')).filter((f) => f.endsWith('.tmp'))).toEqual([])
    // (12 rounds of start, write, kill: on two cores shared with the rest of the suite that can take a minute)
  }, 180_000)

  it('a CLI killed with SIGKILL mid-command leaves the vault usable', async () => {
    const {env, vault} = await newVault()
    for (let round = 0; round < 5; round++) {
      await killMidway(
        [BIN, 'client', 'add', `r${round}`, '--sig-alg', 'RS256', '--vault', vault],
        cleanEnv(env),
        300,
        600,
      )
      await cliOk(['client', 'list', '--vault', vault], {env})
    }
  })
})

describe('secrets stay secret', () => {
  it.skipIf(!HAS_AGE)('no private key or client token appears in plaintext in any file by the vault', async () => {
    const {config, dir, env, init, vault} = await newVault()
    const tokens: string[] = []
    for (const name of ['a', 'b'])
      tokens.push(json<any>(await cliOk(['client', 'add', name, '--vault', vault, '--json'], {env})).client_token)
    const doc = ageDecrypt(init.identity_file, vault)
    const secrets = [
      ...tokens,
      init.recipient && readFileSync(init.identity_file, 'utf8').match(/AGE-SECRET-KEY-\w+/)![0],
    ]
    for (const client of Object.values<any>(doc.clients)) for (const k of client.keys) secrets.push(k.jwk.d)
    expect(secrets.length).toBe(7)
    const identityFile = join(config, 'identity.txt')
    for (const file of files(dir).filter((f) => f !== identityFile)) {
      const text = readFileSync(file).toString('latin1')
      for (const secret of secrets) expect(text.includes(secret), `${secret.slice(0, 6)}… in ${file}`).toBe(false)
    }
  })
})
