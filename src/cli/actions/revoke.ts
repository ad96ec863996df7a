import type {ActionContext} from './context.js'

import {UsageError} from '../../common/errors.js'
import {readToken} from './context.js'

export interface RevokeResult {
  client?: string
  family?: string
  revoked: boolean
  sub?: string
}

/** `token revoke`'s flags, parsed. */
export interface RevokeFlags {
  client?: string
  family?: string
  store?: string
  sub?: string
}

/** `jwtis token revoke`: one token's family, a family by id, or a client's (or subject's) families. */
export async function revokeAction(
  ctx: ActionContext,
  token: string | undefined,
  flags: RevokeFlags,
): Promise<RevokeResult> {
  const hasToken = token !== undefined
  if (!hasToken && !flags.family && !flags.client)
    throw new UsageError('give a refresh token, --family ID, or --client NAME')
  if (hasToken && flags.family) throw new UsageError('give a refresh token or --family, not both')
  const refresh = hasToken ? await readToken(ctx, token, 'refresh token') : undefined
  const issuer = await ctx.openIssuer(flags.store)
  try {
    let result: RevokeResult
    if (refresh) {
      result = await issuer.revokeRefreshToken(refresh, flags.client)
      ctx.logErr(`Revoked refresh family ${result.family}`)
    } else if (flags.family) {
      await issuer.revokeFamily(flags.family)
      result = {family: flags.family, revoked: true}
      ctx.logErr(`Revoked refresh family ${flags.family}`)
    } else {
      await issuer.logout(flags.client!, flags.sub)
      result = {client: flags.client, revoked: true, ...(flags.sub ? {sub: flags.sub} : {})}
      ctx.logErr(`Revoked every refresh token of ${flags.client}${flags.sub ? ` for ${flags.sub}` : ''}`)
    }

    return result
  } finally {
    await issuer.close()
  }
}
