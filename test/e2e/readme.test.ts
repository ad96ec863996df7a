/**
 * The README's short tour, run as a user would paste it: every line in one bash session, in a
 * fresh directory with its own HOME, `jwtis` on the PATH. A line that fails stops the tour unless
 * its comment says `(exit N)` and it exits N; the JWKS line needs a real URL and is left out; the
 * Redis URL is pointed at a throwaway redis-server.
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, cleanEnv, hasTool, NODE, ROOT, scratch} from '../helpers/cli.js'
import {type RedisServer, startRedis} from '../helpers/redis.js'

const NEEDS = ['age', 'jq', 'openssl', 'redis-server'] as const
const HAS_ALL = NEEDS.every((tool) =>
  hasTool(tool, tool === 'openssl' ? ['version'] : ['--version'], `the README tour (apt-get install ${tool})`),
)

/** The lines of the sh block under "## A short tour". */
function tourLines(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## A short tour'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)
  if (!block) throw new Error('README.md has no sh block under "## A short tour"')
  return block[1].split('\n')
}

describe.skipIf(!HAS_ALL)('the README tour', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => redis?.stop())

  it('runs line by line as written, each failure only where the README says so', () => {
    const s = scratch()
    const home = join(s.dir, 'home')
    const work = join(s.dir, 'work')
    const bin = join(s.dir, 'bin')
    for (const dir of [home, work, bin]) mkdirSync(dir)
    writeFileSync(join(bin, 'jwtis'), `#!/bin/sh\nexec '${NODE}' '${BIN}' "$@"\n`)
    chmodSync(join(bin, 'jwtis'), 0o755)

    const lines = tourLines()
    const err = join(s.dir, 'line.err')
    let script = 'set -o pipefail\n'
    let checked = 0
    for (const [i, raw] of lines.entries()) {
      const line = raw.replaceAll('redis://127.0.0.1:6379', redis.url)
      if (line.trim() === '' || line.trimStart().startsWith('#')) continue
      if (line.includes('needs a real URL')) continue
      const expected = Number(/\(exit (\d+)\)/.exec(line)?.[1] ?? 0)
      // a newline before the closing brace: the line's own comment must not swallow it
      script += `{ ${line}\n} >/dev/null 2>${err}; rc=$?\n`
      script += `if [ $rc -ne ${expected} ]; then echo "README tour line ${i + 1} exited $rc, expected ${expected}: ${line.replaceAll(/["$`\\]/g, String.raw`\$&`)}" >&2; cat ${err} >&2; exit 99; fi\n`
      checked++
    }

    script += `rm -f ${err}\necho done\n`
    const run = spawnSync('bash', ['-c', script], {
      cwd: work,
      encoding: 'utf8',
      env: cleanEnv({HOME: home, PATH: `${bin}:${process.env.PATH}`, XDG_CONFIG_HOME: undefined}),
      timeout: 120_000,
    })
    expect(run.stderr).toBe('')
    expect(run.stdout.trim()).toBe('done')
    expect(checked).toBeGreaterThan(30)
    // what the tour says it made is there
    expect(existsSync(join(work, 'data', 'vault.age'))).toBe(true)
    expect(existsSync(join(home, '.config', 'jwtis', 'identity.txt'))).toBe(true)
    const jwks = JSON.parse(readFileSync(join(work, 'jwks.json'), 'utf8'))
    expect(jwks.keys.length).toBeGreaterThanOrEqual(4)
    const copied = spawnSync('redis-cli', ['-u', redis.url, '--raw', 'GET', 'jwtis:vault:{default}'], {
      encoding: 'utf8',
    })
    expect(copied.stdout).toContain('-----BEGIN AGE ENCRYPTED FILE-----')
  })
})
