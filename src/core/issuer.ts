import {createHash, createHmac, randomBytes} from 'node:crypto'

import type {KeyUse} from '../jose/keys.js'
import type {Vault} from '../vault/vault.js'
import type {EffectiveSettings} from './settings.js'

import {ClaimsError, NotFoundError, TokenRejectedError, UsageError} from '../common/errors.js'
import {checkClaimsSize, checkLifetime, MAX_CLAIM_DEPTH} from '../common/limits.js'
import {
  type Claims,
  type ClaimSet,
  DEFAULT_LEEWAY_MS,
  ISSUER_SEAL_ALG,
  type KeyEntry,
  Keyring,
  protectedHeader,
  type RefreshStrategy,
  reject,
  sealJwe,
  sealNested,
  type SealTo,
  signJws,
  type SignWith,
  type TokenVerified,
  type VerifyOptions,
  verifyToken,
} from '../jose/index.js'
import {judge, type TokenStore} from '../store/store.js'
import {allowedAudiences, checkAudiences, checkScopeClaim, clientSettings, getClient} from './clients.js'
import {dueAt} from './keys.js'
import {vaultKeyring} from './lifecycle.js'
import {type RotatedKey, rotateKeys, rotateSealKey, sealDueAt, usesDue} from './rotation.js'
import {issuerLimits} from './settings.js'

/** The contract's `--json` result of issue and renew (JWTIS's `TokensResponse`, plus OAuth names). */
export interface IssuedTokens {
  access_token: string
  expires_in: number
  /** When the access token expires: a NumericDate (seconds since the epoch), as JWTIS sends it. */
  expiry: number
  /** Refresh family id: what `token revoke --family` takes. */
  family?: string
  /** The access token's `jti`. */
  id: string
  refresh_token?: string
  token_type: 'Bearer'
}

export interface IssueRequest extends ClaimSet {
  /** Make the access token a nested JWT (signed, then encrypted to the client); default: the client's setting. */
  encrypt?: boolean
  /**
   * The refresh family's id, when the caller must find the family again (an authorization
   * code's exchange, which a reused code revokes); default a random one.
   */
  family?: string
  /**
   * Bind the tokens to this value (a device id, a user agent…): the access token carries its
   * hash in `cnf`, and the refresh family accepts renewals only with the same value.
   */
  fingerprint?: string
  /** The access token's `jti`, when the caller must revoke it later (the same exchange); default a random one. */
  jti?: string
  /** Absolute `nbf` in ms; default now. */
  nbf?: number
  refresh?: boolean
  /** Refresh token idle lifetime for this request (JWTIS `refresh_token_valid_time`). */
  refreshTtlMs?: number
  ttlMs?: number
}

/** The claims inside a refresh token (its inner JWS, `typ: rt+jwt`). */
interface RefreshClaims {
  aud: string[]
  /** Custom claims to re-issue. */
  cl: Claims
  client_id: string
  /** Renewed access tokens are encrypted too. */
  eat?: boolean
  exp: number
  fam: string
  /** Salt of the family's fingerprint hash (the value itself is never stored). */
  fps?: string
  iat: number
  iss: string
  jti: string
  /** The family's absolute expiry (s). */
  sexp: number
  sub: string
}

export type Clock = () => number

/** What a command is told of the keys past their key-ttl that `issue` and `renew` meet. */
export interface KeyNotices {
  /** Read-only: the client's keys of these uses (`seal`: the issuer's key-wrapping key) kept signing, once per client. */
  overdue(client: string, uses: Array<'seal' | KeyUse>): void
  /** Keys rotated on use: the vault was rewritten. */
  rotated(keys: RotatedKey[]): void
}

export interface IssuerOptions {
  notices?: KeyNotices
  /** Never write the vault: keys past key-ttl keep signing until a writer rotates them. */
  readOnly?: boolean
}

