/**
 * The table of JWTIS_* variables (src/common/config.ts) is the only place they are read and the
 * whole list of them: every name the code mentions is in it, every entry is read somewhere,
 * nothing reads one around `env`, and the flags bound to a variable are the table's.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {CONFIG, SECRET_VARIABLES, VARIABLES} from '../../src/common/config.js'
import {storeChoice} from '../../src/store/index.js'

const ROOT = join(import.meta.dirname, '..', '..')
const TABLE = join('src', 'common', 'config.ts')

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile() && /\.(ts|js)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name).slice(ROOT.length + 1))
}

const code = new Map(
  [...sources('src'), join('bin', 'run.js')].map((file) => [file, readFileSync(join(ROOT, file), 'utf8')]),
)

describe('the configuration table', () => {
  it('lists every JWTIS_* variable the code mentions, and each of them is read somewhere', () => {
    const mentioned = new Set([...code.values()].flatMap((text) => text.match(/\bJWTIS_[A-Z_]+\b/g) ?? []))
    expect([...mentioned].sort()).toEqual([...VARIABLES].sort())
    for (const name of VARIABLES) {
      const readers = [...code].filter(
        ([file, text]) => file !== TABLE && new RegExp(`['"]${name}['"]|process\\.env\\.${name}\\b`).test(text),
      )
      expect(readers.length, `${name} is read by no code outside the table`).toBeGreaterThan(0)
    }
  })

  it('is the only reader of the environment for them: no process.env.JWTIS_… or process.env[name] elsewhere', () => {
    const around = [...code]
      .filter(([file]) => file !== TABLE)
      .flatMap(([file, text]) =>
        [...text.matchAll(/process\.env(?:\.JWTIS_\w+|\[[^\]]*\])/g)].map((read) => `${file}: ${read[0]}`),
      )
    // bin/run.js starts before anything is loaded (it is what decides whether the built fast
    // entry runs): the one variable it reads is in the table like the others.
    expect(around).toEqual(['bin/run.js: process.env.JWTIS_FAST'])
  })

  it('marks as secret exactly the variables that hold one', () => {
    expect(SECRET_VARIABLES).toEqual([
      'JWTIS_ADMIN_TOKEN',
      'JWTIS_AGE_KEY',
      'JWTIS_CLIENT_SECRET',
      'JWTIS_KEY_PASSPHRASE',
      'JWTIS_NEW_PASSPHRASE',
      'JWTIS_PASSPHRASE',
      'JWTIS_PSWD',
    ])
  })

  it("binds each oclif flag that reads a variable to the table's flag and default", () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, {flags: Record<string, {default?: unknown; env?: string}>}>
    }
    const bound = Object.entries(manifest.commands).flatMap(([id, command]) =>
      Object.entries(command.flags)
        .filter(([, flag]) => flag.env !== undefined)
        .map(([name, flag]) => ({default: flag.default, env: flag.env, flag: `${id} --${name}`})),
    )
    expect(bound.map((b) => b.env).sort()).toEqual(['JWTIS_ADDRESS', 'JWTIS_LOG_LEVEL', 'JWTIS_PUBLIC_URL'])
    for (const b of bound) {
      const variable = CONFIG[b.env as keyof typeof CONFIG] as {default?: string; flag?: string}
      expect({default: b.default, flag: b.flag}).toEqual({
        default: b.env === 'JWTIS_PUBLIC_URL' ? undefined : variable.default,
        flag: variable.flag,
      })
    }
  })
})

describe('the store choice', () => {
  const saved = process.env.JWTIS_STORE

  afterEach(() => {
    if (saved === undefined) delete process.env.JWTIS_STORE
    else process.env.JWTIS_STORE = saved
  })

  const noFlag = undefined as string | undefined
  const inRedis = {inRedis: true, source: 'redis://127.0.0.1:6379/0'}
  const inFile = {inRedis: false, source: '/tmp/vault.age'}

  it('is --store, else JWTIS_STORE, else the Redis of a vault kept there, else the file store', () => {
    delete process.env.JWTIS_STORE
    expect([storeChoice(noFlag, inFile), storeChoice(noFlag, inRedis), storeChoice(noFlag)]).toEqual([
      'file',
      inRedis.source,
      'file',
    ])
    process.env.JWTIS_STORE = 'memory'
    expect([storeChoice(noFlag, inRedis), storeChoice('file', inRedis)]).toEqual(['memory', 'file'])
  })
})
