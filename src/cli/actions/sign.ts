import type {SigningKey} from '../../jose/sign.js'
import type {CommandContext} from './context.js'

import {UsageError} from '../../common/errors.js'
import {clock} from '../io.js'

export interface SignResult {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  token: string
}

/** `token sign`'s flags, parsed. */
export interface SignFlags {
  alg?: string
  aud?: string[]
  claim?: string[]
  claims?: string
  exp: string
  iss?: string
  key?: string
  kid?: string
  nbf?: string
  secret?: string
  sub?: string
  typ: string
}

/** `jwtis token sign`: claims signed with a key or secret from the command line, no vault. */
export async function signAction(ctx: CommandContext, flags: SignFlags): Promise<SignResult> {
  const [{signJwt}, {parseWhen}, {parseClaimArg, parseClaimsJson}] = await Promise.all([
    import('../../jose/sign.js'),
    import('../../common/time.js'),
    import('../../jose/claims.js'),
  ])
  const now = clock()()
  const claims: Record<string, unknown> = flags.claims
    ? parseClaimsJson(await ctx.readInput(flags.claims, '--claims'), '--claims')
    : {}
  for (const arg of flags.claim ?? []) {
    const [name, value] = parseClaimArg(arg)
    claims[name] = value
  }

  refuseFlagClaims(claims, flags)

  if (flags.sub !== undefined) claims.sub = flags.sub
  if (flags.iss !== undefined) claims.iss = flags.iss
  if (flags.aud) claims.aud = flags.aud.length === 1 ? flags.aud[0] : flags.aud
  const iat = Math.floor(now / 1000)
  const exp = Math.floor((await parseWhen(flags.exp, now, '--exp')) / 1000)
  if (exp <= iat) throw new UsageError(`--exp ${flags.exp} is not in the future`)
  claims.iat = iat
  claims.exp = exp
  if (flags.nbf !== undefined) claims.nbf = Math.floor((await parseWhen(flags.nbf, now, '--nbf')) / 1000)

  const {header, token} = await signJwt(await signingKey(ctx, flags), {
    alg: flags.alg,
    claims,
    kid: flags.kid,
    typ: flags.typ,
  })
  if (!ctx.json) ctx.print(token)
  return {header, payload: claims, token}
}

/**
 * A claim that a flag sets would be replaced by it: `exp` and `iat` always (--exp has a default),
 * `sub`, `iss`, `aud` and `nbf` when their flag is given too. As `token issue` does, that is a
 * usage error naming the flag, not a silent choice.
 */
function refuseFlagClaims(claims: Record<string, unknown>, flags: SignFlags): void {
  if (Object.hasOwn(claims, 'iat'))
    throw new UsageError('claim "iat" is set by token sign (the time of signing): drop it')
  const byFlag = {aud: flags.aud, exp: flags.exp, iss: flags.iss, nbf: flags.nbf, sub: flags.sub}
  for (const [name, flag] of Object.entries(byFlag)) {
    if (flag !== undefined && Object.hasOwn(claims, name))
      throw new UsageError(`claim "${name}" is set by --${name}: give it there, not with --claim or --claims`)
  }
}

async function signingKey(ctx: CommandContext, flags: SignFlags): Promise<SigningKey> {
  if (flags.secret !== undefined) {
    const {readSecret} = await import('../secret-input.js')
    return {secret: await readSecret(ctx, flags.secret)}
  }

  const [{readOneKey}, {signingKeyOf}] = await Promise.all([import('../jwk-input.js'), import('../../jose/sign.js')])
  return signingKeyOf(await readOneKey(flags.key), `--key ${flags.key}`)
}
