#!/usr/bin/env node
/**
 * docs/commands.md, the command reference, generated from the built commands by `oclif readme`.
 * `node scripts/docs.js` rewrites it; `--check` (run by `npm run build`) fails when the file
 * differs from what the commands generate, so the reference cannot drift from the CLI.
 * The width is pinned so that the text does not depend on the terminal it was made in.
 */
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

const root = resolve(import.meta.dirname, '..')
const target = join(root, 'docs', 'commands.md')
const check = process.argv.includes('--check')

/** Brings docs/commands.md up to date (or with --check, says whether it is); the exit status. */
function main() {
  const dir = mkdtempSync(join(tmpdir(), 'jwtis-docs-'))
  try {
    return generate(dir)
  } finally {
    rmSync(dir, {force: true, recursive: true})
  }
}

function generate(dir) {
  const draft = join(dir, 'commands.md')
  copyFileSync(target, draft)
  const oclif = join(root, 'node_modules', 'oclif', 'bin', 'run.js')
  const made = spawnSync(
    process.execPath,
    [oclif, 'readme', '--readme-path', draft, '--no-source-links', '--no-aliases'],
    {cwd: root, encoding: 'utf8', env: {...process.env, COLUMNS: '80', NO_COLOR: '1'}},
  )
  if (made.status !== 0) {
    process.stderr.write(`oclif readme failed:\n${made.stderr}`)
    return 1
  }

  const fresh = readFileSync(draft, 'utf8')
  if (fresh === readFileSync(target, 'utf8')) return 0
  if (check) {
    process.stderr.write(
      'docs/commands.md is stale (a command, flag or example changed): run `npm run docs` and commit it\n',
    )
    return 1
  }

  writeFileSync(target, fresh)
  process.stdout.write('docs/commands.md updated\n')
  return 0
}

process.exitCode = main()
