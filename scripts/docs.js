#!/usr/bin/env node
/**
 * The generated reference pages: docs/commands.md from the built commands (`oclif readme`), and
 * docs/configuration.md from the table of JWTIS_* variables (src/common/config.ts, built).
 * `node scripts/docs.js` rewrites them; `--check` (run by `npm run build`) fails when a file
 * differs from what the code generates, so the reference cannot drift from the CLI.
 * The width is pinned so that the text does not depend on the terminal it was made in.
 */
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

const root = resolve(import.meta.dirname, '..')
const check = process.argv.includes('--check')

/** Brings each page up to date (or with --check, says whether it is); the exit status. */
async function main() {
  const pages = [
    ['docs/commands.md', commands, 'a command, flag or example changed'],
    ['docs/configuration.md', configuration, 'a JWTIS_* variable changed in src/common/config.ts'],
  ]
  let status = 0
  for (const [page, make, why] of pages) {
    const target = join(root, page)
    const fresh = await make(target)
    if (fresh === undefined) status = 1
    else if (fresh !== readFileSync(target, 'utf8')) {
      if (check) {
        process.stderr.write(`${page} is stale (${why}): run \`npm run docs\` and commit it\n`)
        status = 1
      } else {
        writeFileSync(target, fresh)
        process.stdout.write(`${page} updated\n`)
      }
    }
  }

  return status
}

/** docs/commands.md as `oclif readme` makes it (undefined when that fails). */
function commands(target) {
  const dir = mkdtempSync(join(tmpdir(), 'jwtis-docs-'))
  try {
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
      return
    }

    return readFileSync(draft, 'utf8')
  } finally {
    rmSync(dir, {force: true, recursive: true})
  }
}

/** Text for a Markdown table cell. */
const cell = (text) => (text ?? '').replaceAll('|', String.raw`\|`)

/** docs/configuration.md: one row per variable of the table, in its order. */
async function configuration() {
  const {CONFIG} = await import('../dist/common/config.js')
  const rows = Object.entries(CONFIG).map(
    ([name, v]) =>
      `| \`${name}\` | ${v.flag ? `\`${v.flag}\`` : ''} | ${cell(v.default)} | ${v.secret ? 'yes' : ''} | ${cell(v.description)} |`,
  )
  return [
    '# Configuration',
    '',
    '<!-- Generated from src/common/config.ts by scripts/docs.js (`npm run docs`): edit the table there. -->',
    '',
    'Every environment variable jwtis reads. A flag, where there is one, wins over its variable;',
    'the default is what applies when neither is given. Secrets are masked in every message',
    'jwtis writes. User settings (`jwtis config set`) come after the variables.',
    '',
    '| Variable | Flag | Default | Secret | What it is for |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n')
}

process.exitCode = await main()
