import {Flags} from '@oclif/core'
import {once} from 'node:events'
import {createInterface} from 'node:readline'

import type {IssuedTokens, IssueRequest} from '../../core/issuer.js'

import {VaultCommand} from '../../cli/base.js'
import {clientFlag, durationFlag, storeFlag} from '../../cli/flags.js'
import {isJwtisError, UsageError} from '../../core/errors.js'

export default class TokenIssue extends VaultCommand<typeof TokenIssue> {
  static override description = `Issue an access token (and with --refresh, a refresh token) for a client.

The access token is a JWS (typ at+jwt, kid = the RFC 7638 thumbprint of the client's signing
key) with iss, sub, aud, exp, iat, nbf, jti and client_id, plus custom claims. Claims set by the
issuer (iss exp iat nbf jti client_id) cannot be given. The refresh token is a signed JWT
encrypted to the client's encryption key (a JWE with cty JWT), opaque to its holder.

--fingerprint VALUE binds the refresh family to VALUE (only a salted hash is stored): renewals
must present it again, and the access token carries cnf {"fp#S256": base64url(SHA-256(VALUE))}
so resource servers can check it too. --encrypt makes the access token a JWS inside a JWE sealed
to the client's encryption key (cty JWT), readable only by the vault holder and the client.

With --batch, reads one JSON claim set per line on stdin and writes one JSON result per line, in
order; a bad line gets an {"error":…} line and the rest go on.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --client billing --sub alice',
    '<%= config.bin %> <%= command.id %> --client billing --sub alice --aud https://api.example.com --claim role=admin --claim scopes=\'["read","write"]\'',
    '<%= config.bin %> <%= command.id %> --client billing --claims @claims.json --refresh --json',
    '<%= config.bin %> <%= command.id %> --client billing --sub alice --refresh --fingerprint "$DEVICE_ID" --json',
    '<%= config.bin %> <%= command.id %> --client billing --sub alice --encrypt',
    String.raw`printf '{"sub":"a"}\n{"sub":"b"}\n' | <%= config.bin %> <%= command.id %> --client billing --batch`,
  ]
  static override flags = {
    aud: Flags.string({description: "audience (repeatable; default: the client's, else its name)", multiple: true}),
    batch: Flags.boolean({
      description: 'read NDJSON claim sets from stdin, write one JSON result per line',
      exclusive: ['claims', 'claim'],
    }),
    claim: Flags.string({description: 'custom claim NAME=VALUE (repeatable; JSON values are parsed)', multiple: true}),
    claims: Flags.string({description: 'claims as a JSON object, @file, or - for stdin'}),
    client: clientFlag,
    encrypt: Flags.boolean({
      allowNo: true,
      description: "make the access token a nested JWT encrypted to the client (default: the client's setting)",
    }),
    fingerprint: Flags.string({
      description: 'bind the tokens to this value (device id, user agent…): cnf claim, and renewals need it',
    }),
    nbf: Flags.string({description: 'not before: a Go duration from now (5m) or an RFC 3339 time'}),
    refresh: Flags.boolean({description: 'also issue a refresh token'}),
    store: storeFlag,
    sub: Flags.string({description: 'subject (default: the client name)'}),
    ttl: durationFlag({description: "access token lifetime (default: the client's access-ttl)"}),
  }

  async run(): Promise<IssuedTokens | undefined> {
    const {buildClaimSet, parseClaimArg, parseClaimsJson} = await import('../../core/claims.js')
    const {flags} = this
    const issuer = await this.openIssuer(flags.store)
    try {
      const nbf = flags.nbf === undefined ? undefined : await parseNbf(flags.nbf, issuer.now())
      const base = {
        encrypt: flags.encrypt,
        fingerprint: flags.fingerprint,
        nbf,
        refresh: flags.refresh,
        ttlMs: flags.ttl,
      }
      const explicit = {aud: flags.aud, sub: flags.sub}
      if (flags.batch) {
        await this.batch(async (line) =>
          issuer.issue(flags.client, {...base, ...buildClaimSet(parseClaimsJson(line, 'the line'), explicit)}),
        )
        return undefined // the NDJSON lines are the output, --json or not
      }

      const fromJson =
        flags.claims === undefined ? {} : parseClaimsJson(await this.readInput(flags.claims, 'claims'), '--claims')
      const claims = {...fromJson, ...Object.fromEntries((flags.claim ?? []).map((c) => parseClaimArg(c)))}
      const request: IssueRequest = {...base, ...buildClaimSet(claims, explicit)}
      const result = await issuer.issue(flags.client, request)
      if (!this.jsonEnabled()) {
        this.print(result.access_token)
        if (result.refresh_token) this.logErr(`Refresh token (use --json to capture both):\n${result.refresh_token}`)
      }

      return result
    } finally {
      await issuer.close()
    }
  }

  /**
   * One result line per input line, in order; one bad line does not stop the others. The exit
   * status is that of the first failure (0 when every line was issued).
   */
  private async batch(issue: (line: string) => Promise<IssuedTokens>): Promise<void> {
    if (process.stdin.isTTY) throw new UsageError('--batch reads NDJSON claim sets from stdin: pipe them in')
    let issued = 0
    let failed = 0
    // Lines go out in chunks (a write per line costs more than signing), waiting for stdout to
    // drain so that memory stays flat however long the input.
    let output: string[] = []
    const flush = async () => {
      const chunk = output.join('')
      output = []
      if (chunk && !process.stdout.write(chunk)) await once(process.stdout, 'drain')
    }

    for await (const raw of createInterface({crlfDelay: Infinity, input: process.stdin})) {
      const line = raw.trim()
      if (line === '') continue
      let out: object
      try {
        out = await issue(line)
        issued++
      } catch (error) {
        // Whatever failed on this line is reported on it: the batch goes on.
        const {code, exitCode, message} = isJwtisError(error)
          ? error
          : {code: 'INTERNAL', exitCode: 70, message: `internal error: ${(error as Error).message}`}
        out = {error: {code, message}}
        if (failed++ === 0) process.exitCode = exitCode
      }

      output.push(`${JSON.stringify(out)}\n`)
      if (output.length >= 256) await flush()
    }

    await flush()
    this.logErr(`${issued} issued, ${failed} failed`)
  }
}

async function parseNbf(value: string, now: number): Promise<number> {
  if (/^\d{4}-\d\d-\d\d/.test(value)) {
    const ms = Date.parse(value)
    if (Number.isNaN(ms)) throw new UsageError(`--nbf ${value} is not an RFC 3339 time`)
    return ms
  }

  const {parseDuration} = await import('../../core/duration.js')
  return now + parseDuration(value, '--nbf')
}
