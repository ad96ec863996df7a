import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import semver from 'semver'
import {describe, expect, it} from 'vitest'

import {ROOT} from './helpers/cli.js'

describe('package', () => {
  it("every installed runtime dependency accepts the Node versions jwtis's engines field promises", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))
    const oldest = semver.minVersion(pkg.engines.node)!.version
    const refusing = Object.entries(lock.packages as Record<string, {dev?: boolean; engines?: {node?: string}}>)
      .filter(([path, p]) => path && !p.dev && p.engines?.node && !semver.satisfies(oldest, p.engines.node))
      .map(([path, p]) => `${path} wants node ${p.engines!.node}`)
    expect(refusing).toEqual([])
  })
})
