import {spawnSync} from 'node:child_process'
import {join} from 'node:path'

import {PYTHON, ROOT} from './cli.js'

/** Runs one of test/interop/*.py with Debian's python3, feeding it JSON and parsing its JSON answer. */
export function python<T>(script: string, input: unknown): T {
  const out = spawnSync(PYTHON, [join(ROOT, 'test', 'interop', script)], {
    encoding: 'utf8',
    input: JSON.stringify(input),
  })
  if (out.status !== 0) throw new Error(`${script} failed: ${out.stderr}`)
  return JSON.parse(out.stdout) as T
}

export function ageDecrypt<T = any>(identityFile: string, vault: string): T {
  const out = spawnSync('age', ['-d', '-i', identityFile, vault], {encoding: 'utf8'})
  if (out.status !== 0) throw new Error(`age -d failed: ${out.stderr}`)
  return JSON.parse(out.stdout) as T
}

export const hasPythonJose = (): boolean =>
  spawnSync(PYTHON, ['-c', 'import jwt, jwcrypto'], {stdio: 'ignore'}).status === 0
