/**
 * Vault authenticity (trust issue, item 1): age seals to public recipients, so anyone who can
 * write the vault file or its Redis key can seal a document of their own to them. Every attack
 * here is the one an outsider would run: their own jwtis vault (a client `evil` allowed the
 * victim's audience) re-sealed with `age -a -r RECIPIENT` over the victim's vault.
 */
import {spawnSync} from 'node:child_process'
import {copyFileSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {signDocument} from '../../src/vault/authenticity.js'
import {hasTool, json, type RunResult, scratch} from '../helpers/cli.js'
import {type RedisServer, startRedis} from '../helpers/redis.js'
import {cli, cliOk} from '../helpers/run-command.js'
import {serve, type Served} from '../helpers/serve.js'

const HAS_AGE = hasTool('age', ['--version'], 'the vault forgery tests (apt-get install age)')
const HAS_REDIS = hasTool('redis-server', ['--version'], 'the forged Redis vault tests (apt-get install redis-server)')

interface Holder {
  env: Record<string, string>
  identityFile: string
  recipient: string
}

/** A person with an identity of their own (their own config directory). */
async function holder(dir: string, name: string): Promise<Holder> {
  const config = join(dir, `${name}-config`)
  const identityFile = join(dir, `${name}.txt`)
  const made = spawnSync('age-keygen', ['-o', identityFile], {encoding: 'utf8'})
  if (made.status !== 0) throw new Error(made.stderr)
  const recipient = /public key: (age1\w+)/.exec(readFileSync(identityFile, 'utf8'))![1]
  return {env: {JWTIS_AGE_KEY_FILE: identityFile, JWTIS_CONFIG_DIR: config}, identityFile, recipient}
}

const identityOf = (h: Holder): string =>
  readFileSync(h.identityFile, 'utf8')
    .split('\n')
    .find((line) => line.startsWith('AGE-SECRET-KEY-'))!

const plain = (vault: string, identityFile: string): string => {
  const out = spawnSync('age', ['-d', '-i', identityFile, vault], {encoding: 'utf8'})
  if (out.status !== 0) throw new Error(out.stderr)
  return out.stdout
}

const seal = (text: string, recipients: string[]): string => {
  const out = spawnSync('age', ['-a', ...recipients.flatMap((r) => ['-r', r])], {encoding: 'utf8', input: text})
  if (out.status !== 0) throw new Error(out.stderr)
  return out.stdout
}

const refused = (result: RunResult) => {
  expect(result.code, result.stderr).toBe(3)
  expect(JSON.parse(result.stdout).error.code).toBe('VAULT_NOT_AUTHENTIC')
  expect(result.stderr).not.toMatch(/\n\s+at /) // one line, no stack
}

describe.skipIf(!HAS_AGE)('a vault that none of its holders wrote', () => {
  const s = scratch()
  let victim: Holder
  let attacker: Holder
  const vault = join(s.dir, 'victim.age')
  let genuine: string
  let forged: string
  let accessToken: string

  beforeAll(async () => {
    victim = await holder(s.dir, 'victim')
    attacker = await holder(s.dir, 'attacker')
    await cliOk(['init', '--vault', vault], {env: victim.env})
    await cliOk(['client', 'add', 'app', '--aud', 'api', '--vault', vault], {env: victim.env})
    accessToken = (
      await cliOk(['token', 'issue', '--client', 'app', '--sub', 'u1', '--vault', vault], {env: victim.env})
    ).stdout.trim()
    genuine = readFileSync(vault, 'utf8')

    // The attacker's own, perfectly valid jwtis vault, re-sealed to the victim's public recipient.
    const theirs = join(s.dir, 'attacker.age')
    await cliOk(['init', '--vault', theirs], {env: attacker.env})
    await cliOk(['client', 'add', 'evil', '--aud', 'api', '--vault', theirs], {env: attacker.env})
    forged = seal(plain(theirs, attacker.identityFile), [victim.recipient])
  })

  it('is refused by every command (exit 3, VAULT_NOT_AUTHENTIC), and the file is left as it is', async () => {
    writeFileSync(vault, forged)
    const evilToken = (
      await cli(['token', 'issue', '--client', 'evil', '--sub', 'x', '--vault', join(s.dir, 'attacker.age')], {
        env: attacker.env,
      })
    ).stdout.trim()
    for (const args of [
      ['client', 'list'],
      ['vault', 'status'],
      ['token', 'issue', '--client', 'evil', '--sub', 'x'], // the fast entry
      ['token', 'verify', '--aud', 'api', evilToken],
      ['keys', 'export'],
      ['client', 'add', 'another'], // a write never signs over a forged document
    ]) {
      refused(await cli([...args, '--vault', vault, '--json'], {env: victim.env}))
    }

    expect(readFileSync(vault, 'utf8')).toBe(forged)
    writeFileSync(vault, genuine)
    expect(
      json(await cliOk(['token', 'verify', '--aud', 'api', '--json', accessToken, '--vault', vault], {env: victim.env}))
        .valid,
    ).toBe(true)
  })

  it("refuses the victim's own document altered, and an unsigned (format 1) document in its place", async () => {
    const doc = JSON.parse(plain(vault, victim.identityFile))
    doc.clients.app.settings.aud = ['api', 'elsewhere']
    writeFileSync(vault, seal(JSON.stringify(doc), [victim.recipient]))
    const altered = await cli(['client', 'list', '--vault', vault, '--json'], {env: victim.env})
    refused(altered)
    expect(JSON.parse(altered.stdout).error.message).toMatch(/signature does not verify/)

    // A downgrade: the signature block dropped and the format set back to the unsigned one.
    const unsigned = {...JSON.parse(plain(join(s.dir, 'attacker.age'), attacker.identityFile)), version: 1}
    delete unsigned.auth
    writeFileSync(vault, seal(JSON.stringify(unsigned), [victim.recipient]))
    const downgraded = await cli(['token', 'issue', '--client', 'evil', '--vault', vault, '--json'], {
      env: victim.env,
    })
    refused(downgraded)
    expect(JSON.parse(downgraded.stdout).error.message).toMatch(/jwtis vault upgrade/)
    writeFileSync(vault, genuine)
  })

  it('is opened by CI with the identity alone (JWTIS_AGE_KEY, no config, no vault id)', async () => {
    const key = readFileSync(victim.identityFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-'))!
    const env = {JWTIS_AGE_KEY: key, JWTIS_CONFIG_DIR: join(s.dir, 'ci-config')}
    expect(json<{clients: number}>(await cliOk(['vault', 'status', '--vault', vault, '--json'], {env})).clients).toBe(1)
    writeFileSync(vault, forged)
    refused(await cli(['vault', 'status', '--vault', vault, '--json'], {env}))
    writeFileSync(vault, genuine)
  })
})

describe.skipIf(!HAS_AGE)('several holders', () => {
  const s = scratch()
  const vault = join(s.dir, 'shared.age')
  let a: Holder
  let b: Holder
  let vaultId: string

  beforeAll(async () => {
    a = await holder(s.dir, 'a')
    b = await holder(s.dir, 'b')
    const init = await cliOk(['init', '--vault', vault, '--recipient', b.recipient], {env: a.env})
    expect(init.stderr).toMatch(
      /Vault id: jwtis-vault-\S+ \(pinned here in the vault-id setting\)\. Give it to the other holders/,
    )
    vaultId = json<{vault_id: string}>(
      await cliOk(['vault', 'status', '--vault', vault, '--json'], {env: a.env}),
    ).vault_id
    expect(vaultId).toMatch(/^jwtis-vault-[\w-]{43}$/)
  })

  it("write in turn and each reads the other's writes, B with the one vault id A gave", async () => {
    const unpinned = await cli(['client', 'list', '--vault', vault, '--json'], {env: b.env})
    refused(unpinned)
    expect(JSON.parse(unpinned.stdout).error.message).toMatch(/JWTIS_VAULT_ID/)

    const bEnv = {...b.env, JWTIS_VAULT_ID: vaultId}
    await cliOk(['client', 'add', 'from-b', '--vault', vault], {env: bEnv})
    await cliOk(['client', 'add', 'from-a', '--vault', vault], {env: a.env})
    // the pin kept as a setting instead of the environment
    await cliOk(['config', 'set', 'vault-id', vaultId], {env: b.env})
    await cliOk(['client', 'add', 'from-b-again', '--vault', vault], {env: b.env})
    for (const env of [a.env, b.env]) {
      const names = json<Array<{name: string}>>(await cliOk(['client', 'list', '--vault', vault, '--json'], {env})).map(
        (c) => c.name,
      )
      expect(names.sort()).toEqual(['from-a', 'from-b', 'from-b-again'])
    }

    // B wrote last: A knows that write by the vault id `init --recipient` pinned for it
    const status = async (env: Record<string, string>) =>
      json<{signed_by: string; vault_id: string}>(await cliOk(['vault', 'status', '--vault', vault, '--json'], {env}))
    expect(await status(a.env)).toMatchObject({signed_by: 'pinned', vault_id: vaultId})
    expect(await status(b.env)).toMatchObject({signed_by: 'derived', vault_id: vaultId})
  })

  it('refuse a forged document, both of them', async () => {
    const genuine = readFileSync(vault, 'utf8')
    const mallory = await holder(s.dir, 'mallory')
    const theirs = join(s.dir, 'mallory.age')
    await cliOk(['init', '--vault', theirs], {env: mallory.env})
    writeFileSync(vault, seal(plain(theirs, mallory.identityFile), [a.recipient, b.recipient]))
    for (const env of [a.env, b.env]) refused(await cli(['client', 'list', '--vault', vault, '--json'], {env}))
    writeFileSync(vault, genuine)
  })

  it('a re-key that removes a holder signs with a new key; adding one keeps the vault id', async () => {
    const c = await holder(s.dir, 'c')
    const added = json<{vault_id: string}>(
      await cliOk(['vault', 'rekey', '--add-recipient', c.recipient, '--vault', vault, '--json'], {env: a.env}),
    )
    expect(added.vault_id).toBe(vaultId)
    copyFileSync(vault, join(s.dir, 'before-removal.age'))
    const removed = json<{vault_id: string}>(
      await cliOk(['vault', 'rekey', '--remove-recipient', b.recipient, '--vault', vault, '--json'], {env: a.env}),
    )
    expect(removed.vault_id).not.toBe(vaultId)
    expect(json(await cliOk(['client', 'list', '--vault', vault, '--json'], {env: a.env}))).toHaveLength(3)
    refused(await cli(['client', 'list', '--vault', vault, '--json'], {env: {...c.env, JWTIS_VAULT_ID: vaultId}}))
    await cliOk(['client', 'list', '--vault', vault, '--json'], {env: {...c.env, JWTIS_VAULT_ID: removed.vault_id}})
  })

  it('a removed holder who kept the old vault key cannot sign for the vault any more', async () => {
    // B read the vault while a holder: a copy from then, with the old vault key's seed in it.
    const kept = JSON.parse(plain(join(s.dir, 'before-removal.age'), b.identityFile))
    kept.clients.evil = kept.clients['from-a']
    kept.age.recipients = [a.recipient]
    signDocument(kept, 1000, {identities: [identityOf(b)]})
    const genuine = readFileSync(vault, 'utf8')
    writeFileSync(vault, seal(JSON.stringify(kept), [a.recipient]))
    refused(await cli(['client', 'list', '--vault', vault, '--json'], {env: a.env}))
    // nor with A's holder key named as the writer (B cannot make A's signature)
    kept.auth.holder = JSON.parse(plain(join(s.dir, 'before-removal.age'), a.identityFile)).auth.holder
    writeFileSync(vault, seal(JSON.stringify(kept), [a.recipient]))
    refused(await cli(['client', 'list', '--vault', vault, '--json'], {env: a.env}))
    writeFileSync(vault, genuine)
  })
})

describe.skipIf(!HAS_AGE)('vaults written before vaults were signed', () => {
  const s = scratch()
  it('are refused until `vault upgrade` signs them, which a signed vault does not need', async () => {
    const me = await holder(s.dir, 'me')
    const vault = join(s.dir, 'old.age')
    await cliOk(['init', '--vault', vault], {env: me.env})
    await cliOk(['client', 'add', 'app', '--vault', vault], {env: me.env})
    // What jwtis wrote before format 2: the same document without its signature block.
    const old = {...JSON.parse(plain(vault, me.identityFile)), version: 1}
    delete old.auth
    delete old.storeKey
    writeFileSync(vault, seal(JSON.stringify(old, null, 2), [me.recipient]))

    const before = await cli(['client', 'list', '--vault', vault, '--json'], {env: me.env})
    refused(before)
    expect(JSON.parse(before.stdout).error.message).toMatch(/format 1.*`jwtis vault upgrade`/)
    const upgrade = await cliOk(['vault', 'upgrade', '--vault', vault, '--json'], {env: me.env})
    expect(json(upgrade)).toMatchObject({format_version: 2, upgraded: true})
    expect(upgrade.stderr).toBe('') // --json: nothing for people
    const status = json<{clients: number; format_version: number}>(
      await cliOk(['vault', 'status', '--vault', vault, '--json'], {env: me.env}),
    )
    expect(status).toMatchObject({clients: 1, format_version: 2})
    // the upgrade also gives it the key the token store hashes subjects under
    expect(JSON.parse(plain(vault, me.identityFile)).storeKey).toMatch(/^[\w-]{43}$/)
    const again = await cliOk(['vault', 'upgrade', '--vault', vault], {env: me.env})
    expect(again.stderr).toMatch(/signed already/)
  })

  it('an upgrade talked into signing a forgery gives its forger no key the holder accepts later', async () => {
    const me = await holder(s.dir, 'me2')
    const mallory = await holder(s.dir, 'mallory')
    const vault = join(s.dir, 'lured.age')
    await cliOk(['init', '--vault', vault], {env: mallory.env})
    // unsigned, and sealed (as it says) to the victim and to the forger
    const forged = {...JSON.parse(plain(vault, mallory.identityFile)), version: 1}
    delete forged.auth
    forged.age.recipients = [me.recipient, mallory.recipient]
    writeFileSync(vault, seal(JSON.stringify(forged), forged.age.recipients))
    const upgrade = await cliOk(['vault', 'upgrade', '--vault', vault], {env: me.env})
    expect(upgrade.stderr).toContain(mallory.recipient) // it says to whom it seals

    // The forger reads the signed result, vault key and all, and signs a change with it.
    const signed = JSON.parse(plain(vault, mallory.identityFile))
    signed.issuer.name = 'changed later'
    signDocument(signed, signed.auth.serial, {identities: [identityOf(mallory)]})
    writeFileSync(vault, seal(JSON.stringify(signed), signed.age.recipients))
    refused(await cli(['vault', 'status', '--vault', vault, '--json'], {env: me.env}))
  })
})

/** Polls `check` until it holds (serve reloads its vault on a change notice or within a second). */
const eventually = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 60; i++) {
    if (await check()) return
    await sleep(100)
  }

  throw new Error('timed out')
}

