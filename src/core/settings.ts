import type {ClientSettings, VaultDocument} from '../model/document.js'

import {formatDuration, parseDuration} from '../common/duration.js'
import {UsageError} from '../common/errors.js'
import {checkLifetime, DEFAULT_LIMITS, MAX_DURATION_MS} from '../common/limits.js'
import {
  parseEnc,
  parseEncAlg,
  parseRefreshSeal,
  parseRefreshStrategy,
  parseSigAlg,
  type RefreshSeal,
} from '../jose/algorithms.js'
import {normalizeOAuthSettings, type OAuthClientInput} from './oauth-client.js'

/** Settings as given by a user (flags, JSON): strings and numbers, any subset. */
export interface SettingsInput extends OAuthClientInput {
  accessTtl?: number | string
  aud?: string[]
  enc?: string
  encAlg?: string
  encBits?: number
  encryptAccess?: boolean
  keyTtl?: number | string
  refreshSeal?: string
  refreshStrategy?: string
  refreshTtl?: number | string
  sessionTtl?: number | string
  sigAlg?: string
  sigBits?: number
}

/** Client settings with durations in milliseconds, as the issuer uses them. */
export interface EffectiveSettings extends Omit<
  ClientSettings,
  'accessTtl' | 'keyTtl' | 'refreshSeal' | 'refreshTtl' | 'sessionTtl'
> {
  accessTtlMs: number
  keyTtlMs: number
  refreshSeal: RefreshSeal
  refreshTtlMs: number
  sessionTtlMs: number
}

const durationSetting = (value: number | string, what: string): string =>
  formatDuration(typeof value === 'number' ? value : parseDuration(value, what))

/** Validates user input and returns it in the vault's stored form (canonical names and durations). */
export function normalizeSettings(input: SettingsInput): Partial<ClientSettings> {
  const out: Partial<ClientSettings> = {}
  if (input.sigAlg !== undefined) out.sigAlg = parseSigAlg(input.sigAlg)
  if (input.encAlg !== undefined) out.encAlg = parseEncAlg(input.encAlg)
  if (input.enc !== undefined) out.enc = parseEnc(input.enc)
  if (input.refreshStrategy !== undefined) out.refreshStrategy = parseRefreshStrategy(input.refreshStrategy)
  if (input.refreshSeal !== undefined) out.refreshSeal = parseRefreshSeal(input.refreshSeal)
  if (input.sigBits) out.sigBits = input.sigBits
  if (input.encryptAccess !== undefined) out.encryptAccess = input.encryptAccess
  if (input.encBits) out.encBits = input.encBits
  if (input.aud?.length) {
    if (!input.aud.every((a) => typeof a === 'string' && a.length > 0 && a.length <= 1024))
      throw new UsageError('each audience must be a non-empty string of at most 1024 characters')
    out.aud = [...new Set(input.aud)]
  }

  if (input.accessTtl !== undefined) out.accessTtl = durationSetting(input.accessTtl, 'access-ttl')
  if (input.refreshTtl !== undefined) out.refreshTtl = durationSetting(input.refreshTtl, 'refresh-ttl')
  if (input.sessionTtl !== undefined) out.sessionTtl = durationSetting(input.sessionTtl, 'session-ttl')
  if (input.keyTtl !== undefined) out.keyTtl = durationSetting(input.keyTtl, 'key-ttl')
  return {...out, ...normalizeOAuthSettings(input)}
}

/** The issuer defaults with a client's overrides, durations in milliseconds. */
export function effectiveSettings(defaults: ClientSettings, overrides: Partial<ClientSettings>): EffectiveSettings {
  const {accessTtl, keyTtl, refreshSeal, refreshTtl, sessionTtl, ...rest} = {...defaults, ...overrides}
  return {
    ...rest,
    accessTtlMs: parseDuration(accessTtl),
    keyTtlMs: parseDuration(keyTtl),
    // a vault made before refresh_seal existed keeps sealing to the client, as its tokens are
    refreshSeal: refreshSeal ?? 'client',
    refreshTtlMs: parseDuration(refreshTtl),
    sessionTtlMs: parseDuration(sessionTtl),
  }
}

/** The issuer's ceilings on token lifetimes, in ms, with the text the user set them as. */
export interface Limits {
  maxAccessTtl: string
  maxAccessTtlMs: number
  maxSessionTtl: string
  maxSessionTtlMs: number
}

export function issuerLimits(doc: Pick<Readonly<VaultDocument>, 'issuer'>): Limits {
  const {maxAccessTtl, maxSessionTtl} = {...DEFAULT_LIMITS, ...doc.issuer.limits}
  return {
    maxAccessTtl,
    maxAccessTtlMs: parseDuration(maxAccessTtl, 'max-access-ttl'),
    maxSessionTtl,
    maxSessionTtlMs: parseDuration(maxSessionTtl, 'max-session-ttl'),
  }
}

/**
 * Refuses settings whose lifetimes are zero or over the issuer's ceilings, before anything is
 * written: an access token lives at most max-access-ttl, a refresh token or family at most
 * max-session-ttl.
 */
export function checkSettings(settings: ClientSettings, limits: Limits): void {
  const access = parseDuration(settings.accessTtl, 'access-ttl')
  checkLifetime(access, 'access-ttl', limits.maxAccessTtlMs, limits.maxAccessTtl)
  for (const [name, value] of [
    ['refresh-ttl', settings.refreshTtl],
    ['session-ttl', settings.sessionTtl],
  ] as const) {
    checkLifetime(parseDuration(value, name), name, limits.maxSessionTtlMs, limits.maxSessionTtl)
  }

  checkLifetime(parseDuration(settings.keyTtl, 'key-ttl'), 'key-ttl', MAX_DURATION_MS, formatDuration(MAX_DURATION_MS))
}

/** Settings as JSON output spells every key: snake_case (`access_ttl`, `sig_alg`). */
export function settingsJson(settings: Readonly<Partial<ClientSettings>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(settings).map(([key, value]) => [key.replaceAll(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), value]),
  )
}
