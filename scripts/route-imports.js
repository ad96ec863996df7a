// Post-processes the fast entry's CommonJS bundle (dist/fast/run.cjs) so that its dynamic
// imports (of packages and built-ins: esbuild leaves those as `import()`) go through
// `__jwtisImport`, which src/fast/code-cache.ts passes in when it runs the bundle from V8's code
// cache on Node 20: there, an `import()` in code read back from the cache has lost its loader
// ("A dynamic import callback was not specified"). Loaded by a plain require, the bundle's
// own banner makes `__jwtisImport` an ordinary import().
import {readFileSync, writeFileSync} from 'node:fs'

const file = process.argv[2]
const text = readFileSync(file, 'utf8')
// esbuild prints an external dynamic import as import("specifier"), nothing else
const routed = text.replaceAll(/(?<![\w$.])import\((?="[^"\\]+"\))/g, '__jwtisImport(')
// the banner (the first line) defines the fallback, `import(specifier)`: nothing after it may
// import() any other way
const left = routed.slice(routed.indexOf('\n')).match(/(?<![\w$.])import\(/g)
if (left)
  throw new Error(`${file}: ${left.length} dynamic import() the fast bundle cannot route; see scripts/route-imports.js`)

writeFileSync(file, routed)