/** Token ids and family ids reach the store only hashed: what it holds cannot be replayed. */
export const storeId = (id: string): string => createHash('sha256').update(id).digest('base64url')
/** Random bytes drawn 4 KiB at a time: one call into the CSPRNG per 256 ids, not one per id. */
let pool = Buffer.alloc(0)
let poolOffset = 0
const newId = (): string => {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(4096)
    poolOffset = 0
  }

  poolOffset += 16
  return pool.toString('base64url', poolOffset - 16, poolOffset)
}

/** The `cnf` member that carries a fingerprint's hash (RFC 7800 §3.1 leaves members open). */
export const CNF_FINGERPRINT = 'fp#S256'
/** What a resource server compares with `cnf["fp#S256"]`: base64url(SHA-256(value)). */
export const fingerprintThumbprint = (value: string): string => createHash('sha256').update(value).digest('base64url')
/** What the store keeps of a fingerprint: salted, so the store alone cannot confirm a guess. */
const fingerprintHash = (salt: string, value: string): string =>
  createHmac('sha256', Buffer.from(salt, 'base64url')).update(value).digest('base64url')
const MAX_FINGERPRINT_CHARS = 1024

function checkFingerprint(value: string | undefined): void {
  if (value !== undefined && (value.length === 0 || value.length > MAX_FINGERPRINT_CHARS)) {
    throw new UsageError(`a fingerprint is 1 to ${MAX_FINGERPRINT_CHARS} characters`)
  }
}

const seconds = (ms: number): number => Math.floor(ms / 1000)

/** Share of a refresh token's lifetime under which `refreshOnExpire` issues a new one (as JWTIS). */
const REFRESH_ON_EXPIRE_SHARE = 0.3

/**
 * The one place that knows the token rules. Commands and HTTP routes only translate input and
 * output. It reads keys from the vault snapshot (re-read by `serve` when the file changes) and
 * keeps refresh families in a TokenStore; the clock is injectable so tests never sleep.
 */
export class Issuer {
  private cachedKeyring?: {doc: unknown; keyring: Keyring; until: number}
  private readonly clientKeyrings = new WeakMap<Keyring, Map<string, Keyring>>()
  /** Per vault document and client: when its first active key falls due (rotation is checked on every issue). */
  private readonly firstDue = new WeakMap<object, Map<string, number>>()
  private storePromise?: Promise<TokenStore>

  constructor(
    readonly vault: Vault,
    private readonly openStore: () => Promise<TokenStore>,
    readonly now: Clock = Date.now,
    private readonly options: IssuerOptions = {},
  ) {}

  /**
   * Marks `id` used in `namespace` until `expiresAt` (ms): true the first time, false while that
   * holds (a replayed assertion, a spent authorization code). Shared by every process on the
   * store. The store sees the id only hashed.
   */
  async claimOnce(namespace: string, id: string, expiresAt: number): Promise<boolean> {
    return (await this.store()).claimOnce(namespace, storeId(id), expiresAt, this.now())
  }

  /**
   * RFC 7009 for one access token: its `jti` is refused by online checks until the token has
   * expired (and the default leeway). False when the token has no `jti`/`exp`.
   */
  async revokeAccessToken(client: string, payload: {exp?: number; jti?: string}): Promise<boolean> {
    const {exp, jti} = payload
    if (typeof jti !== 'string' || typeof exp !== 'number') return false
    await this.claimOnce('revoked', `${client}\u0000${jti}`, exp * 1000 + DEFAULT_LEEWAY_MS)
    return true
  }

  /** Closes the token store and the vault's connection (a Redis vault's; a file has none). */
  async close(): Promise<void> {
    if (this.storePromise) await (await this.storePromise).close()
    await this.vault.close()
  }

