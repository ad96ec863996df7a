/**
 * `token issue --batch` on worker threads: output line N answers input line N, whatever thread
 * signed it; failing lines are error lines and the batch goes on.
 */
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {jwtis, jwtisOk, scratch} from '../helpers/cli.js'

describe('token issue --batch across threads', () => {
  it('3,000 lines: in order, every token for its own line, bad lines answered in place', async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    await jwtisOk(['init', '--vault', vault], {env: s.env})
    await jwtisOk(['client', 'add', 'app', '--vault', vault], {env: s.env})
    const bad = new Set([1, 700, 1999, 2999])
    const input = Array.from({length: 3000}, (_, i) =>
      bad.has(i) ? (i % 2 ? '{"exp":1}' : 'not json') : JSON.stringify({n: i, sub: `u${i}`}),
    ).join('\n')
    const out = await jwtis(['token', 'issue', '--client', 'app', '--vault', vault, '--batch'], {env: s.env, input})
    expect(out.code).toBe(2)
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(3000)
    for (const [i, line] of lines.entries()) {
      if (bad.has(i)) {
        expect(line.error.code, `line ${i}`).toBe('BAD_CLAIMS')
        continue
      }

      const claims = JSON.parse(Buffer.from(line.access_token.split('.')[1], 'base64url').toString())
      expect([claims.n, claims.sub]).toEqual([i, `u${i}`])
    }

    expect(out.stderr).toContain('2996 issued, 4 failed')
  })
})
