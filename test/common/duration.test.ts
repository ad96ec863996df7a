import {describe, expect, it} from 'vitest'

import {durationFromJson, formatDuration, parseDuration} from '../../src/common/duration.js'
import {UsageError} from '../../src/common/errors.js'

describe('Go durations', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['72h', 259_200_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['2h45m30s', 9_930_000],
    ['0', 0],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms))

  it.each(['', '15', 'h', '-5m', '1d', '5m ago', '1h 30m'])('rejects %j with a usage error', (text) => {
    expect(() => parseDuration(text)).toThrow(UsageError)
  })

  it('reads integer nanoseconds as JWTIS sends them', () => {
    expect(durationFromJson(3_600_000_000_000)).toBe(3_600_000)
    expect(durationFromJson('1h')).toBe(3_600_000)
    expect(() => durationFromJson(-1)).toThrow(UsageError)
    expect(() => durationFromJson(1.5)).toThrow(UsageError)
  })

  it('formats the shortest Go string, which parses back', () => {
    for (const ms of [1000, 90_000, 5_400_000, 15_552_000_000, 1]) expect(parseDuration(formatDuration(ms))).toBe(ms)
    expect(formatDuration(15_552_000_000)).toBe('4320h')
    expect(formatDuration(5_400_000)).toBe('1h30m')
  })
})
