import type {KeyRow} from '../../core/lifecycle.js'
import type {JWK} from '../../jose/keys.js'
import type {ActionContext} from './context.js'

import {UsageError} from '../../common/errors.js'
import {clock} from '../io.js'
import {canPrompt, columns} from '../output.js'

/** `keys export`'s flags, parsed. */
export interface ExportFlags {
  client?: string
  format: string
  'include-secret'?: boolean
  use?: string
  yes?: boolean
}

/** `jwtis keys list [--client C]`. */
export async function listKeysAction(ctx: ActionContext, client: string | undefined): Promise<KeyRow[]> {
  const {keyRows} = await import('../../core/lifecycle.js')
  const rows = keyRows((await ctx.openVault()).document, clock()(), client)
  if (!ctx.json) {
    const table = [
      ['CLIENT', 'USE', 'STATE', 'ALG', 'KID', 'CREATED', 'UNTIL'],
      ...rows.map((r) => [
        r.client ?? '(issuer)',
        r.use,
        r.state,
        r.alg,
        r.kid,
        r.created,
        r.retire_after ?? `rotates ${r.rotate_after}`,
      ]),
    ]
    for (const line of columns(table)) ctx.print(line)
  }

  return rows
}

/** `jwtis keys export`: public keys (secrets only when asked and confirmed), as a JWKS or PEM. */
export async function exportKeysAction(ctx: ActionContext, flags: ExportFlags): Promise<{keys: JWK[]} | {pem: string}> {
  const [{publicPem, publishedKeys}, {getClient}] = await Promise.all([
    import('../../core/lifecycle.js'),
    import('../../core/clients.js'),
  ])
  const doc = (await ctx.openVault()).document
  if (flags.client) getClient(doc, flags.client)
  const includeSecrets = flags['include-secret']
  if (includeSecrets && flags.format === 'pem')
    throw new UsageError('--include-secret prints oct JWKs: use it with --format jwks')
  const keys = publishedKeys(doc, clock()(), {
    client: flags.client,
    includeSecrets,
    use: flags.use as 'enc' | 'sig' | undefined,
  })
  if (includeSecrets && keys.some((k) => k.kty === 'oct')) await confirmSecrets(flags.yes)
  if (flags.format === 'jwks') {
    if (!ctx.json) ctx.print(JSON.stringify({keys}, null, 2))
    return {keys}
  }

  const pem = (await Promise.all(keys.map((jwk) => publicPem(jwk)))).join('')
  if (!ctx.json) process.stdout.write(pem)
  return {pem}
}

/** A secret on stdout is a decision: asked on a terminal, else it needs --yes. */
async function confirmSecrets(yes: boolean | undefined): Promise<void> {
  if (yes) return
  if (!canPrompt()) throw new UsageError('--include-secret prints shared secrets: add --yes (no terminal to ask on)')
  const {confirm} = await import('@inquirer/prompts')
  const sure = await confirm({default: false, message: 'Print HMAC secrets on stdout?'}, {output: process.stderr})
  if (!sure) throw new UsageError('cancelled: no secret printed')
}