  async issue(client: string, request: IssueRequest): Promise<IssuedTokens> {
    await this.rotateDueKeys(client)
    const doc = this.vault.document
    const s = clientSettings(doc, client)
    const now = this.now()
    const claims: ClaimSet = {
      aud: request.aud ?? allowedAudiences(doc, client),
      custom: request.custom,
      sub: request.sub ?? client,
    }
    checkAudiences(doc, client, claims.aud!)
    checkScopeClaim(doc, client, claims.custom)
    checkClaimsSize(claims.custom)
    if (request.ttlMs !== undefined || request.refreshTtlMs !== undefined) {
      const limits = issuerLimits(doc)
      if (request.ttlMs !== undefined)
        checkLifetime(request.ttlMs, 'the access token lifetime', limits.maxAccessTtlMs, limits.maxAccessTtl)
      if (request.refreshTtlMs !== undefined)
        checkLifetime(request.refreshTtlMs, 'the refresh token lifetime', limits.maxSessionTtlMs, limits.maxSessionTtl)
    }

    checkFingerprint(request.fingerprint)
    if (request.fingerprint !== undefined && Object.hasOwn(claims.custom, 'cnf')) {
      throw new ClaimsError('"cnf" is set by the issuer when a fingerprint is given')
    }

    const encrypt = request.encrypt ?? s.encryptAccess ?? false
    const access = {encrypt, fingerprint: request.fingerprint, jti: request.jti, nbf: request.nbf, ttlMs: request.ttlMs}
    const result = await this.signAccess(client, s, claims, now, access)
    if (!request.refresh) return result
    const fam = request.family ?? newId()
    const jti = newId()
    const sexp = now + s.sessionTtlMs
    const fps = request.fingerprint === undefined ? undefined : randomBytes(16).toString('base64url')
    const refreshToken = await this.sealRefresh(client, s, {
      aud: claims.aud!,
      cl: claims.custom,
      client_id: client,
      ...(encrypt ? {eat: true} : {}),
      exp: seconds(Math.min(now + (request.refreshTtlMs ?? s.refreshTtlMs), sexp)),
      fam,
      ...(fps ? {fps} : {}),
      iat: seconds(now),
      iss: this.vault.document.issuer.name,
      jti,
      sexp: seconds(sexp),
      sub: claims.sub!,
    })
    await (
      await this.store()
    ).create({
      client,
      created: now,
      current: storeId(jti),
      fam: storeId(fam),
      ...(fps ? {fingerprint: fingerprintHash(fps, request.fingerprint!)} : {}),
      revoked: false,
      sexp,
      sub: claims.sub!,
    })
    return {...result, family: fam, refresh_token: refreshToken}
  }

  /**
   * Logs a subject out: every refresh family of it (of the client, without `sub`) issued until
   * now is revoked, and its access tokens issued until now fail online checks
   * (`verify --check-revoked`, POST /introspect). Tokens issued within the same second count as
   * issued before: `iat` has a resolution of one second.
   */
  async logout(client: string, sub?: string): Promise<void> {
    await this.revokeSubject(client, sub)
  }

  /** One client's keys out of `keyring()`, and the issuer's own (which seal its refresh tokens), cached with it. */
  private clientKeyring(client: string): Keyring {
    const all = this.keyring()
    let byClient = this.clientKeyrings.get(all)
    if (!byClient) {
      byClient = new Map()
      this.clientKeyrings.set(all, byClient)
    }

    let own = byClient.get(client)
    if (!own) {
      own = new Keyring(all.entries.filter((e) => e.client === client || e.issuer))
      byClient.set(client, own)
    }

    return own
  }

  /** Keys that verify tokens of this vault now: active ones, and retired ones within their grace. */
  keyring(): Keyring {
    const doc = this.vault.document
    const now = this.now()
    if (this.cachedKeyring?.doc !== doc || now >= this.cachedKeyring.until) {
      const keyring = vaultKeyring(doc, now)
      const until = Math.min(
        ...Object.values(doc.clients).flatMap((c) =>
          c.keys.map((k) => (k.retireAfter ? Date.parse(k.retireAfter) : Infinity)),
        ),
      )
      this.cachedKeyring = {doc, keyring, until}
    }

    return this.cachedKeyring.keyring
  }

