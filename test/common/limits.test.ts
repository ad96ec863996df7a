import {describe, expect, it} from 'vitest'

import {parseDuration} from '../../src/common/duration.js'
import {jsonDepth, MAX_DURATION_MS, textDepth} from '../../src/common/limits.js'
import {redact, redactUrl, registerSecret} from '../../src/common/redact.js'

describe('durations', () => {
  it('are finite and at most 10 years', () => {
    expect(parseDuration('87600h')).toBe(MAX_DURATION_MS)
    for (const bad of ['87601h', `${'9'.repeat(400)}h`, '1e400h', `${'1h'.repeat(100)}`]) {
      expect(() => parseDuration(bad, '--ttl'), bad).toThrow(/--ttl/)
    }
  })
})

describe('depth', () => {
  it('of values and of JSON text, without recursion, stopping past the limit', () => {
    expect(jsonDepth(1)).toBe(0)
    expect(jsonDepth({a: [1, {b: 2}]})).toBe(3)
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(jsonDepth(deep, 40)).toBe(41)
    expect(textDepth('{"a":"[[[[","b":[{}]}', 10)).toBe(3)
    expect(textDepth(String.raw`"\"[[["`, 10)).toBe(0)
    expect(textDepth('['.repeat(1_000_000), 40)).toBe(41)
  })
})

describe('redact', () => {
  it('masks identities, jwtis tokens, URL passwords and registered secrets', () => {
    const identity = 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ'
    const token = `jwtis_${'a'.repeat(43)}`
    registerSecret('correct horse battery staple')
    const out = redact(
      `bad ${identity}; token ${token}; redis://user:hunter2@host:6379/0; passphrase "correct horse battery staple"`,
    )
    expect(out).not.toContain(identity.slice(16))
    expect(out).not.toContain('a'.repeat(20))
    expect(out).not.toContain('hunter2')
    expect(out).not.toContain('battery')
    expect(out).toContain('redis://user:***@host:6379/0')
    expect(redactUrl('rediss://:pw@h:1')).toBe('rediss://:***@h:1')
    expect(redactUrl('not a url with pw')).toBe('not a url with pw')
  })
})
