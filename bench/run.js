// Benchmarks, reported as ratios measured in one run (machines are small and noisy, so only
// ratios of interleaved measurements mean anything). Run with `npm run bench`.
//
// 1. Refresh renewal cost against the number of live refresh families in the file store: the
//    store must not make an operation cost more as families accumulate (limit: 1.5x from 100 to
//    100,000 families).
// 2. CLI start-up: commands against `jwtis --version` (oclif alone), to show what lazy imports
//    leave each command paying for (decode loads jose only; vault commands add age).
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {addClient} from '../dist/core/clients.js'
import {Issuer} from '../dist/core/issuer.js'
import {FileStore} from '../dist/store/file.js'
import {newIdentity} from '../dist/vault/age.js'
import {newDocument} from '../dist/vault/format.js'
import {Vault} from '../dist/vault/vault.js'

const ROUNDS = 6
const RENEWS_PER_ROUND = 50

async function benchStore(families) {
  const dir = mkdtempSync(join(tmpdir(), 'jwtis-bench-'))
  const {identity, recipient} = await newIdentity()
  const vault = await Vault.create(
    join(dir, 'vault.age'),
    newDocument({defaults: {refreshStrategy: 'refreshBoth'}, name: 'bench', recipients: [recipient]}),
    {identities: [identity]},
  )
  await addClient(vault, 'app', {})
  const storeDir = join(dir, 'vault.age.tokens')
  // Live families written straight in the store's layout (one file each, as FileStore.create
  // writes them, minus the fsync: filling 100,000 would otherwise take minutes).
  const now = Date.now()
  const made = new Set()
  for (let i = 0; i < families; i++) {
    const fam = createHash('sha256').update(randomBytes(16)).digest('base64url')
    const bucket = join(storeDir, 'families', fam.slice(0, 2))
    if (!made.has(bucket)) mkdirSync(bucket, {recursive: true})
    made.add(bucket)
    const record = {
      client: 'app',
      created: now,
      current: 'x',
      fam,
      revoked: false,
      sexp: now + 86_400_000,
      sub: `u${i}`,
    }
    writeFileSync(join(bucket, `${fam}.json`), JSON.stringify(record))
  }

  const issuer = new Issuer(vault, async () => new FileStore(storeDir))
  let token = (await issuer.issue('app', {custom: {}, refresh: true})).refresh_token
  return {
    dir,
    async renewMany(n) {
      const start = process.hrtime.bigint()
      for (let i = 0; i < n; i++) token = (await issuer.renew('app', token)).refresh_token
      return Number(process.hrtime.bigint() - start) / 1e6 / n
    },
  }
}

const small = await benchStore(100)
process.stderr.write('filling a store with 100,000 families…\n')
const large = await benchStore(100_000)
await small.renewMany(20) // warm up: key import, JIT
await large.renewMany(20)
const times = {large: [], small: []}
for (let round = 0; round < ROUNDS; round++) {
  times.small.push(await small.renewMany(RENEWS_PER_ROUND))
  times.large.push(await large.renewMany(RENEWS_PER_ROUND))
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ratio = median(times.large) / median(times.small)
console.log(
  `renew (file store, refreshBoth): ${median(times.small).toFixed(2)} ms/op with 100 families, ${median(times.large).toFixed(2)} ms/op with 100,000`,
)
console.log(`ratio 100,000 / 100 families: ${ratio.toFixed(2)}x (limit 1.5x) ${ratio <= 1.5 ? 'ok' : 'OVER'}`)

// Start-up, interleaved runs of whole processes.
const bin = new URL('../bin/run.js', import.meta.url).pathname
const env = {
  ...process.env,
  CI: '1',
  JWTIS_CONFIG_DIR: join(small.dir, 'config'),
  JWTIS_VAULT: join(small.dir, 'cli.age'),
}
execFileSync(process.execPath, [bin, 'init'], {env, stdio: 'ignore'})
execFileSync(process.execPath, [bin, 'client', 'add', 'app'], {env, stdio: 'ignore'})
const token = execFileSync(process.execPath, [bin, 'token', 'issue', '--client', 'app'], {encoding: 'utf8', env}).trim()
const commands = {
  '--version': ['--version'],
  'client list': ['client', 'list'],
  'token decode': ['token', 'decode', token],
  'token issue': ['token', 'issue', '--client', 'app'],
  'token verify': ['token', 'verify', token],
}
const startup = Object.fromEntries(Object.keys(commands).map((name) => [name, []]))
for (let round = 0; round < 7; round++) {
  for (const [name, args] of Object.entries(commands)) {
    const start = process.hrtime.bigint()
    spawnSync(process.execPath, [bin, ...args], {env, stdio: 'ignore'})
    startup[name].push(Number(process.hrtime.bigint() - start) / 1e6)
  }
}

const base = median(startup['--version'])
for (const name of Object.keys(commands)) {
  console.log(
    `start-up ${name.padEnd(12)} ${median(startup[name]).toFixed(0).padStart(4)} ms  ${(median(startup[name]) / base).toFixed(2)}x of --version`,
  )
}

rmSync(small.dir, {force: true, recursive: true})
rmSync(large.dir, {force: true, recursive: true})
process.exitCode = ratio <= 1.5 ? 0 : 1
