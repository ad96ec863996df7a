#!/usr/bin/env node
'use strict'
// Runs the TypeScript sources straight away (node --import tsx or ts-node are not required:
// `npm run build` is fast), with oclif's development mode for fuller error output. CommonJS,
// as bin/run.js; oclif is given the package's folder (from bin/ it would take bin/package.json).
import('@oclif/core').then(({execute}) => execute({development: true, dir: require('node:path').join(__dirname, '..')}))
