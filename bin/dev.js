#!/usr/bin/env node
// Runs the TypeScript sources straight away (node --import tsx or ts-node are not required:
// `npm run build` is fast), with oclif's development mode for fuller error output.
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
