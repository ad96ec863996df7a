import type {JWK, KeyUse} from '../jose/keys.js'
import type {Vault} from '../vault/vault.js'

import {ConflictError} from '../common/errors.js'
import {checkKeyFits} from '../jose/private-key.js'
import {clientSettings, getClient} from './clients.js'
import {keyRecord, secretKey} from './keys.js'
import {installKeys, type RotatedKey} from './rotation.js'

/**
 * Makes an existing private key the client's active key for `use`; the old one is retired as
 * `keys rotate` retires it. The key must fit the client's algorithm for that use.
 */
export async function importKey(
  vault: Vault,
  client: string,
  use: KeyUse,
  jwk: JWK,
  options: {graceMs?: number; now: number; source: string},
): Promise<RotatedKey> {
  getClient(vault.document, client)
  const s = clientSettings(vault.document, client)
  const alg = use === 'sig' ? s.sigAlg : s.encAlg
  checkKeyFits(jwk, alg, options.source)
  const now = new Date(options.now)
  const key =
    jwk.kty === 'oct' && use === 'sig'
      ? await secretKey(s.sigAlg, Buffer.from(jwk.k!, 'base64url'), now)
      : await keyRecord(use, alg, jwk, now)
  if (Object.values(vault.document.clients).some((c) => c.keys.some((k) => k.jwk.kid === key.jwk.kid))) {
    throw new ConflictError('KEY_EXISTS', `${options.source} is already in the vault (kid ${key.jwk.kid})`)
  }

  const [installed] = await installKeys(vault, [{client, key}], options)
  return installed
}
