import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {afterAll} from 'vitest'

export const ROOT = resolve(import.meta.dirname, '../..')
export const BIN = join(ROOT, 'bin', 'run.js')
/** `.ci/run` reruns the end-to-end tests with other Node versions through this variable. */
export const NODE = process.env.JWTIS_TEST_NODE || process.execPath

/** The env of both ways a command line runs: the fast entry, and oclif (JWTIS_FAST=0). */
export const BOTH_ENTRIES: ReadonlyArray<Record<string, string>> = [{}, {JWTIS_FAST: '0'}]

export interface RunResult {
  code: null | number
  signal: NodeJS.Signals | null
  stderr: string
  stdout: string
}

export interface RunOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  input?: string
}

/** A scratch directory with its own config dir, removed after the file's tests. */
export function scratch(): {config: string; dir: string; env: Record<string, string>} {
  const dir = mkdtempSync(join(tmpdir(), 'jwtis-test-'))
  afterAll(() => rmSync(dir, {force: true, recursive: true}))
  const config = join(dir, 'config')
  return {config, dir, env: {JWTIS_CONFIG_DIR: config}}
}

/** The environment a user's CI job would give the CLI: no TTY, CI set, no jwtis variables. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('JWTIS_') && k !== 'DEBUG') env[k] = v
  return {...env, CI: 'true', NO_COLOR: '1', ...extra}
}

/** Runs the built CLI as a user would, as a subprocess. */
export function jwtis(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(NODE, [BIN, ...args], {cwd: options.cwd ?? ROOT, env: cleanEnv(options.env)})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code, signal) => resolvePromise({code, signal, stderr, stdout}))
    child.stdin.end(options.input ?? '')
  })
}

/** A word the shell reads back as `arg` exactly. */
export const shellQuote = (arg: string) => `'${arg.replaceAll("'", String.raw`'\''`)}'`

/**
 * Runs the built CLI on a pseudo-terminal (util-linux `script`), as a person at a terminal would:
 * stdout and stderr arrive together, lines end in CRLF (normalised to LF here).
 */
export async function jwtisTty(
  args: string[],
  options: RunOptions & {redirect?: {stdin?: string; stdout?: string}} = {},
): Promise<RunResult> {
  // stdin or stdout redirected to a file leaves the other streams on the terminal
  const {stdin, stdout: out} = options.redirect ?? {}
  const command = [
    ...[NODE, BIN, ...args].map((arg) => shellQuote(arg)),
    ...(stdin ? ['<', shellQuote(stdin)] : []),
    ...(out ? ['>', shellQuote(out)] : []),
  ].join(' ')
  const result = await new Promise<RunResult>((resolvePromise, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      cwd: options.cwd ?? ROOT,
      env: cleanEnv(options.env),
    })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.on('error', reject)
    child.on('close', (code, signal) => resolvePromise({code, signal, stderr: '', stdout}))
    child.stdin.end(options.input ?? '')
  })
  return {...result, stdout: result.stdout.replaceAll('\r\n', '\n')}
}

/** Like `jwtis` but fails the test with the output when the exit code is not 0. */
export async function jwtisOk(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await jwtis(args, options)
  if (result.code !== 0) {
    throw new Error(`jwtis ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)
  }

  return result
}

export function json<T = Record<string, unknown>>(result: RunResult): T {
  return JSON.parse(result.stdout) as T
}

/**
 * Whether an outside tool is installed. Missing tools skip their tests with a notice on stderr;
 * `.ci/run` installs them all and fails when anything was skipped.
 */
export function hasTool(command: string, args: string[] = ['--version'], why = ''): boolean {
  const found = spawnSync(command, args, {stdio: 'ignore'}).status === 0
  if (!found) process.stderr.write(`\nNOTICE: ${command} is not installed: skipping ${why || 'its interop tests'}\n`)
  return found
}

/** Debian's python3 (the one with python3-jwt and python3-jwcrypto), not a pyenv shim. */
export const PYTHON = '/usr/bin/python3'
