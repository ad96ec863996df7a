/**
 * `require` of the fast entry's command bundle with V8's code cache on Node 20, which lacks
 * `module.enableCompileCache` (Node 22+, enabled in bin/run.js, does the same for everything).
 * Compiling the 400 kB bundle is a fifth of a short command's own time; with the cache a run
 * deserializes the functions an earlier run compiled instead.
 *
 * The cache is code, so it lives only where no one else can write: `$XDG_CACHE_HOME/jwtis` (or
 * `~/.cache/jwtis`), a directory of this user's with no group or other write. Its name carries
 * the bundle's size, mtime and inode with Node's version (V8 checks only the source's length),
 * so a rebuilt or upgraded jwtis never runs an old one. Anything amiss (no home, a read-only or
 * foreign directory, a cache V8 rejects) falls back to a plain require. `NODE_DISABLE_COMPILE_CACHE`
 * (Node's own switch) turns it off.
 */
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
import {basename, dirname, join} from 'node:path'
import vm from 'node:vm'

export function requireCached<T>(file: string): T {
  const require = createRequire(file)
  if (typeof (module as {enableCompileCache?: unknown}).enableCompileCache === 'function') return require(file) as T
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return require(file) as T
  const cacheFile = cachePath(file)
  if (!cacheFile) return require(file) as T
  const cached = readOwn(cacheFile)
  const source = readFileSync(file, 'utf8')
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

function cachePath(file: string): string | undefined {
  try {
    const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
    const dir = join(base, 'jwtis')
    mkdirSync(dir, {mode: 0o700, recursive: true})
    const info = lstatSync(dir)
    if (!info.isDirectory() || info.uid !== process.getuid?.() || (info.mode & 0o022) !== 0) return undefined
    const {ino, mtimeMs, size} = statSync(file)
    return join(dir, `run-${process.version}-${process.arch}-${size}-${Math.trunc(mtimeMs)}-${ino}.v8`)
  } catch {
    return undefined
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

/** Writes the cache and drops those of earlier builds and Node versions. */
function save(path: string, script: vm.Script): void {
  const temp = `${path}.${process.pid}.tmp`
  try {
    writeFileSync(temp, script.createCachedData(), {flag: 'wx', mode: 0o600})
    renameSync(temp, path)
    for (const name of readdirSync(dirname(path))) {
      if (name.startsWith('run-') && name.endsWith('.v8') && name !== basename(path))
        unlinkSync(join(dirname(path), name))
    }
  } catch {} // a cache that cannot be written is a cache not used
}
