import {existsSync} from 'node:fs'

import type {JWK} from '../../jose/keys.js'
import type {CommandContext} from './context.js'

import {UsageError} from '../../common/errors.js'
import {ENC_ALGS, isHmac, type SIG_ALGS} from '../../jose/algorithms.js'

/** `jwk create`'s flags, parsed. */
export interface CreateFlags {
  alg: string
  bits?: number
  force?: boolean
  format: string
  out?: string
  'public-out'?: string
}

/**
 * `jwtis jwk create`: a new private JWK (or PEM) on stdout, or with --out in a file only its owner
 * can read (stdout then gets the public half, nothing for a secret); its public half to a file if
 * asked. An existing file is never overwritten without --force, and nothing is written then.
 */
export async function createAction(ctx: CommandContext, flags: CreateFlags): Promise<JWK> {
  const [{generateKey}, {jwkToPem, publicJwk}] = await Promise.all([
    import('../../core/keys.js'),
    import('../../jose/keys.js'),
  ])
  const {out, 'public-out': publicOut} = flags
  if (out !== undefined && out === publicOut) throw new UsageError('--out and --public-out name the same file')
  // (worded as oclif words a usage error, as this was one of oclif's)
  if (publicOut && isHmac(flags.alg))
    throw new UsageError('a secret has no public half: drop --public-out (see --help)')
  for (const file of [out, publicOut]) if (file !== undefined && !flags.force) refuseExisting(file)
  const use = (ENC_ALGS as readonly string[]).includes(flags.alg) ? 'enc' : 'sig'
  const {jwk} = await generateKey(use, flags.alg as (typeof SIG_ALGS)[number], flags.bits, new Date())
  const show = async (key: JWK) => (flags.format === 'pem' ? jwkToPem(key) : `${JSON.stringify(key, null, 2)}\n`)
  if (out !== undefined) await writePrivate(out, await show(jwk), flags.force === true)
  if (publicOut) await writeKeyFile(publicOut, await show(publicJwk(jwk)), flags.force === true)
  if (out !== undefined) {
    const pub = jwk.kty === 'oct' ? {kid: jwk.kid, kty: 'oct'} : publicJwk(jwk)
    if (!ctx.json && jwk.kty !== 'oct') ctx.print(await show(pub))
    return pub
  }

  if (process.stdout.isTTY)
    process.stderr.write(
      'warning: printing a private key on the terminal: --out FILE writes it to a file only you can read\n',
    )
  if (!ctx.json) ctx.print(await show(jwk))
  return jwk
}

function refuseExisting(file: string): void {
  if (existsSync(file)) throw new UsageError(`${file} already exists: pass --force to overwrite it`)
}

/** The private key, mode 0600 (umask aside), written whole or not at all. */
async function writePrivate(file: string, text: string, force: boolean): Promise<void> {
  const {writeFileAtomic} = await import('../../fs/files.js')
  // exclusive: a file that appeared since the check is not replaced either
  if (!(await writeFileAtomic(file, text, !force))) refuseExisting(file)
}

async function writeKeyFile(file: string, text: string, force: boolean): Promise<void> {
  const {writeFile} = await import('node:fs/promises')
  try {
    await writeFile(file, text, {flag: force ? 'w' : 'wx', mode: 0o644})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') refuseExisting(file)
    throw error
  }
}

/** `jwtis jwk public`: the public half of a private key, as a JWK or PEM. */
export async function publicAction(ctx: CommandContext, key: string | undefined, format: string): Promise<JWK> {
  const [{readOneKey}, {jwkToPem, publicJwk}] = await Promise.all([
    import('../jwk-input.js'),
    import('../../jose/keys.js'),
  ])
  const jwk = await readOneKey(key)
  if (jwk.kty === 'oct') throw new UsageError('a secret (kty oct) has no public half', 'BAD_KEY')
  const pub = publicJwk(jwk)
  if (!ctx.json) ctx.print(format === 'pem' ? await jwkToPem(pub) : JSON.stringify(pub, null, 2))
  return pub
}

/** `jwtis jwk thumbprint`: a key's RFC 7638 thumbprint. */
export async function thumbprintAction(ctx: CommandContext, key: string | undefined): Promise<{thumbprint: string}> {
  const [{readOneKey}, keys] = await Promise.all([import('../jwk-input.js'), import('../../jose/keys.js')])
  const thumbprint = await keys.thumbprint(await readOneKey(key))
  if (!ctx.json) ctx.print(thumbprint)
  return {thumbprint}
}
