import {StoreError} from '../common/errors.js'
import {describeFsError} from '../fs/files.js'

/**
 * The store's line files (the journals, the buckets' logs) hold one JSON record per line, each
 * written newline first: a line torn by a full disk is then ended by the next append instead of
 * swallowing its start, and readers skip it (a torn record never parses).
 */
export const toLines = (records: string[]): Buffer => Buffer.from(records.map((record) => `\n${record}`).join(''))

/**
 * What a write that landed short fails with: the disk took part of it and is full (or over
 * quota). Its lines must not count as written, and the rest is never written after them, where
 * another process's line may already follow.
 */
export const shortWrite = (): NodeJS.ErrnoException =>
  Object.assign(new Error('no space left on device (short write)'), {code: 'ENOSPC'})

/** A store write the file system refused: the token store's failure, with the code every full disk has. */
export const unwritable = (what: string, reason: unknown): StoreError =>
  new StoreError('VAULT_UNWRITABLE', `${what}: ${describeFsError(reason)}`, {cause: reason})

/** This boot of the machine (Linux), by which the journals are named: see bootId in ./journal.ts. */
export const BOOT_ID = '/proc/sys/kernel/random/boot_id'
