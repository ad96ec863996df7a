import {durationFromJson} from '../common/duration.js'
import {ENC_ALGS, ENCS, REFRESH_SEALS, REFRESH_STRATEGIES, SIG_ALGS} from '../jose/algorithms.js'

/**
 * JSON schemas of the HTTP API, derived from the core's lists so that the CLI's `--sig-alg`
 * options and the routes' enums can never disagree.
 */
export const duration = {
  oneOf: [
    {maxLength: 64, type: 'string'},
    {minimum: 0, type: 'integer'},
  ],
}
export const strategy = {enum: [...REFRESH_STRATEGIES], type: 'string'}
export const seal = {enum: [...REFRESH_SEALS], type: 'string'}
export const sigAlg = {enum: [...SIG_ALGS], type: 'string'}
export const encAlg = {enum: [...ENC_ALGS], type: 'string'}
export const enc = {enum: [...ENCS], type: 'string'}
export const kid = {maxLength: 128, minLength: 1, type: 'string'}
export const token = {maxLength: 64 * 1024, minLength: 1, type: 'string'}
export const fingerprint = {maxLength: 1024, minLength: 1, type: 'string'}
export const kidParam = {params: {properties: {kid}, required: ['kid'], type: 'object'}}

/** A JSON body with exactly these properties: unknown ones are refused (400), naming the field. */
export const body = (properties: Record<string, unknown>, required: string[] = []) => ({
  body: {additionalProperties: false, properties, required, type: 'object'},
})

/** Durations in JSON: Go strings or integer nanoseconds, in milliseconds; absent stays absent. */
export const ms = (value: number | string | undefined, what: string): number | undefined =>
  value === undefined ? undefined : durationFromJson(value, what)

/** `serve --log-level`: pino's levels; `info` and below write the access log. */
export const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
