#!/usr/bin/env node
import module from 'node:module'

// Node 22.1+ keeps compiled code between runs (a no-op on Node 20, which lacks it).
module.enableCompileCache?.()

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
