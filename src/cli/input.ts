import {tooLarge} from '../fs/files.js'

export {describeFsError, readBounded} from '../fs/files.js'

/** The most any token, claim set or document argument may be: far above every honest input. */
export const MAX_INPUT_BYTES = 1024 * 1024

/** Reads stdin to its end, refusing (and no longer reading) once it passes `limit` bytes. */
export async function readStdinBounded(limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length
    if (size > limit) {
      process.stdin.destroy()
      throw tooLarge(what, 'stdin', limit)
    }

    chunks.push(chunk as Buffer)
  }

  return Buffer.concat(chunks)
}

/** Reads an HTTP response body, aborting once it passes `limit` bytes. */
export async function readResponseBounded(response: Response, limit: number, what: string): Promise<string> {
  const declared = Number(response.headers.get('content-length'))
  if (declared > limit) {
    await response.body?.cancel().catch(() => {})
    throw tooLarge(what, response.url, limit)
  }

  const chunks: Uint8Array[] = []
  let size = 0
  if (response.body) {
    for await (const chunk of response.body) {
      size += chunk.length
      if (size > limit) {
        await response.body.cancel().catch(() => {})
        throw tooLarge(what, response.url, limit)
      }

      chunks.push(chunk)
    }
  }

  return Buffer.concat(chunks).toString('utf8')
}
