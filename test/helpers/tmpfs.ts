import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** A tiny tmpfs the test mounts (root only), so that the disk can fill up or turn read-only. */
export function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, {recursive: true})
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]).status === 0
}

export const CAN_MOUNT = (() => {
  if (process.getuid?.() !== 0) return false
  const probe = join(mkdtempSync(join(tmpdir(), 'jwtis-mount-')), 'm')
  const ok = mountTmpfs(probe, '64k')
  if (ok) spawnSync('umount', [probe])
  return ok
})()
if (!CAN_MOUNT)
  process.stderr.write('NOTICE: skipping the full-disk and read-only tests: they mount a tmpfs, which needs root\n')

/** Fills every byte left on the file system of `dir` (with `dir`/filler), and checks it is full. */
export function fillDisk(dir: string): void {
  spawnSync('sh', ['-c', `dd if=/dev/zero of=${join(dir, 'filler')} bs=4k 2>/dev/null; sync`])
  if (spawnSync('sh', ['-c', `echo x > ${join(dir, 'probe')}`]).status === 0) throw new Error(`${dir} is not full`)
}

export function freeDisk(dir: string): void {
  spawnSync('rm', ['-f', join(dir, 'filler')])
}
