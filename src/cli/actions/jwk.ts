import type {JWK} from '../../jose/keys.js'
import type {CommandContext} from './context.js'

import {UsageError} from '../../common/errors.js'
import {ENC_ALGS, type SIG_ALGS} from '../../jose/algorithms.js'

/** `jwk create`'s flags, parsed. */
export interface CreateFlags {
  alg: string
  bits?: number
  format: string
  'public-out'?: string
}

/** `jwtis jwk create`: a new private JWK (or PEM) on stdout, its public half to a file if asked. */
export async function createAction(ctx: CommandContext, flags: CreateFlags): Promise<JWK> {
  const [{writeFile}, {generateKey}, {jwkToPem, publicJwk}] = await Promise.all([
    import('node:fs/promises'),
    import('../../core/keys.js'),
    import('../../jose/keys.js'),
  ])
  const use = (ENC_ALGS as readonly string[]).includes(flags.alg) ? 'enc' : 'sig'
  const {jwk} = await generateKey(use, flags.alg as (typeof SIG_ALGS)[number], flags.bits, new Date())
  const show = async (key: JWK) => (flags.format === 'pem' ? jwkToPem(key) : `${JSON.stringify(key, null, 2)}\n`)
  if (flags['public-out']) {
    // (worded as oclif words a usage error, as this was one of oclif's)
    if (jwk.kty === 'oct') throw new UsageError('a secret has no public half: drop --public-out (see --help)')
    await writeFile(flags['public-out'], await show(publicJwk(jwk)), {mode: 0o644})
  }

  if (!ctx.json) ctx.print(await show(jwk))
  return jwk
}

/** `jwtis jwk public`: the public half of a private key, as a JWK or PEM. */
export async function publicAction(ctx: CommandContext, key: string | undefined, format: string): Promise<JWK> {
  const [{readOneKey}, {jwkToPem, publicJwk}] = await Promise.all([
    import('../jwk-input.js'),
    import('../../jose/keys.js'),
  ])
  const jwk = await readOneKey(key)
  if (jwk.kty === 'oct') throw new UsageError('a secret (kty oct) has no public half', 'BAD_KEY')
  const pub = publicJwk(jwk)
  if (!ctx.json) ctx.print(format === 'pem' ? await jwkToPem(pub) : JSON.stringify(pub, null, 2))
  return pub
}

/** `jwtis jwk thumbprint`: a key's RFC 7638 thumbprint. */
export async function thumbprintAction(ctx: CommandContext, key: string | undefined): Promise<{thumbprint: string}> {
  const [{readOneKey}, keys] = await Promise.all([import('../jwk-input.js'), import('../../jose/keys.js')])
  const thumbprint = await keys.thumbprint(await readOneKey(key))
  if (!ctx.json) ctx.print(thumbprint)
  return {thumbprint}
}
