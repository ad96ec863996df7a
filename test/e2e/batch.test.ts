/**
 * `token issue --batch` on worker threads: output line N answers input line N, whatever thread
 * signed it; failing lines are error lines and the batch goes on.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {jwtis, jwtisTty, scratch} from '../helpers/cli.js'
import {cli, cliOk} from '../helpers/run-command.js'

describe('token issue --batch across threads', () => {
  it('3,000 lines: in order, every token for its own line, bad lines answered in place', async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    await cliOk(['init', '--vault', vault], {env: s.env})
    await cliOk(['client', 'add', 'app', '--vault', vault], {env: s.env})
    const bad = new Set([1, 700, 1999, 2999])
    const input = Array.from({length: 3000}, (_, i) =>
      bad.has(i) ? (i % 2 ? '{"exp":1}' : 'not json') : JSON.stringify({n: i, sub: `u${i}`}),
    ).join('\n')
    const out = await cli(['token', 'issue', '--client', 'app', '--vault', vault, '--batch'], {env: s.env, input})
    expect(out.code).toBe(2)
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(3000)
    for (const [i, line] of lines.entries()) {
      if (bad.has(i)) {
        expect(line.error.code, `line ${i}`).toBe('BAD_CLAIMS')
        expect(line.line, 'the input line number, from 1').toBe(i + 1)
        continue
      }

      const claims = JSON.parse(Buffer.from(line.access_token.split('.')[1], 'base64url').toString())
      expect([claims.n, claims.sub]).toEqual([i, `u${i}`])
    }

    expect(out.stderr).toContain('2996 issued, 4 failed')
  })

  it('a progress line on a terminal (count, rate, how far, time left); --quiet says nothing; a pipe gets the summary alone', async () => {
    const s = scratch()
    const vault = join(s.dir, 'vault.age')
    await cliOk(['init', '--vault', vault], {env: s.env})
    await cliOk(['client', 'add', 'app', '--vault', vault], {env: s.env})
    const input = join(s.dir, 'in.ndjson')
    const lines = 60_000
    writeFileSync(input, Array.from({length: lines}, (_, i) => `{"sub":"u${i}"}\n`).join(''))
    const output = join(s.dir, 'out.ndjson')
    const args = ['token', 'issue', '--client', 'app', '--vault', vault, '--batch']
    const tty = await jwtisTty(args, {env: s.env, redirect: {stdin: input, stdout: output}})
    expect(tty.code).toBe(0)
    // redrawn in place; the last drawing counts every line
    expect(tty.stdout).toContain('\r\u001B[2K') // carriage return, erase the line
    expect(tty.stdout).toMatch(/\[2K[\d,]+ lines · [\d,]+\/s · \d+% · ETA \d+:\d\d/)
    expect(tty.stdout).toContain('60,000 lines')
    expect(tty.stdout).toMatch(/100%\n60000 issued, 0 failed\n$/)
    const written = readFileSync(output, 'utf8').trim().split('\n')
    expect(written).toHaveLength(lines)
    expect(JSON.parse(Buffer.from(written.at(-1)!.split('.')[1], 'base64url').toString()).sub).toBe(`u${lines - 1}`)

    const quiet = await jwtisTty([...args, '--quiet'], {env: s.env, redirect: {stdin: input, stdout: output}})
    expect(quiet).toMatchObject({code: 0, stdout: ''})

    const piped = await cli(args, {env: s.env, input: '{"sub":"a"}\n{"sub":"b"}\n'})
    expect(piped.stderr).toBe('2 issued, 0 failed\n')
    // (a subprocess: the first drawing waits for the process's first second, which this one is long past)
    const forced = await jwtis([...args, '--progress'], {env: s.env, input: '{"sub":"a"}\n'})
    expect(forced.stderr).toMatch(/^1 line · [\d,]+\/s\n1 issued, 0 failed\n$/)
    const alone = await cli(['token', 'issue', '--client', 'app', '--vault', vault, '--quiet'], {env: s.env})
    expect(alone.code).toBe(2)
  })
})