  /**
   * Exchanges a refresh token. `noRefresh` keeps it; `refreshOnExpire` replaces it when under
   * 30% of its lifetime is left; `refreshBoth` always replaces it. A replaced token is spent:
   * presenting it again revokes the whole family (REFRESH_REUSED).
   */
  async renew(
    client: string,
    token: string,
    options: {
      /**
       * Refuses the exchange (by throwing) from the family's claims, before the token is spent:
       * the token endpoint's check of a requested `scope`.
       */
      check?: (family: Required<Pick<ClaimSet, 'aud' | 'custom' | 'sub'>>) => void
      fingerprint?: string
      strategy?: RefreshStrategy
    } = {},
  ): Promise<IssuedTokens> {
    const {strategy} = options
    checkFingerprint(options.fingerprint)
    const rt = await this.openRefresh(client, token, false)
    options.check?.({aud: rt.aud, custom: rt.cl, sub: rt.sub})
    // The store compares salted hashes; with no salt the family is not bound.
    const fingerprint = rt.fps === undefined ? undefined : fingerprintHash(rt.fps, options.fingerprint ?? '')
    // An audience taken away from the client since the family began is not issued for again.
    checkAudiences(this.vault.document, client, rt.aud)
    await this.rotateDueKeys(client)
    const s = clientSettings(this.vault.document, client)
    const now = this.now()
    const how = strategy ?? s.refreshStrategy
    const lifetime = (rt.exp - rt.iat) * 1000
    const replace =
      how === 'refreshBoth' || (how === 'refreshOnExpire' && rt.exp * 1000 - now < REFRESH_ON_EXPIRE_SHARE * lifetime)
    const store = await this.store()
    const holder = {client: rt.client_id, sub: rt.sub}
    let refreshToken = token
    let status
    if (replace) {
      const jti = newId()
      const sexpMs = rt.sexp * 1000
      refreshToken = await this.sealRefresh(client, s, {
        ...rt,
        exp: seconds(Math.min(now + s.refreshTtlMs, sexpMs)),
        iat: seconds(now),
        iss: this.vault.document.issuer.name,
        jti,
      })
      status = await store.rotate(storeId(rt.fam), storeId(rt.jti), storeId(jti), now, fingerprint, holder)
    } else {
      status = await store.check(storeId(rt.fam), storeId(rt.jti), now, fingerprint, holder)
    }

    if (status === 'fingerprint_mismatch') {
      throw new TokenRejectedError(
        'FINGERPRINT_MISMATCH',
        'the refresh token was presented with another fingerprint than it was issued for: its family is now revoked',
      )
    }

    if (status === 'reused') {
      throw new TokenRejectedError(
        'REFRESH_REUSED',
        'this refresh token was already used: its whole family is now revoked',
      )
    }

    if (status !== 'ok')
      throw reject(
        'TOKEN_REVOKED',
        status === 'revoked' ? 'the refresh token was revoked' : 'unknown or expired refresh family',
      )
    const result = await this.signAccess(client, s, {aud: rt.aud, custom: rt.cl, sub: rt.sub}, now, {
      encrypt: rt.eat ?? s.encryptAccess ?? false,
      fingerprint: rt.fps === undefined ? undefined : options.fingerprint,
    })
    return {...result, family: rt.fam, refresh_token: refreshToken}
  }

  /**
   * RFC 7662 for a refresh token of `client` (any client's without one): its claims while it
   * would renew now (unexpired, its family live and it the family's current token), read without
   * spending it; a token the family would not take is rejected like one that does not open. A
   * fingerprint proves possession at renewal, not here: a bound family is judged by its state.
   */
  async introspectRefresh(token: string, client?: string): Promise<Claims & {client_id: string}> {
    const rt = await this.openRefresh(client, token, false)
    const store = await this.store()
    const family = await store.get(storeId(rt.fam))
    const cutoff = family ? await store.cutoff(rt.client_id, rt.sub) : 0
    if (judge(family, storeId(rt.jti), cutoff, this.now(), family?.fingerprint).status !== 'ok')
      throw reject('TOKEN_REVOKED', 'the refresh token is spent or revoked, or its family is unknown')
    const {aud, cl, client_id: owner, exp, iat, iss, jti, sub} = rt
    return {...cl, aud, client_id: owner, exp, iat, iss, jti, sub}
  }

