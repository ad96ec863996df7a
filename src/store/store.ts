import {createHmac, createSecretKey, timingSafeEqual} from 'node:crypto'

/**
 * Refresh-token state. The store never sees a token: only family ids and hashes of token ids,
 * so nothing in it can be replayed. Each operation is atomic, across processes and (with
 * Redis) across `serve` instances.
 */
export interface Family {
  client: string
  /** ms since the epoch; families created at or before a subject cut-off are revoked. */
  created: number
  /** Hash of the `jti` of the one refresh token of this family that may be redeemed now. */
  current: string
  /** Family id. */
  fam: string
  /** Salted hash of the fingerprint the family is bound to; renewals must present the same value. */
  fingerprint?: string
  revoked: boolean
  /** Absolute expiry (ms): the family is dropped after it. */
  sexp: number
  /** The subject. The file and Redis stores keep only its id (see subjectIds). */
  sub: string
}

/**
 * A family as a store keeps it: with the subject's id (`sid`), or, if written before subjects
 * were hashed (and in the memory store), with the subject itself (`sub`).
 */
export type StoredFamily = Omit<Family, 'sub'> & {sid?: string; sub?: string}

/**
 * `ok`: the presented token is the current one (and, for `rotate`, the next one now is).
 * `reused`: a spent token was presented; the family is now revoked.
 * `revoked`: revoked before (by reuse, `token revoke`, or a subject cut-off).
 * `fingerprint_mismatch`: the family is bound to another fingerprint; it is now revoked.
 * `unknown`: no such family (never made, or dropped after its absolute expiry).
 */
export type FamilyStatus = 'fingerprint_mismatch' | 'ok' | 'reused' | 'revoked' | 'unknown'

/**
 * Who the presented refresh token says it belongs to (its signed `client_id` and `sub`). Stores
 * that keep cut-offs apart from families (Redis Cluster) read the cut-off by it before the
 * family operation; the others read both from the family.
 */
export interface Subject {
  client: string
  sub: string
}

export interface TokenStore {
  /**
   * Validates `presented` without rotating (noRefresh, or refreshOnExpire before its 30%).
   * `fingerprint` is the salted hash of the fingerprint presented with it, if any.
   */
  check(fam: string, presented: string, now: number, fingerprint?: string, subject?: Subject): Promise<FamilyStatus>
  /** Whether a claimOnce of `id` in `namespace` holds at `now` (a read: it claims nothing). */
  claimed(namespace: string, id: string, now: number): Promise<boolean>
  /**
   * Marks `id` used in `namespace` until `expiresAt` (ms): true for the first claim, false while
   * an earlier one holds, atomically across processes and (Redis) instances. For what must be
   * used once: an assertion's `jti`, an authorization code. A claim past its expiry may be made
   * again (the thing claimed is itself expired by then). `now` is the caller's clock.
   */
  claimOnce(namespace: string, id: string, expiresAt: number, now: number): Promise<boolean>
  close(): Promise<void>
  /** Drops families past their absolute expiry. Returns how many were dropped. */
  compact(now: number): Promise<number>
  create(family: Family): Promise<void>
  /**
   * The subject's logout time (ms): the later of the client's and the (client, sub) cut-off,
   * 0 when there is none. Access tokens issued until then fail online checks.
   */
  cutoff(client: string, sub: string): Promise<number>
  get(fam: string): Promise<StoredFamily | undefined>
  /** Resolves when the store can take operations now; throws STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>
  /** Revokes one family. Returns false when it is unknown. */
  revoke(fam: string): Promise<boolean>
  /** Revokes every family of a client (or of one subject of it) created up to `at`. */
  revokeSubject(client: string, sub: string | undefined, at: number): Promise<void>
  /** Atomically: if `presented` is current, make `next` current; if it is spent, revoke the family. */
  rotate(
    fam: string,
    presented: string,
    next: string,
    now: number,
    fingerprint?: string,
    subject?: Subject,
  ): Promise<FamilyStatus>
}

/** A claimOnce namespace: short lowercase words, safe as a file name and in a Redis key. */
export function checkNamespace(namespace: string): void {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(namespace)) throw new TypeError(`claimOnce: bad namespace "${namespace}"`)
}

/**
 * What the file and Redis stores keep of a subject (often an e-mail address): HMAC-SHA256 under
 * the vault's store key, bound to the client. The same subject always gets the same id, so
 * logout by subject finds its families, but a reader of the store can neither read a subject
 * nor confirm a guess without the key, which only the vault holds.
 */
export function subjectIds(storeKey: string): (client: string, sub: string) => string {
  const key = createSecretKey(Buffer.from(storeKey, 'base64url'))
  return (client, sub) =>
    createHmac('sha256', key).update(`jwtis subject\u0000${client}\u0000${sub}`).digest('base64url')
}

/**
 * The key of a cut-off in a store's table: the client's own, or one subject's. The memory store
 * keys subjects as `client NUL sub`, as every store did before subjects were hashed; the others
 * by `#` and the subject's id (no client name starts with `#`).
 */
export const cutoffKey = (client: string, sub?: string): string =>
  sub === undefined ? client : `${client}\u0000${sub}`
export const hashedCutoffKey = (sid: string): string => `#${sid}`

/**
 * A subject's cut-off: the later of the client's (`token revoke --client`) and the subject's
 * own (logout, under `subjectKey`), 0 when there is none. `get` reads a store's cut-off table by key.
 */
export function subjectCutoff(get: (key: string) => number | undefined, client: string, subjectKey: string): number {
  return Math.max(get(cutoffKey(client)) ?? 0, get(subjectKey) ?? 0)
}

/**
 * The one rule for a presented token, shared by every store so they cannot drift: what its
 * family's state says, and what the family must become.
 */
export function judge(
  family: StoredFamily | undefined,
  presented: string,
  cutoff: number,
  now: number,
  fingerprint?: string,
): {revoke: boolean; status: FamilyStatus} {
  if (!family || family.sexp <= now) return {revoke: false, status: 'unknown'}
  if (family.revoked || family.created <= cutoff) return {revoke: !family.revoked, status: 'revoked'}
  // A bound family presented from elsewhere is taken as stolen, like a reused token.
  if (family.fingerprint !== undefined && !sameHash(family.fingerprint, fingerprint)) {
    return {revoke: true, status: 'fingerprint_mismatch'}
  }

  if (family.current !== presented) return {revoke: true, status: 'reused'}
  return {revoke: false, status: 'ok'}
}

function sameHash(stored: string, presented: string | undefined): boolean {
  if (presented === undefined) return false
  const a = Buffer.from(stored)
  const b = Buffer.from(presented)
  return a.length === b.length && timingSafeEqual(a, b)
}
