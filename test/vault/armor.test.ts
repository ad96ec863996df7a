import {readFileSync, writeFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import {addClient} from '../../src/core/clients.js'
import {FORMAT_VERSION} from '../../src/model/document.js'
import {ageDecrypt, dearmor} from '../../src/vault/age.js'
import {Vault} from '../../src/vault/vault.js'
import {tempVault} from '../helpers/vault.js'

describe('ASCII-armored vaults', () => {
  it('are written armored, and an armor cut short or altered anywhere is VAULT_CORRUPT', async () => {
    const {identity, vault} = await tempVault()
    const text = readFileSync(vault.path, 'latin1')
    expect(text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----\n')).toBe(true)
    expect(text.endsWith('-----END AGE ENCRYPTED FILE-----\n')).toBe(true)
    const key = {identities: [identity]}
    expect(JSON.parse(await ageDecrypt(Buffer.from(text, 'latin1'), key, 'v')).version).toBe(FORMAT_VERSION)
    const damaged = [
      text.slice(0, -20), // the end line cut
      text.replace('-----END AGE ENCRYPTED FILE-----', '-----END AGE ENCRYPTED FIL-----'),
      flip(text, text.length - 60), // one base64 character of the payload
      text.replace(/\n(?=[^\n]*\n-----END)/, '\n\n'), // a blank line in the body
    ]
    for (const bad of damaged) {
      await expect(ageDecrypt(Buffer.from(bad, 'latin1'), key, 'v')).rejects.toMatchObject({code: 'VAULT_CORRUPT'})
    }
  })

  it('a binary vault (as earlier versions wrote) opens, and its next write armors it', async () => {
    const {identity, vault} = await tempVault()
    const binary = dearmor(readFileSync(vault.path))!
    expect(Buffer.from(binary.subarray(0, 21)).toString()).toBe('age-encryption.org/v1')
    writeFileSync(vault.path, binary)
    const reopened = await Vault.open(vault.path, async () => ({identities: [identity]}))
    await addClient(reopened, 'app', {})
    expect(readFileSync(vault.path, 'latin1')).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n/)
    const again = await Vault.open(vault.path, async () => ({identities: [identity]}))
    expect(Object.keys(again.document.clients)).toEqual(['app'])
  })
})

function flip(text: string, at: number): string {
  return text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
}