  /** Revokes a refresh token's whole family. The token's expiry is not checked: revoking an expired one is fine. */
  async revokeRefreshToken(token: string, client?: string): Promise<{family: string; revoked: boolean}> {
    const rt = await this.openRefresh(client, token, true)
    return {family: rt.fam, revoked: await (await this.store()).revoke(storeId(rt.fam))}
  }

  async revokeFamily(family: string): Promise<void> {
    if (!(await (await this.store()).revoke(storeId(family)))) {
      throw new NotFoundError(
        'FAMILY_NOT_FOUND',
        `no refresh family ${family} (never issued, or past its session lifetime)`,
      )
    }
  }

  /** Revokes every refresh family of a client, or of one subject of it, issued until now. */
  async revokeSubject(client: string, sub?: string): Promise<void> {
    getClient(this.vault.document, client)
    await (await this.store()).revokeSubject(client, sub, this.now())
  }

  async store(): Promise<TokenStore> {
    this.storePromise ??= this.openStore()
    return this.storePromise
  }

  /**
   * Verifies an access token (or a nested JWT) with the vault's keys: `client` limits them to
   * one client's. With an audience to check, the token must also come from a client registered
   * for it: every vault key is trusted to sign, but only for its own client's audiences.
   */
  async verify(
    token: string,
    options: Omit<VerifyOptions, 'keyring' | 'now'> & {
      /** Online check: refuse tokens of a subject logged out since they were issued (reads the store). */
      checkRevoked?: boolean
      client?: string
    },
  ): Promise<TokenVerified> {
    const {checkRevoked, client, ...rest} = options
    const doc = this.vault.document
    if (client !== undefined) getClient(doc, client)
    const check = (keyring: Keyring) =>
      verifyToken(token, {...rest, decryptWith: keyring, keyring, now: this.now(), typ: rest.typ ?? 'at+jwt'})
    let verified: TokenVerified
    try {
      verified = await check(client === undefined ? this.keyring() : this.clientKeyring(client))
    } catch (error) {
      // "no key with kid …" among one client's keys: when another client of the vault signed it,
      // say which (the code stays UNKNOWN_KID: none of this client's keys has that kid)
      const other =
        client !== undefined && (error as TokenRejectedError).code === 'UNKNOWN_KID'
          ? await check(this.keyring()).then(
              ({key}) => key.client,
              () => {},
            )
          : undefined
      if (other) throw reject('UNKNOWN_KID', `the token is signed by client ${other}, not by ${client}`)
      throw error
    }

    const owner = verified.key.client
    if (rest.audience?.length && owner !== undefined) {
      const allowed = allowedAudiences(doc, owner)
      if (!rest.audience.some((a) => allowed.includes(a))) {
        throw reject(
          'AUDIENCE_MISMATCH',
          `the token is signed by client ${owner}, which may not issue for audience ${rest.audience.join(', ')}`,
        )
      }
    }

    if (checkRevoked && owner !== undefined) {
      const {iat, jti, sub} = verified.payload
      const store = await this.store()
      if (typeof jti === 'string' && (await store.claimed('revoked', storeId(`${owner}\u0000${jti}`), this.now()))) {
        throw reject('TOKEN_REVOKED', 'the token was revoked (RFC 7009)')
      }

      const cutoff = await store.cutoff(owner, typeof sub === 'string' ? sub : '')
      if (cutoff > 0 && (typeof iat !== 'number' || iat * 1000 <= cutoff)) {
        throw reject(
          'TOKEN_REVOKED',
          `the subject was logged out at ${new Date(cutoff).toISOString()}, after this token was issued`,
        )
      }
    }

    return verified
  }

