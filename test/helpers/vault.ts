import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll} from 'vitest'

import {newDocument} from '../../src/model/document.js'
import {newIdentity} from '../../src/vault/age.js'
import {Vault} from '../../src/vault/vault.js'

/** A real vault file in a temporary directory, for tests that drive src/core in-process. */
export async function tempVault(name = 'JWTIS'): Promise<{dir: string; identity: string; vault: Vault}> {
  const dir = mkdtempSync(join(tmpdir(), 'jwtis-core-'))
  afterAll(() => rmSync(dir, {force: true, recursive: true}))
  const {identity, recipient} = await newIdentity()
  const vault = await Vault.create(join(dir, 'vault.age'), newDocument({name, recipients: [recipient]}), {
    identities: [identity],
  })
  return {dir, identity, vault}
}

/** A clock tests move by hand. */
export function manualClock(start = Date.parse('2026-11-22T12:00:00Z')) {
  let now = start
  const clock = () => now
  clock.advance = (ms: number) => {
    now += ms
  }

  return clock
}

/**
 * Signs claims with a client's active signing key, read from the vault file with its identity:
 * a token the issuer's rules would never mint, as a malicious client holding its key could.
 */
export async function signWithVaultKey(
  path: string,
  identityFile: string,
  client: string,
  claims: Record<string, unknown>,
  header?: Record<string, unknown>,
): Promise<string> {
  const {readFileSync} = await import('node:fs')
  const {importJWK, SignJWT} = await import('jose')
  const identities = readFileSync(identityFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'))
  const vault = await Vault.open(path, async () => ({identities}))
  const key = vault.document.clients[client].keys.find((k) => k.use === 'sig' && k.state === 'active')!
  const {alg, kid} = key.jwk
  return new SignJWT(claims)
    .setProtectedHeader({alg, kid, ...(header ?? {typ: 'at+jwt'})})
    .sign(await importJWK({...key.jwk, alg: undefined, use: undefined}, alg === 'EdDSA' ? 'Ed25519' : alg))
}
