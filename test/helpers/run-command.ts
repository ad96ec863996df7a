import {Config, Errors, run} from '@oclif/core'
import {Console} from 'node:console'
import {join} from 'node:path'
import {Readable, Writable} from 'node:stream'

import {cleanEnv, ROOT, type RunOptions, type RunResult} from './cli.js'

/**
 * Runs the built CLI's command in this process, as bin/run.js dispatches it (the fast entry for
 * `token issue` and `token verify` unless JWTIS_FAST=0, oclif for the rest), with the same clean
 * environment, stdin and cwd as `jwtis()` gives a subprocess, and its output and exit code
 * captured. For tests of what a command does, where a process of its own adds only start-up
 * time; the fast entry, terminals, signals, crashes and concurrent writers need `jwtis()`.
 * Runs are queued: they share process.env, stdio and the working directory.
 */
export function cli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  // (serve forks its workers and exits the process when it stops)
  if (args[0] === 'serve' && !args.includes('--help')) throw new Error('serve runs as a subprocess: use jwtis()')
  const result = queue.then(() => runHere(args, options))
  queue = result.catch(() => {})
  return result
}

/** Like `cli` but fails the test with the output when the exit code is not 0. */
export async function cliOk(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await cli(args, options)
  if (result.code !== 0) {
    throw new Error(`jwtis ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)
  }

  return result
}

let queue: Promise<unknown> = Promise.resolve()

const FAST_ENTRY = join(ROOT, 'dist', 'fast', 'cli.js')

/** oclif reads JWTIS_CONFIG_DIR when it loads its config: one config per directory. */
const configs = new Map<string, Promise<Config>>()

function configFor(dir: string): Promise<Config> {
  if (!configs.has(dir)) configs.set(dir, Config.load({root: ROOT}))
  return configs.get(dir)!
}

async function dispatch(args: string[]): Promise<void> {
  if (process.env.JWTIS_FAST !== '0' && args[0] === 'token' && (args[1] === 'issue' || args[1] === 'verify')) {
    const fast = (await import(FAST_ENTRY)) as {run(argv: string[]): Promise<boolean>}
    if (await fast.run(args)) return
  }

  await run(args, await configFor(process.env.JWTIS_CONFIG_DIR ?? ''))
}

const text = (chunk: string | Uint8Array) => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))

/** A stand-in for stdout or stderr that keeps what is written (and never asks a writer to wait for drain). */
function capture(append: (text: string) => void): {stream: Writable; write: typeof process.stdout.write} {
  const write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    append(text(chunk))
    const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined
    if (done) process.nextTick(done)
    return true
  }) as typeof process.stdout.write
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      append(text(chunk))
      done()
    },
  })
  return {stream, write}
}

/** Gives the process a command's surroundings, and puts back what it found afterwards. */
async function runHere(args: string[], options: RunOptions): Promise<RunResult> {
  const output = {stderr: '', stdout: ''}
  const saved = {
    console: globalThis.console,
    cwd: process.cwd(),
    env: {...process.env},
    exitCode: process.exitCode,
    stderr: process.stderr.write,
    stdin: Object.getOwnPropertyDescriptor(process, 'stdin')!,
    stdout: process.stdout.write,
  }
  const out = capture((written) => {
    output.stdout += written
  })
  const err = capture((written) => {
    output.stderr += written
  })
  setEnv(cleanEnv(options.env))
  process.chdir(options.cwd ?? ROOT)
  const stdin = Readable.from(options.input ? [Buffer.from(options.input)] : [], {objectMode: false})
  Object.defineProperty(process, 'stdin', {configurable: true, enumerable: true, value: stdin})
  process.stdout.write = out.write
  process.stderr.write = err.write
  // (oclif reports some failures with console.error, which the test runner would otherwise take)
  globalThis.console = new Console({stderr: err.stream, stdout: out.stream})
  process.exitCode = undefined
  let code: number
  try {
    await dispatch(args)
    code = Number(process.exitCode ?? 0)
  } catch (error) {
    // `this.exit(n)` in a command; anything else escaping is a failure of the test, not an exit code
    if (!(error instanceof Errors.ExitError)) throw error
    code = error.oclif.exit ?? 1
  } finally {
    globalThis.console = saved.console
    process.stdout.write = saved.stdout
    process.stderr.write = saved.stderr
    Object.defineProperty(process, 'stdin', saved.stdin)
    process.chdir(saved.cwd)
    setEnv(saved.env)
    process.exitCode = saved.exitCode
  }

  return {code, signal: null, ...output}
}

function setEnv(env: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(process.env)) if (!(name in env)) delete process.env[name]
  for (const [name, value] of Object.entries(env)) if (value !== undefined) process.env[name] = value
}
