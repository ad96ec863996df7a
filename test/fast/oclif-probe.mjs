/**
 * Preloaded (NODE_OPTIONS=--import) into the CLI by test/e2e/fast-entry.test.ts: on exit, writes
 * to $OCLIF_PROBE_OUT whether the process loaded @oclif/core (a CommonJS package, so it is in the
 * require cache once loaded), which the fast entry must not.
 */
import {writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {sep} from 'node:path'

const {cache} = createRequire(import.meta.url)
process.on('exit', () => {
  const loaded = Object.keys(cache).some((path) => path.includes(`${sep}@oclif${sep}core${sep}`))
  writeFileSync(process.env.OCLIF_PROBE_OUT, loaded ? 'oclif' : 'fast')
})
