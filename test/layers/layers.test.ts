import {ESLint} from 'eslint'
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'

/**
 * The folders are the layers (README, "Architecture"). `npm run lint` enforces them with
 * import/no-restricted-paths; these tests prove the rule fires, and walk the import graph of
 * src/ for what a linter run over changed files alone could miss: a cycle between files.
 */
const ROOT = resolve(import.meta.dirname, '../..')

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.[^"']+)["']/g)].map((m) =>
    resolve(dirname(file), m[1]).replace(/\.js$/, '.ts'),
  )
}

/** Lints `line` as if added to the existing file `path` (the type-aware rules need a file of the project). */
async function lintAs(path: string, line: string): Promise<string[]> {
  const eslint = new ESLint({cwd: ROOT})
  const text = `${readFileSync(join(ROOT, path), 'utf8')}${line}`
  const [result] = await eslint.lintText(text, {filePath: join(ROOT, path)})
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`)
}

describe('the layers', () => {
  it('lint refuses an import that runs up the diagram (core -> server) and one sideways (store -> vault)', async () => {
    const up = await lintAs('src/core/settings.ts', "export {buildServer} from '../server/app.js'\n")
    expect(up.join('\n')).toMatch(/import\/no-restricted-paths: .*src\/core may import only src\/vault/)
    const sideways = await lintAs('src/store/memory.ts', "export {Vault} from '../vault/vault.js'\n")
    expect(sideways.join('\n')).toMatch(/import\/no-restricted-paths: .*src\/store may import only/)
    const down = await lintAs(
      'src/core/settings.ts',
      "export {UsageError as PlantedError} from '../common/errors.js'\n",
    )
    expect(down.filter((m) => m.startsWith('import/no-restricted-paths'))).toEqual([])
  }, 60_000)

  it('no file of src/ imports itself through others (no cycle between files)', () => {
    const graph = new Map(sources(join(ROOT, 'src')).map((file) => [file, importsOf(file)]))
    const cycles: string[] = []
    const state = new Map<string, 'done' | 'open'>()
    const stack: string[] = []
    const visit = (file: string): void => {
      state.set(file, 'open')
      stack.push(file)
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open')
          cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(ROOT, f)).join(' -> '))
        else if (!state.has(next)) visit(next)
      }

      stack.pop()
      state.set(file, 'done')
    }

    for (const file of graph.keys()) if (!state.has(file)) visit(file)
    expect(cycles).toEqual([])
  })

  it('every folder of src/ has a place in the diagram', async () => {
    const config = await new ESLint({cwd: ROOT}).calculateConfigForFile(join(ROOT, 'src/core/settings.ts'))
    const [, {zones}] = config.rules['import/no-restricted-paths'] as [unknown, {zones: Array<{target: string}>}]
    const layers = new Set(zones.map((zone) => zone.target.split('/').at(-1)))
    const folders = readdirSync(join(ROOT, 'src'), {withFileTypes: true}).filter((e) => e.isDirectory())
    expect(folders.map((f) => f.name).filter((name) => !layers.has(name))).toEqual([])
  })
})
