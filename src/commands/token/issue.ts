import {Flags} from '@oclif/core'

import type {IssuedTokens} from '../../core/issuer.js'

import {VaultCommand} from '../../cli/base.js'
import {clientFlag, durationFlag, noWriteFlag, storeFlag} from '../../cli/flags.js'

export default class TokenIssue extends VaultCommand<typeof TokenIssue> {
  static override summary = 'Issue an access token (and with --refresh, a refresh token) for a client.'
  static override description = `The access token is a JWS (typ at+jwt, kid = the RFC 7638 thumbprint of the client's signing key) with iss, sub, aud, exp, iat, nbf, jti and client_id, plus custom claims. Claims set by the issuer (iss exp iat nbf jti client_id) cannot be given. The refresh token is a signed JWT encrypted to the client's encryption key (a JWE with cty JWT), opaque to its holder. Without --json, stdout has the access token on line 1 and, with --refresh, the refresh token on line 2.

--fingerprint VALUE binds the refresh family to VALUE (only a salted hash is stored): renewals must present it again, and the access token carries cnf {"fp#S256": base64url(SHA-256(VALUE))} so resource servers can check it too. --encrypt makes the access token a JWS inside a JWE sealed to the client's encryption key (cty JWT), readable only by the vault holder and the client.

With --batch, reads one JSON claim set per line on stdin and writes one JSON result per line, in order; a bad or blank line gets an {"error":…,"line":N} line and the rest go on. A progress line (count, rate, time left) goes to stderr when it is a terminal.

Keys past their key-ttl rotate on use: the vault is rewritten, and stderr says which keys and their new kid. --no-write (or JWTIS_READ_ONLY=1), for a copy of the vault such as CI's, signs with the current keys instead and never writes the vault; stderr then says once which key is past its key-ttl. Refresh families are still recorded in the token store (--store memory keeps them out of any file).`
  static override examples = [
    '<%= config.bin %> <%= command.id %> --client billing --sub alice',
    '<%= config.bin %> <%= command.id %> --client billing --sub alice --aud https://api.example.com --claim role=admin --claim scopes=\'["read","write"]\'',
    '<%= config.bin %> <%= command.id %> --client billing --claims @claims.json --refresh --json',
    '<%= config.bin %> <%= command.id %> --client billing --sub alice --refresh --fingerprint "$DEVICE_ID" --json',
    '<%= config.bin %> <%= command.id %> --client billing --sub alice --encrypt',
    String.raw`printf '{"sub":"a"}\n{"sub":"b"}\n' | <%= config.bin %> <%= command.id %> --client billing --batch`,
  ]
  static override flags = {
    aud: Flags.string({
      description: "audience (repeatable; default: the client's, else its name)",
      multiple: true,
      multipleNonGreedy: true,
    }),
    batch: Flags.boolean({
      description: 'read NDJSON claim sets from stdin, write one JSON result per line',
      exclusive: ['claims', 'claim'],
    }),
    claim: Flags.string({
      description: 'custom claim NAME=VALUE (repeatable; JSON values are parsed)',
      multiple: true,
      multipleNonGreedy: true,
    }),
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
    'no-write': noWriteFlag,
    progress: Flags.boolean({
      dependsOn: ['batch'],
      description: 'with --batch: show the progress line on stderr even when it is not a terminal',
    }),
    quiet: Flags.boolean({
      dependsOn: ['batch'],
      description: 'with --batch: no progress line and no summary on stderr',
    }),
    refresh: Flags.boolean({description: 'also issue a refresh token'}),
    store: storeFlag,
    sub: Flags.string({description: 'subject (default: the client name)'}),
    ttl: durationFlag({description: "access token lifetime (default: the client's access-ttl)"}),
  }

  async run(): Promise<IssuedTokens | undefined> {
    const {issueAction} = await import('../../cli/actions/issue.js')
    return issueAction(this.context(), this.flags)
  }
}
