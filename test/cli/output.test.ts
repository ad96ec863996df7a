import {Chalk} from 'chalk'
import {stripVTControlCharacters} from 'node:util'
import {describe, expect, it} from 'vitest'

import {colorJson, safeJson, sanitize, table} from '../../src/cli/output.js'

const sample = {a: 'x "1" 2', b: [1, -2.5e3, true, null], 'c:d': {e: 'f'}}

describe('human output helpers', () => {
  it('colorJson is plain JSON without colour, and the same JSON under its colours', () => {
    expect(colorJson(sample, new Chalk({level: 0}))).toBe(JSON.stringify(sample, null, 2))
    const coloured = colorJson(sample, new Chalk({level: 1}))
    expect(coloured).not.toBe(JSON.stringify(sample, null, 2))
    expect(coloured).toContain('\u001B[36m"a"\u001B[39m') // keys in cyan
    expect(JSON.parse(stripVTControlCharacters(coloured))).toEqual(sample)
  })

  it('table aligns the second column', () => {
    expect(
      table([
        ['a', '1'],
        ['long', '2'],
      ]),
    ).toBe('a     1\nlong  2')
  })

  it('sanitize makes terminal controls visible, keeping newlines; safeJson is still the same JSON', () => {
    const hostile = 'a\u001B[2Jb\rc\u0007d\u009Be\u202Ef\ng'
    const shown = sanitize(hostile)
    expect(shown).toBe('a\\u001b[2Jb\\u000dc\\u0007d\\u009be\\u202ef\ng')
    const text = safeJson({k: hostile})
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u001F\u007F-\u009F\u202E]/)
    expect(JSON.parse(text)).toEqual({k: hostile})
  })
})
