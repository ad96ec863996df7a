/**
 * `require` of the fast entry's command bundle with V8's code cache on Node 20, which lacks
 * `module.enableCompileCache` (Node 22+, enabled in bin/run.js, does the same for everything).
 * Compiling the 400 kB bundle is a fifth of a short command's own time; with the cache a run
 * deserializes the functions an earlier run compiled instead.
 *
 * The cache is code, so it lives only where no one else can write: `$XDG_CACHE_HOME/jwtis` (or
 * `~/.cache/jwtis`), a directory of this user's (as is its parent) that no one else may enter.
 * Its name carries a hash of the bundle and Node's version (V8 itself checks only the source's
 * length; installers keep mtimes, and inodes come back), so a rebuilt or upgraded jwtis never
 * runs an old one. Anything amiss (no home, a read-only or foreign directory, as under sudo with
 * the user's HOME, or a cache V8 rejects) falls back to a plain require.
 * `NODE_DISABLE_COMPILE_CACHE` (Node's own switch) turns it off.
 */
import {createHash, randomBytes} from 'node:crypto'
import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import module, {createRequire} from 'node:module'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'
import vm from 'node:vm'

export function requireCached<T>(file: string): T {
  const require = createRequire(file)
  if (typeof (module as {enableCompileCache?: unknown}).enableCompileCache === 'function') return require(file) as T
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return require(file) as T
  const dir = cacheDir()
  if (!dir) return require(file) as T
  const source = readFileSync(file, 'utf8')
  const hash = createHash('sha256').update(source).digest('base64url').slice(0, 22)
  const cacheFile = join(dir, `run-${process.version}-${process.arch}-${hash}.v8`)
  const cached = readOwn(cacheFile)
  // CommonJS's wrapper, and `__jwtisImport` for the bundle's import()s (see
  // scripts/route-imports.js): packages and built-ins, which resolve from here as from there
  const wrapped = `(function (exports, require, module, __filename, __dirname, __jwtisImport) {${source}\n})`
  const script = new vm.Script(wrapped, {cachedData: cached, filename: file})
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void
  const mod = {exports: {}, filename: file, id: file, loaded: false}
  wrapper.call(mod.exports, mod.exports, require, mod, file, dirname(file), importFromHere)
  mod.loaded = true
  if (!cached || script.cachedDataRejected) {
    // written once the command has run, so that the cache holds what it compiled
    process.once('beforeExit', () => save(cacheFile, script))
  }

  return mod.exports as T
}

const importFromHere = (specifier: string): Promise<unknown> => import(specifier)

/** The cache directory, made if need be, or undefined where it is not this user's alone. */
function cacheDir(): string | undefined {
  try {
    const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
    const dir = join(base, 'jwtis')
    // made one level at a time, each in a directory of this user's: never a root-owned
    // directory in someone else's home
    if (!mine(dirname(base))) return undefined
    makeDir(base)
    if (!mine(base)) return undefined
    makeDir(dir)
    const info = lstatSync(dir)
    return info.isDirectory() && info.uid === process.getuid?.() && (info.mode & 0o077) === 0 ? dir : undefined
  } catch {
    return undefined
  }
}

const mine = (path: string): boolean => lstatSync(path, {throwIfNoEntry: false})?.uid === process.getuid?.()

function makeDir(path: string): void {
  try {
    mkdirSync(path, {mode: 0o700})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
}

function readOwn(path: string): Buffer | undefined {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    if (fstatSync(fd).uid !== process.getuid?.()) return undefined
    return readFileSync(fd)
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** Unused this long, a cache (of another build or Node version) or a temp file is dropped. */
const STALE_MS = 30 * 24 * 3600 * 1000

/**
 * Writes the cache, and drops what has gone unused for a month: not every other cache at once,
 * as a global and a project's own jwtis would then keep dropping each other's.
 */
function save(path: string, script: vm.Script): void {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    writeFileSync(temp, script.createCachedData(), {flag: 'wx', mode: 0o600})
    renameSync(temp, path)
  } catch {
    drop(temp) // a cache that cannot be written is a cache not used
    return
  }

  const dir = dirname(path)
  try {
    for (const name of readdirSync(dir)) {
      const other = join(dir, name)
      const used = statSync(other, {throwIfNoEntry: false})?.atimeMs ?? Date.now()
      if (other !== path && /^run-.*\.(tmp|v8)$/.test(name) && Date.now() - used > STALE_MS) drop(other)
    }
  } catch {} // (runs as the process exits: nothing here may throw)
}

function drop(path: string): void {
  try {
    unlinkSync(path)
  } catch {}
}
