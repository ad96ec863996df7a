import type {TokenVerified} from '../../jose/nested.js'
import type {ActionContext} from './context.js'

import {UsageError} from '../../common/errors.js'
import {clock, unwrapToken} from '../io.js'

export interface VerifyResult {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  valid: true
}

/** `token verify`'s flags, parsed (durations in ms). */
export interface VerifyFlags {
  alg?: string[]
  'allow-no-exp'?: boolean
  aud?: string[]
  'check-revoked'?: boolean
  client?: string
  iss?: string
  jwks?: string
  key?: string
  leeway: number
  'max-age'?: number
  secret?: string
  store?: string
  sub?: string
  typ?: string
}

/** `jwtis token verify`: with the vault, or with --key/--jwks/--secret and no vault at all. */
export async function verifyAction(
  ctx: ActionContext,
  token: string | undefined,
  flags: VerifyFlags,
): Promise<VerifyResult> {
  if (flags.secret === '-' && (token === undefined || token === '-'))
    throw new UsageError('--secret - reads the secret from stdin: give the token as an argument or @file')
  const text = unwrapToken(await ctx.readInput(token, 'token'), ctx.logErr)
  const options = {
    algorithms: flags.alg,
    allowNoExp: flags['allow-no-exp'],
    audience: flags.aud,
    issuer: flags.iss,
    leewayMs: flags.leeway,
    maxAgeMs: flags['max-age'],
    subject: flags.sub,
    typ: flags.typ,
  }
  let verified: TokenVerified
  const keySource = flags.key ?? flags.jwks
  if (keySource || flags.secret !== undefined) {
    const [{verifyToken}, {keyringFrom}, {bindHmac, readSecret, secretKeyring}] = await Promise.all([
      import('../../jose/nested.js'),
      import('../keys-input.js'),
      import('../secret-input.js'),
    ])
    const label = flags.secret === undefined ? `${flags.key ? '--key' : '--jwks'} ${keySource}` : '--secret'
    const given =
      flags.secret === undefined
        ? await keyringFrom(keySource!, flags.key ? '--key' : '--jwks')
        : await secretKeyring(await readSecret(ctx, flags.secret))
    const keyring = await bindHmac(given, flags.alg, label)
    verified = await verifyToken(text, {...options, decryptWith: keyring, keyring, now: clock()()})
  } else {
    const issuer = await ctx.openIssuer(flags.store)
    try {
      verified = await issuer.verify(text, {...options, checkRevoked: flags['check-revoked'], client: flags.client})
    } finally {
      await issuer.close()
    }
  }

  const result: VerifyResult = {header: {...verified.header}, payload: {...verified.payload}, valid: true}
  if (!ctx.json) {
    // RFC 8725 §3.9: a token for another service verifies just as well; say that it was not asked.
    if (!flags.aud?.length)
      ctx.logErr('warning: the audience was not checked: pass --aud to check whom the token is for')
    ctx.logErr(
      `Valid: ${verified.header.alg} signature by key ${verified.header.kid ?? '(no kid)'}${verified.key.client ? ` of client ${verified.key.client}` : ''}`,
    )
    const {chalkFor, colorJson, timeLines} = await import('../output.js')
    const c = await chalkFor()
    ctx.print(colorJson(result.payload, c), true)
    // On a terminal, the registered times as dates too; into a pipe the JSON alone stays parseable.
    if (process.stdout.isTTY) for (const line of timeLines(result.payload, clock()(), c)) ctx.print(line, true)
  }

  return result
}
