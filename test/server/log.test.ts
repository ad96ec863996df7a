/**
 * serve's stderr on a terminal: the JSON lines it writes elsewhere, as one readable line each.
 * (test/e2e/serve-log.test.ts runs serve under a pseudo-terminal and off one.)
 */
import {describe, expect, it} from 'vitest'

import {textLine} from '../../src/server/log.js'

const line = (entry: Record<string, unknown>) => textLine(`${JSON.stringify(entry)}\n`)

describe('textLine', () => {
  it('a request: method, path, status and the error code first, then the rest by name, the id last', () => {
    expect(
      line({
        client: 'web',
        code: 'REFRESH_REUSED',
        level: 30,
        method: 'POST',
        ms: 2.1,
        msg: 'request',
        path: '/renew_token',
        pid: 7,
        remote: '127.0.0.1',
        reqId: 'a1b2c3d4e5f6-1',
        route: '/renew_token',
        status: 403,
        time: 1,
      }),
    ).toBe(
      'jwtis serve: POST /renew_token 403 REFRESH_REUSED client=web ms=2.1 remote=127.0.0.1 route=/renew_token id=a1b2c3d4e5f6-1\n',
    )
  })

  it("serve's own lines keep their words; warnings and errors say so", () => {
    expect(line({level: 30, msg: 'listening on http://127.0.0.1:4456', pid: 1, time: 1})).toBe(
      'jwtis serve: listening on http://127.0.0.1:4456\n',
    )
    expect(line({level: 40, msg: 'plain HTTP', pid: 1, time: 1})).toBe('jwtis serve: WARNING: plain HTTP\n')
    expect(line({error: 'boom', level: 50, msg: 'internal error', pid: 1, time: 1})).toBe(
      'jwtis serve: ERROR: internal error error=boom\n',
    )
  })

  it('what came from a request cannot drive the terminal: controls and bidi characters are shown escaped', () => {
    const shown = line({level: 30, method: 'GET', msg: 'request', path: '/keys/\u001B[2J\u202Eevil', status: 404})
    expect(shown).toBe('jwtis serve: GET "/keys/\\u001b[2J\\u202eevil" 404\n')
    expect(shown.slice(0, -1)).toMatch(/^[\u0020-\u007E]+$/)
  })

  it('a line that is not JSON is passed on as text, sanitized', () => {
    expect(textLine('plain \u0007words\n')).toBe('jwtis serve: "plain \\u0007words"\n')
  })
})
