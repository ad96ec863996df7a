// Raw node:crypto work on every core at once, for the rows that set jwtis on all cores against
// what the runtime does on all cores (not one core's rate multiplied): one worker thread per
// core runs the same operation in a loop for the same time; the rates are summed.
import {generateKeyPairSync, sign} from 'node:crypto'
import {availableParallelism} from 'node:os'
import {isMainThread, parentPort, Worker, workerData} from 'node:worker_threads'

import {newKeys, tokenWork} from './floor/tokens.js'

/** Operations per second of `op` over all cores: sign (one ES256 signature), issue-client, issue-issuer (one issue_token's tokens). */
export async function allCores(op, ms) {
  const keys = newKeys()
  const counts = await Promise.all(
    Array.from(
      {length: availableParallelism()},
      () =>
        new Promise((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), {workerData: {keys, ms, op}})
          worker.once('message', resolve)
          worker.once('error', reject)
        }),
    ),
  )
  return counts.reduce((sum, n) => sum + n, 0) / (ms / 1000)
}

function operation(op, keys) {
  if (op === 'sign') {
    const {privateKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    return (i) => sign('sha256', Buffer.from(`header.payload${i}`), {dsaEncoding: 'ieee-p1363', key: privateKey})
  }

  const work = tokenWork(keys, op === 'issue-issuer' ? 'issuer' : 'client')
  return () => work.issue('alice', {role: 'admin'})
}

if (!isMainThread) {
  const run = operation(workerData.op, workerData.keys)
  const end = Date.now() + workerData.ms
  let n = 0
  while (Date.now() < end) {
    for (let i = 0; i < 50; i++) run(n + i)
    n += 50
  }

  parentPort.postMessage(n)
}
