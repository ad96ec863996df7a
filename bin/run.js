#!/usr/bin/env node
'use strict'
// CommonJS (bin/package.json), unlike the package: on Node 20 an ES module entry starts Node's
// ES module loader, which costs every command several milliseconds before its first line runs.
const {enableCompileCache} = require('node:module')
const {join} = require('node:path')

// Node 22.1+ keeps compiled code between runs (a no-op on Node 20, which lacks it).
enableCompileCache?.()

// A reader that went away (`jwtis keys list | head -1`) ends the output, not the command: what
// is written after is dropped, and the command ends with its own exit code (as oclif does).
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error
})

const argv = process.argv.slice(2)
const fastOn = process.env.JWTIS_FAST !== '0'
// oclif finds the package from here (from bin/ it would take bin/package.json for it)
const root = join(__dirname, '..')

// The hot paths start without oclif, whose import costs more than the rest of the command:
// --version here, the commands the fast entry has a body for in dist/fast/cli.cjs, which parses
// them from the oclif commands' own definitions and hands back anything it does not fully
// understand. Everything else is oclif's (and all of it with JWTIS_FAST=0, to compare or to
// rule the fast entry out).
async function main() {
  if (argv[0] === '--version' && argv.includes('--json')) {
    // oclif prints its text line whatever follows --version: the JSON (oclif's `version --json`
    // names, and the bare version) is answered here, with or without the fast entry
    const {release, type} = require('node:os')
    const version = packageVersion()
    const details = {
      architecture: `${process.platform}-${process.arch}`,
      cliVersion: `jwtis/${version}`,
      nodeVersion: `node-${process.version}`,
      osVersion: `${type()} ${release()}`,
      version,
    }
    process.stdout.write(`${JSON.stringify(details, null, 2)}\n`)
  } else if (fastOn && argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`jwtis/${packageVersion()} ${process.platform}-${process.arch} node-${process.version}\n`)
  } else if (!(fastOn && (await fast(argv)))) {
    const {execute} = await import('@oclif/core')
    // plugin-help's `help` refuses --json with a stack trace: help is text, so the flag is dropped
    const args = argv[0] === 'help' ? argv.filter((arg) => arg !== '--json') : argv
    await execute({args, dir: root})
  }
}

async function fast(args) {
  let entry
  try {
    entry = require('../dist/fast/cli.cjs')
  } catch {
    return false // not built (a checkout without `npm run build`): oclif runs it
  }

  return entry.run(args)
}

function packageVersion() {
  return JSON.parse(require('node:fs').readFileSync(join(root, 'package.json'), 'utf8')).version
}

main()
