import {JwksError} from '../../common/errors.js'

const TIMEOUT_MS = 5000
const MAX_BYTES = 64 * 1024
/** How long a client's published keys are kept before they are read again (a rotation shows within it). */
const FRESH_MS = 5 * 60_000

/**
 * Reads the JWK Sets that clients publish at their `jwks_uri`, cached per URL for FRESH_MS; a
 * failed read is not cached. What is read is checked by the caller (checkPublicJwks).
 */
export function jwksFetcher(now: () => number = Date.now): (uri: string) => Promise<unknown> {
  const cache = new Map<string, {at: number; value: Promise<unknown>}>()
  return async (uri) => {
    const cached = cache.get(uri)
    if (cached && now() - cached.at < FRESH_MS) return cached.value
    const value = fetchJwks(uri)
    cache.set(uri, {at: now(), value})
    value.catch(() => cache.delete(uri))
    return value
  }
}

async function fetchJwks(uri: string): Promise<unknown> {
  const shown = new URL(uri).origin
  let text: string
  try {
    // No redirects: the registered URL is the one trusted for this client's keys.
    const response = await fetch(uri, {redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS)})
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
    text = await boundedText(response)
  } catch (error) {
    throw new JwksError(
      'JWKS_UNAVAILABLE',
      `cannot fetch the client's jwks_uri at ${shown}: ${(error as Error).message}`,
    )
  }

  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new JwksError('JWKS_UNAVAILABLE', `the client's jwks_uri at ${shown} does not answer JSON`)
  }
}

/** The body as text, refused past MAX_BYTES without reading the rest. */
async function boundedText(response: Response): Promise<string> {
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body ?? []) {
    size += chunk.length
    if (size > MAX_BYTES) throw new Error(`the JWK Set is larger than ${MAX_BYTES} bytes`)
    chunks.push(chunk)
  }

  return Buffer.concat(chunks).toString('utf8')
}
