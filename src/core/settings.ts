import type {ClientSettings} from '../vault/format.js'

import {parseEnc, parseEncAlg, parseRefreshStrategy, parseSigAlg} from './algorithms.js'
import {formatDuration, parseDuration} from './duration.js'

/** Settings as given by a user (flags, JSON): strings and numbers, any subset. */
export interface SettingsInput {
  accessTtl?: number | string
  aud?: string[]
  enc?: string
  encAlg?: string
  encBits?: number
  keyTtl?: number | string
  refreshStrategy?: string
  refreshTtl?: number | string
  sessionTtl?: number | string
  sigAlg?: string
  sigBits?: number
}

/** Client settings with durations in milliseconds, as the issuer uses them. */
export interface EffectiveSettings extends Omit<ClientSettings, 'accessTtl' | 'keyTtl' | 'refreshTtl' | 'sessionTtl'> {
  accessTtlMs: number
  keyTtlMs: number
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
  if (input.sigBits) out.sigBits = input.sigBits
  if (input.encBits) out.encBits = input.encBits
  if (input.aud?.length) out.aud = input.aud
  if (input.accessTtl !== undefined) out.accessTtl = durationSetting(input.accessTtl, 'access-ttl')
  if (input.refreshTtl !== undefined) out.refreshTtl = durationSetting(input.refreshTtl, 'refresh-ttl')
  if (input.sessionTtl !== undefined) out.sessionTtl = durationSetting(input.sessionTtl, 'session-ttl')
  if (input.keyTtl !== undefined) out.keyTtl = durationSetting(input.keyTtl, 'key-ttl')
  return out
}

/** The issuer defaults with a client's overrides, durations in milliseconds. */
export function effectiveSettings(defaults: ClientSettings, overrides: Partial<ClientSettings>): EffectiveSettings {
  const {accessTtl, keyTtl, refreshTtl, sessionTtl, ...rest} = {...defaults, ...overrides}
  return {
    ...rest,
    accessTtlMs: parseDuration(accessTtl),
    keyTtlMs: parseDuration(keyTtl),
    refreshTtlMs: parseDuration(refreshTtl),
    sessionTtlMs: parseDuration(sessionTtl),
  }
}