describe.skipIf(!HAS_AGE || !HAS_REDIS)('serve, over a Redis vault someone else can write', () => {
  const s = scratch()
  let redis: RedisServer
  let served: Served
  let victim: Holder
  let url: string
  const key = 'jwtis:vault:{default}'
  let clientToken: string
  let evilToken: string
  let forged: string

  const redisCli = (...args: string[]) =>
    spawnSync('redis-cli', ['-p', String(redis.port), ...args], {encoding: 'utf8'})
  const health = async () => {
    const res = await fetch(`${served.url}/health`)
    return {body: (await res.json()) as {status: string; vault: string}, status: res.status}
  }

  beforeAll(async () => {
    redis = await startRedis()
    url = `${redis.url}`
    victim = await holder(s.dir, 'victim')
    await cliOk(['init', '--vault', url], {env: victim.env})
    clientToken = json<{client_token: string}>(
      await cliOk(['client', 'add', 'app', '--aud', 'api', '--vault', url, '--json'], {env: victim.env}),
    ).client_token
    const attacker = await holder(s.dir, 'attacker')
    const theirs = join(s.dir, 'attacker.age')
    await cliOk(['init', '--vault', theirs], {env: attacker.env})
    evilToken = json<{client_token: string}>(
      await cliOk(['client', 'add', 'evil', '--aud', 'api', '--vault', theirs, '--json'], {env: attacker.env}),
    ).client_token
    forged = seal(plain(theirs, attacker.identityFile), [victim.recipient])
    served = await serve(url, victim.env, ['--store', 'memory'])
  })

  afterAll(async () => {
    await served?.stop()
    await redis?.stop()
  })

  const setVault = (text: string) => {
    const set = spawnSync('redis-cli', ['-p', String(redis.port), '-x', 'SET', key], {encoding: 'utf8', input: text})
    expect(set.status).toBe(0)
    expect(redisCli('INCR', `${key}:version`).status).toBe(0)
  }

  it('keeps serving the last authentic document and says it is degraded', async () => {
    expect(await health()).toMatchObject({body: {status: 'ok', vault: 'ok'}, status: 200})
    const genuine = redisCli('--raw', 'GET', key).stdout
    setVault(forged)
    await eventually(async () => (await health()).status === 503)
    const h = await health()
    expect(h.body).toMatchObject({status: 'degraded', vault: 'degraded'})
    expect(JSON.stringify(h.body)).toMatch(/VAULT_NOT_AUTHENTIC/)

    const jwks = (await (await fetch(`${served.url}/.well-known/jwks.json`)).json()) as {keys: unknown[]}
    expect(jwks.keys).toHaveLength(2) // the victim's app: one signing key, one encryption key
    expect((await served.request('POST', '/issue_token', {claims: {sub: 'x'}, kid: 'evil'}, evilToken)).status).toBe(
      401,
    )
    expect((await served.request('POST', '/issue_token', {claims: {sub: 'u1'}, kid: 'app'}, clientToken)).status).toBe(
      201,
    )

    setVault(genuine.trimEnd())
    await eventually(async () => (await health()).status === 200)
  })

  it('never goes back to an older authentic copy than one it has served', async () => {
    const old = redisCli('--raw', 'GET', key).stdout.trimEnd()
    await cliOk(['client', 'add', 'later', '--vault', url], {env: victim.env})
    await eventually(async () => (await served.request('GET', '/keys/later')).status === 200)
    const newest = redisCli('--raw', 'GET', key).stdout.trimEnd()
    setVault(old) // replayed: from before `later` was added
    await eventually(async () => (await health()).status === 503)
    expect(JSON.stringify((await health()).body)).toMatch(/older copy/)
    expect((await served.request('GET', '/keys/later')).status).toBe(200)
    setVault(newest)
    await eventually(async () => (await health()).status === 200)
  })

  it('after FLUSHALL, or bytes that are no age file, says degraded', async () => {
    expect(redisCli('FLUSHALL').status).toBe(0)
    await eventually(async () => (await health()).status === 503)
    expect((await health()).body.vault).toBe('degraded')
    // what needs the stored vault waits for it (503), as when Redis is away, not an internal error
    const register = await served.request('POST', '/register/newcomer', {}, served.admin)
    expect([register.status, register.body.error.code]).toEqual([503, 'VAULT_NOT_FOUND'])
    setVault('not an age file')
    await sleep(1500)
    expect((await health()).body.vault).toBe('degraded')
  })
})
