import {Flags} from '@oclif/core'

import type {SettingsInput} from '../core/settings.js'

import {ENC_ALGS, ENCS, REFRESH_SEALS, REFRESH_STRATEGIES, SIG_ALGS} from '../jose/algorithms.js'
import {type ValueKind, valueParsers} from './flag-values.js'

/** Client settings flags, shared by `init` (vault defaults) and `client add` (overrides). */
export const settingsFlags = {
  'access-ttl': Flags.string({description: 'access token lifetime (Go duration)', helpGroup: 'CLIENT'}),
  enc: Flags.string({description: 'content encryption of refresh tokens', helpGroup: 'CLIENT', options: [...ENCS]}),
  'enc-alg': Flags.string({
    description: 'key management algorithm of the encryption key',
    helpGroup: 'CLIENT',
    options: [...ENC_ALGS],
  }),
  'encrypt-access': Flags.boolean({
    allowNo: true,
    description: 'access tokens are nested JWTs: signed, then encrypted to the client',
    helpGroup: 'CLIENT',
  }),
  'key-ttl': Flags.string({description: 'age after which keys rotate on use', helpGroup: 'CLIENT'}),
  'refresh-seal': Flags.string({
    description:
      "whom refresh tokens are sealed to: issuer (A256KW under the vault's own key-wrapping key; the default of new vaults) or client (to the client's encryption key with --enc-alg, as JWTIS)",
    helpGroup: 'CLIENT',
    options: [...REFRESH_SEALS],
  }),
  'refresh-strategy': Flags.string({
    description: 'how refresh tokens renew',
    helpGroup: 'CLIENT',
    options: [...REFRESH_STRATEGIES],
  }),
  'refresh-ttl': Flags.string({description: 'idle lifetime of one refresh token', helpGroup: 'CLIENT'}),
  'session-ttl': Flags.string({description: 'absolute lifetime of a refresh family', helpGroup: 'CLIENT'}),
  'sig-alg': Flags.string({description: 'signing algorithm', helpGroup: 'CLIENT', options: [...SIG_ALGS]}),
}

export function settingsInput(
  flags: Partial<Record<Exclude<keyof typeof settingsFlags, 'encrypt-access'>, string>> & {'encrypt-access'?: boolean},
): SettingsInput {
  return {
    accessTtl: flags['access-ttl'],
    enc: flags.enc,
    encAlg: flags['enc-alg'],
    encryptAccess: flags['encrypt-access'],
    keyTtl: flags['key-ttl'],
    refreshSeal: flags['refresh-seal'],
    refreshStrategy: flags['refresh-strategy'],
    refreshTtl: flags['refresh-ttl'],
    sessionTtl: flags['session-ttl'],
    sigAlg: flags['sig-alg'],
  }
}

export const storeFlag = Flags.string({
  description: 'token state: file (beside the vault), memory, or redis://host:port (else JWTIS_STORE)',
  helpGroup: 'VAULT',
})

/** Read-only mode, on the commands that may write the vault as a side effect (see ./side-effects.ts). */
export const noWriteFlag = Flags.boolean({
  description:
    'never write the vault: keys past their key-ttl keep signing instead of rotating (else JWTIS_READ_ONLY=1)',
  helpGroup: 'VAULT',
})

export const clientFlag = Flags.string({char: 'c', description: 'client name', required: true})

const parseDurationFlag = (input: string, _ctx: unknown, opts: {name: string}) =>
  valueParsers.duration(input, opts.name)
const durationBase = Flags.custom<number>({parse: parseDurationFlag})

/** The kind of each custom flag parser here, by which the fast entry finds the same parser (./flag-values.ts). */
export const valueKinds = new Map<unknown, ValueKind>([[parseDurationFlag, 'duration']])

/**
 * A Go duration flag, parsed to milliseconds (usage error, exit 2, when malformed); its default
 * is shown in help as a user would type it (5s), not in milliseconds.
 */
// (cast: the wrapper keeps every overload of oclif's flag function, which TypeScript cannot infer)
export const durationFlag = ((options: {default?: unknown; defaultHelp?: unknown} = {}) => {
  const ms = options.default
  if (typeof ms !== 'number' || options.defaultHelp !== undefined) return durationBase(options as never)
  const defaultHelp = async () => (await import('../common/duration.js')).formatDuration(ms)
  return durationBase({...options, defaultHelp} as never)
}) as typeof durationBase

/** A client's OAuth registration (RFC 7591 metadata): `client add` sets it, `client update` replaces it. */
export const oauthFlags = {
  jwks: Flags.string({
    description:
      "the client's public keys for private_key_jwt and jwt-bearer assertions: a JWK Set file, or an https URL where the client publishes it (jwks_uri; http only on loopback)",
    helpGroup: 'OAUTH',
  }),
  'redirect-uri': Flags.string({
    description: 'where the authorization endpoint may send codes (repeatable; absolute URL, no fragment)',
    helpGroup: 'OAUTH',
    multiple: true,
    multipleNonGreedy: true,
  }),
  scope: Flags.string({
    description: 'a scope the client may be granted at the token endpoint (repeatable)',
    helpGroup: 'OAUTH',
    multiple: true,
    multipleNonGreedy: true,
  }),
}

/** The OAuth flags as settings: `--jwks` read as a JWK Set file, or taken as its URL. */
export async function oauthInput(flags: {
  jwks?: string
  'redirect-uri'?: string[]
  scope?: string[]
}): Promise<Pick<SettingsInput, 'jwks' | 'jwksUri' | 'redirectUris' | 'scopes'>> {
  const input = {redirectUris: flags['redirect-uri'], scopes: flags.scope}
  const {jwks} = flags
  if (jwks === undefined) return input
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(jwks)) return {...input, jwksUri: jwks}
  const {readBounded} = await import('./input.js')
  const {UsageError} = await import('../common/errors.js')
  const text = (await readBounded(jwks, 64 * 1024, '--jwks')).toString('utf8')
  try {
    return {...input, jwks: JSON.parse(text) as unknown}
  } catch {
    throw new UsageError(
      `--jwks ${jwks} is not JSON: give a JWK Set file ({"keys": [...]}) or its https URL`,
      'BAD_KEY',
    )
  }
}