  /**
   * Opens a refresh token of `client` (of whichever client signed it, without one): decrypted,
   * its signature checked, only then its claims read. `typ: rt+jwt`, this vault's issuer, `exp`,
   * `nbf` and `iat` with no leeway, their times unless `anyTime` (for revocation).
   */
  private async openRefresh(client: string | undefined, token: string, anyTime: boolean): Promise<RefreshClaims> {
    if (client !== undefined) getClient(this.vault.document, client)
    if (token.split('.').length === 3) {
      protectedHeader(token) // garbage is refused as such, not as a wrong type
      throw reject(
        'WRONG_TYPE',
        'this is a signed JWT (an access token?), not a refresh token: pass the refresh_token that was issued with it',
      )
    }

    const now = this.now()
    let opened: TokenVerified
    try {
      opened = await this.openWith(client === undefined ? this.keyring() : this.clientKeyring(client), token, anyTime)
    } catch (error) {
      // signed by another client's key (an UNKNOWN_KID among this client's keys is just that)
      if (client !== undefined && (error as TokenRejectedError).code === 'UNKNOWN_KID') {
        const owner = await this.ownerOf(token)
        if (owner && owner !== client)
          throw reject('WRONG_CLIENT', `this refresh token belongs to another client, not ${client}`)
      }

      throw error
    }

    const rt = opened.payload as unknown as RefreshClaims
    const owner = client ?? opened.key.client
    if (rt.client_id !== owner || opened.key.client !== owner)
      throw reject('WRONG_CLIENT', `this refresh token belongs to ${rt.client_id}, not ${owner}`)
    if (typeof rt.fam !== 'string' || typeof rt.jti !== 'string' || typeof rt.sexp !== 'number') {
      throw reject('MALFORMED_TOKEN', 'the refresh token lacks its family claims')
    }

    if (!anyTime && rt.sexp * 1000 <= now)
      throw reject('TOKEN_EXPIRED', 'the refresh family reached its session lifetime')
    return rt
  }

  /** The client whose key signed a refresh token, if any key of the vault opens it. */
  private async ownerOf(token: string): Promise<string | undefined> {
    try {
      return (await this.openWith(this.keyring(), token, true)).key.client
    } catch {
      return undefined
    }
  }

  /**
   * A refresh token decrypted and its inner JWS verified with `keyring`, whichever way it was
   * sealed: to the client's key, or under the issuer's (its `kid` says which). Its `iss` is this
   * issuer's name or one it had before `vault set issuer`: refresh tokens issued before a rename
   * keep renewing, and what they renew into carries the new name.
   */
  private async openWith(keyring: Keyring, token: string, anyTime: boolean): Promise<TokenVerified> {
    return verifyToken(token, {
      // the custom claims sit one level down, in `cl`
      claimDepth: MAX_CLAIM_DEPTH + 1,
      decryptWith: keyring,
      issuer: [this.vault.document.issuer.name, ...(this.vault.document.issuer.formerNames ?? [])],
      keyring,
      leewayMs: 0,
      nestedKind: 'a refresh token',
      now: anyTime ? undefined : this.now(),
      typ: 'rt+jwt',
    })
  }

  /**
   * Rotates a client's keys that are past key-ttl ("keys past key-ttl rotate on use"), and the
   * issuer's key-wrapping key when the client seals with it and it is due (or missing: a vault
   * whose defaults were switched to `refresh_seal: issuer` gets its first one here). Checked on
   * every issue, so the first due time is cached per vault document and client. Read-only, due
   * keys go on signing and the notice says so once.
   */
  private async rotateDueKeys(client: string): Promise<void> {
    const doc = this.vault.document
    let byClient = this.firstDue.get(doc)
    if (!byClient) {
      byClient = new Map()
      this.firstDue.set(doc, byClient)
    }

    const now = this.now()
    if (now < (byClient.get(client) ?? -Infinity)) return
    const record = getClient(doc, client)
    const s = clientSettings(doc, client)
    const sealed = s.refreshSeal === 'issuer'
    const due = usesDue(record, s, now)
    const sealDue = sealed && sealDueAt(doc) <= now
    if (due.length > 0 || sealDue) {
      if (this.options.readOnly) {
        this.options.notices?.overdue(client, sealDue ? [...due, 'seal'] : due)
        // nothing in this process will rotate them: no need to look again
        byClient.set(client, Infinity)
        return
      }

      const rotated = due.length > 0 ? await rotateKeys(this.vault, [client], due, {now}) : []
      const sealKey = sealDue ? await rotateSealKey(this.vault, {ifDue: true, now}) : undefined
      if (sealKey) rotated.push(sealKey)
      if (rotated.length > 0) this.options.notices?.rotated(rotated)
    }

    // a rotation wrote a new document, whose own cache starts empty
    if (this.vault.document !== doc) return
    const active = record.keys.filter((k) => k.state === 'active').map((k) => dueAt(k, s.keyTtlMs))
    byClient.set(client, Math.min(...active, ...(sealed ? [sealDueAt(doc)] : [])))
  }

