import * as fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {jsonErrorPlace} from '../../src/common/json-position.js'

const parses = (text: string) => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

describe('where a text stops being JSON', () => {
  it.each([
    ['{"sub":1', 'column 9'],
    ['{"sub":x}', 'column 8'],
    ['{"a":1}}', 'column 8'],
    ['', 'column 1'],
    ['[1,]', 'column 4'],
    ['{"a":01}', 'column 7'],
    ['{\n  "role": admin\n}', 'line 2, column 11'],
    ['{\n"a": "tab\there"}', 'line 2, column 6'],
  ])('%j: at %s', (text, place) => {
    expect(parses(text)).toBe(false)
    expect(jsonErrorPlace(text)).toBe(place)
  })

  it('finds no place in what JSON.parse accepts, and one in whatever it refuses', () => {
    const text = fc.oneof(
      fc.json(),
      fc.string(),
      // valid JSON with one character dropped or one put in: the mistakes people make
      fc
        .tuple(fc.json(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', 'x', ' ', '0', '-', '.', 'e'))
        .map(([json, at, c]) => {
          const i = at % (json.length + 1)
          return c === '' ? json.slice(0, i) + json.slice(i + 1) : json.slice(0, i) + c + json.slice(i)
        }),
    )
    fc.assert(
      fc.property(text, (t) => {
        expect(jsonErrorPlace(t) === undefined, t).toBe(parses(t))
      }),
      {numRuns: 2000},
    )
  })
})
