import type {IssuedTokens} from '../../core/issuer.js'
import type {RefreshStrategy} from '../../jose/algorithms.js'
import type {ActionContext} from './context.js'

import {printTokens} from '../output.js'
import {sideEffects} from '../side-effects.js'
import {readToken} from './context.js'

/** `token renew`'s flags, parsed. */
export interface RenewFlags {
  client: string
  fingerprint?: string
  'no-write'?: boolean
  'refresh-strategy'?: string
  store?: string
}

/** `jwtis token renew`: a refresh token for a new access token (and the refresh token to present next). */
export async function renewAction(
  ctx: ActionContext,
  token: string | undefined,
  flags: RenewFlags,
): Promise<IssuedTokens> {
  const refresh = await readToken(ctx, token, 'refresh token')
  const issuer = await ctx.openIssuer(flags.store, sideEffects(flags['no-write']))
  try {
    const result = await issuer.renew(flags.client, refresh, {
      fingerprint: flags.fingerprint,
      strategy: flags['refresh-strategy'] as RefreshStrategy | undefined,
    })
    if (!ctx.json) {
      printTokens(
        ctx,
        result,
        result.refresh_token === refresh
          ? 'the same refresh token (it stays valid)'
          : 'the new refresh token (the one given is spent)',
      )
    }

    return result
  } finally {
    await issuer.close()
  }
}
