import {execFile, spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {hasTool, PYTHON, ROOT, type RunResult} from './cli.js'

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

/** Debian's Go libraries (GOPATH mode: the build reads them here and downloads nothing). */
const GOPATH = '/usr/share/gocode'
const GO_PACKAGES = ['gopkg.in/square/go-jose.v2', 'github.com/go-resty/resty']

/**
 * Whether Debian's Go, go-jose v2 and (unless `joseOnly`) resty are installed, for the Go programs
 * in test/interop: the JWTIS Go client (go-client) and the refresh token opener (go-open).
 */
export function hasGoClient(joseOnly = false): boolean {
  if (!hasTool('go', ['version'], 'the Go interop tests (apt-get install golang-go)')) return false
  const missing = GO_PACKAGES.slice(0, joseOnly ? 1 : undefined).filter((pkg) => !existsSync(join(GOPATH, 'src', pkg)))
  if (missing.length > 0) {
    process.stderr.write(
      `\nNOTICE: ${missing.join(' and ')} not in ${GOPATH}: skipping the Go interop tests (apt-get install golang-gopkg-square-go-jose.v2-dev golang-github-go-resty-resty-dev)\n`,
    )
  }

  return missing.length === 0
}

const run = (file: string, args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv} = {}) =>
  new Promise<RunResult>((resolve) => {
    execFile(file, args, {...options, encoding: 'utf8'}, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
        signal: error?.signal ?? null,
        stderr,
        stdout,
      })
    })
  })

/** Builds test/interop/PROGRAM into `dir` (with its own build cache there); answers the binary's path. */
export async function buildGo(dir: string, program: 'go-client' | 'go-oauth' | 'go-open'): Promise<string> {
  const binary = join(dir, `jwtis-${program}`)
  const env = {...process.env, GO111MODULE: 'off', GOCACHE: join(dir, 'cache'), GOFLAGS: '', GOPATH}
  const built = await run('go', ['build', '-o', binary, '.'], {cwd: join(ROOT, 'test', 'interop', program), env})
  if (built.code !== 0) throw new Error(`go build of test/interop/${program} failed: ${built.stderr}`)
  return binary
}

/** Builds the JWTIS Go client into `dir`; answers a runner of it. */
export async function buildGoClient(dir: string): Promise<(args: string[]) => Promise<RunResult>> {
  const binary = await buildGo(dir, 'go-client')
  return (args) => run(binary, args)
}
