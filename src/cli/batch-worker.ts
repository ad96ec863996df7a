/**
 * A `token issue --batch` worker thread: signs chunks of NDJSON lines with an issuer over the
 * vault document the main thread opened (read only: any key rotation due was done before the
 * workers started) and answers one result line per input line.
 */

import {parentPort, workerData} from 'node:worker_threads'

import type {Vault} from '../vault/vault.js'

import {isRedisUrl} from '../redis/url.js'
import {answerLine, type BatchChunk, type BatchSetup, lineIssuer} from './batch-line.js'
import {issuerOver} from './io.js'

/** A worker's answer to one chunk, in input order by `seq`. */
export interface BatchDone {
  failed: number
  /** Exit code of the chunk's first failure. */
  firstExit?: number
  out: string
  seq: number
}

const setup = workerData as BatchSetup
const vault = {
  async close() {},
  document: setup.doc,
  inRedis: isRedisUrl(setup.vaultPath),
  path: setup.vaultPath,
  source: setup.vaultPath,
  async update() {
    throw new Error('a batch worker never writes the vault')
  },
} as unknown as Vault
// read-only and silent: the main thread has rotated what was due (or, read-only, said it was not)
const issuer = await issuerOver(vault, setup.store, {readOnly: true})
const issue = lineIssuer(issuer, setup)

parentPort!.on('message', async (chunk: 'close' | BatchChunk) => {
  if (chunk === 'close') {
    await issuer.close()
    parentPort!.close()
    return
  }

  let out = ''
  let failed = 0
  let firstExit: number | undefined
  for (const [i, line] of chunk.lines.entries()) {
    const answer = await answerLine(issue, line, chunk.first + i)
    out += answer.out
    if (answer.exitCode !== undefined) {
      failed++
      firstExit ??= answer.exitCode
    }
  }

  parentPort!.postMessage({failed, firstExit, out, seq: chunk.seq} satisfies BatchDone)
})
