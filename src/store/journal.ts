import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {open, readdir, readFile, rename, unlink} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {BOOT_ID, shortWrite, toLines, unwritable} from './lines.js'

type FileHandle = Awaited<ReturnType<typeof open>>

/**
 * Group commit for the file store in `serve`: the records of every write that arrives in the
 * same tick are appended to this process's journal with one write and one fdatasync, and each
 * caller resumes only once its record is durable. The files the records describe are then
 * written without their own fsyncs; a checkpoint every few seconds flushes them all at once
 * (syncfs) and drops the journal. After an OS crash, `journalRecords` finds the records whose
 * files may not have reached the disk. A record lands whole or its caller fails
 * (VAULT_UNWRITABLE: a full disk).
 */
export class Journal {
  private fh?: Promise<FileHandle>
  private pending: Array<{apply?: () => void; line: string; reject: (error: Error) => void; resolve: () => void}> = []
  private scheduled = false
  private readonly path: string
  private records = 0
  private seals = 0
  private timer?: NodeJS.Timeout
  /** Flushes and checkpoints run one after another: a checkpoint swaps the file under the writes. */
  private chain: Promise<void> = Promise.resolve()

  constructor(
    private readonly dir: string,
    checkpointMs = 2000,
  ) {
    this.path = join(dir, `journal-${bootId()}-${process.pid}.log`)
    this.timer = setInterval(() => {
      this.checkpoint().catch(() => {})
    }, checkpointMs)
    this.timer.unref()
  }

  /**
   * Resolves once `record` is on disk. `apply` writes what the record describes (without an
   * fsync): it runs as soon as the record is durable and before any checkpoint can drop the
   * journal, so a checkpoint never drops a record whose file it did not flush. If it throws,
   * the append rejects with its error.
   */
  append(record: unknown, apply?: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({apply, line: JSON.stringify(record), reject, resolve})
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => {
          this.chain = this.chain.then(() => this.flush())
        })
      }
    })
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    this.chain = this.chain.then(() => this.flush())
    await this.checkpoint()
  }

  /**
   * Makes the files of every journaled record durable, then drops the journal. Only the sealing
   * (the journal closed and set aside) takes its turn with the flushes: the flush of the file
   * system, which can take seconds on a busy disk, runs beside them, since rotations wait on a
   * flush holding their family's lock. Every sealed record's write was made in its own flush
   * (see append), before the sealing, so this flush covers it.
   */
  async checkpoint(): Promise<void> {
    let sealed: string | undefined
    this.chain = this.chain.then(async () => {
      sealed = await this.seal()
    })
    await this.chain
    if (!sealed) return
    try {
      await syncFileSystem(this.dir)
      await unlink(sealed).catch(() => {})
    } catch {
      // left for replay after a crash; a later checkpoint does not retry it
    }
  }

  /** Sets the journal aside (appends from now on go to a fresh one); its new name, if it had records. */
  private async seal(): Promise<string | undefined> {
    const {fh} = this
    if (!fh || this.records === 0) return undefined
    this.fh = undefined
    this.records = 0
    const sealed = `${this.path}.${Date.now()}-${++this.seals}.done`
    await (await fh).close().catch(() => {})
    await rename(this.path, sealed).catch(() => {})
    return sealed
  }

  private async flush(): Promise<void> {
    this.scheduled = false
    const batch = this.pending
    this.pending = []
    if (batch.length === 0) return
    try {
      // (a journal that could not be opened, on a full disk say, is opened again next time)
      this.fh ??= open(this.path, 'a', 0o600).catch((error: unknown) => {
        this.fh = undefined
        throw error
      })
      const fh = await this.fh
      const data = toLines(batch.map((p) => p.line))
      if ((await fh.write(data)).bytesWritten < data.length) throw shortWrite()
      await fh.datasync()
    } catch (error) {
      const failure = unwritable(`cannot write ${this.path}`, error)
      for (const p of batch) p.reject(failure)
      return
    }

    this.records += batch.length
    for (const p of batch) {
      try {
        p.apply?.()
        p.resolve()
      } catch (error) {
        p.reject(error as Error)
      }
    }
  }
}

let boot: string | undefined
/** This boot of the machine: a journal of an earlier boot may describe files the crash lost. */
export function bootId(): string {
  if (boot === undefined) {
    try {
      boot = readFileSync(BOOT_ID, 'utf8').trim().replaceAll('-', '')
    } catch {
      boot = 'unknown'
    }
  }

  return boot
}

/**
 * Every record of the journals left in `dir` by an earlier boot: only an OS crash loses files
 * that were written but not yet flushed, and a crash means a new boot. (Journals of this boot
 * describe files that are in the page cache, whatever became of their process.)
 */
export async function journalRecords<T>(dir: string): Promise<{files: string[]; records: T[]}> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter(
    (n) => n.startsWith('journal-') && !n.startsWith(`journal-${bootId()}-`),
  )
  const records: T[] = []
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => '')
    for (const line of text.split('\n')) {
      try {
        if (line) records.push(JSON.parse(line) as T)
      } catch {} // a torn line: its write was never acknowledged
    }
  }

  return {files: names.map((n) => join(dir, n)), records}
}

/** syncfs(2) through coreutils' `sync -f`: one call flushes every file written since. */
async function syncFileSystem(dir: string): Promise<void> {
  await promisify(execFile)('sync', ['-f', dir], {timeout: 60_000})
}