  /** How `client`'s tokens are sealed: to its active encryption key, with its algorithms. */
  private sealTo(client: string, s: EffectiveSettings): SealTo {
    const key = this.activeKey(client, 'enc')
    return {alg: s.encAlg, enc: s.enc, jwk: key.jwk!, kid: key.kid}
  }

  /** How `client`'s tokens of type `typ` are signed: with its active signing key. */
  private signWith(client: string, s: EffectiveSettings, typ: string): SignWith {
    const key = this.activeKey(client, 'sig')
    return {alg: s.sigAlg, jwk: key.privateJwk!, kid: key.kid, typ}
  }

  /**
   * A refresh token: its claims signed (`typ: rt+jwt`), then sealed (a nested JWT) under the
   * issuer's key-wrapping key (`refresh_seal: issuer`, A256KW) or to the client's encryption key.
   */
  private async sealRefresh(client: string, s: EffectiveSettings, claims: RefreshClaims): Promise<string> {
    let to = this.sealTo(client, s)
    if (s.refreshSeal === 'issuer') {
      const key = this.activeKey(undefined, 'enc')
      to = {alg: ISSUER_SEAL_ALG, enc: s.enc, jwk: key.privateJwk!, kid: key.kid}
    }

    return sealNested(claims, this.signWith(client, s, 'rt+jwt'), to)
  }

  /** The active key of `client` for `use`; without a client, the issuer's own key-wrapping key. */
  private activeKey(client: string | undefined, use: 'enc' | 'sig'): KeyEntry {
    const entry = this.keyring().entries.find(
      (e) => (client === undefined ? e.issuer : e.client === client) && e.use === use && e.state === 'active',
    )
    if (client === undefined && !entry)
      throw new NotFoundError(
        'KEY_NOT_FOUND',
        'the issuer has no active key-wrapping key: run `jwtis keys rotate --issuer`',
      )
    if (!entry)
      throw new NotFoundError(
        'KEY_NOT_FOUND',
        `client ${client} has no active ${use} key: run \`jwtis keys rotate --client ${client}\``,
      )
    return entry
  }

  private async signAccess(
    client: string,
    s: EffectiveSettings,
    claims: ClaimSet,
    now: number,
    options: {encrypt: boolean; fingerprint?: string; jti?: string; nbf?: number; ttlMs?: number},
  ): Promise<IssuedTokens> {
    const {jti = newId(), nbf = now, ttlMs = s.accessTtlMs} = options
    const exp = now + ttlMs
    const aud = claims.aud!.length === 1 ? claims.aud![0] : claims.aud
    // Registered claims first, so the token reads in the usual order; buildClaimSet has
    // already refused custom claims that would collide with them.
    const token = signJws(
      {
        aud,
        client_id: client,
        exp: seconds(exp),
        iat: seconds(now),
        iss: this.vault.document.issuer.name,
        jti,
        nbf: seconds(nbf),
        sub: claims.sub,
        ...claims.custom,
        ...(options.fingerprint === undefined
          ? {}
          : {cnf: {[CNF_FINGERPRINT]: fingerprintThumbprint(options.fingerprint)}}),
      },
      this.signWith(client, s, 'at+jwt'),
    )
    return {
      access_token: options.encrypt ? await sealJwe(token, this.sealTo(client, s), 'JWT') : token,
      expires_in: Math.round(ttlMs / 1000),
      expiry: seconds(exp),
      id: jti,
      token_type: 'Bearer',
    }
  }
}
