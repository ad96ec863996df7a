import {Args, Flags} from '@oclif/core'

import type {VerifyResult} from '../../cli/actions/verify.js'

import {VaultCommand} from '../../cli/base.js'
import {durationFlag, storeFlag} from '../../cli/flags.js'
import {DEFAULT_LEEWAY_MS} from '../../jose/claims.js'

export default class TokenVerify extends VaultCommand<typeof TokenVerify> {
  static override args = {token: Args.string({description: 'JWS or nested JWE, - for stdin, or @file'})}
  static override summary = 'Verify a JWS, or a nested JWT (a JWS inside a JWE), and print its claims.'
  static override description = `Keys come from the vault (by kid), or from --jwks FILE|URL, --key FILE (JWK or PEM) or --secret @FILE|- (HMAC) with no vault at all. An oct JWK without "alg" (and a --secret) is bound to the one HMAC algorithm --alg names; without --alg its length decides (32 bytes HS256, 48 HS384, 64 HS512, longer any), and a length that decides nothing asks for --alg. A key that names its alg keeps it. alg "none", an algorithm that does not match the key, HMAC with a public key, unknown kids and crit extensions are always refused. Only access tokens (typ at+jwt; with --key/--jwks also plain JWTs) pass unless --typ says otherwise: a refresh token is WRONG_TYPE. A token needs exp (unless --allow-no-exp) and may not be issued in the future. With the vault and --aud, the token must come from a client registered for that audience. Verification is offline; --check-revoked also refuses (TOKEN_REVOKED) a token whose subject was logged out (\`jwtis token revoke --client C --sub S\`, POST /logout) after it was issued.

A rejected token exits 1 with a reason code: TOKEN_EXPIRED TOKEN_NOT_YET_VALID BAD_SIGNATURE AUDIENCE_MISMATCH ISSUER_MISMATCH SUBJECT_MISMATCH UNKNOWN_KID ALG_NOT_ALLOWED MALFORMED_TOKEN UNSUPPORTED_CRIT TOKEN_TOO_OLD TOKEN_TOO_LARGE WRONG_TYPE DECRYPT_FAILED.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> "$TOKEN" --aud https://api.example.com',
    '<%= config.bin %> <%= command.id %> - --jwks https://auth.example.com/.well-known/jwks.json --iss https://auth.example.com < token.txt',
    '<%= config.bin %> <%= command.id %> @token.txt --key public.pem --alg ES256 --json',
    '<%= config.bin %> <%= command.id %> "$TOKEN" --check-revoked',
    '<%= config.bin %> <%= command.id %> "$TOKEN" --secret @secret.txt --alg HS256',
  ]
  static override flags = {
    alg: Flags.string({
      description: 'allowed algorithm (repeatable allowlist)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'allow-no-exp': Flags.boolean({description: 'accept a token without exp (one that never expires)'}),
    aud: Flags.string({description: 'required audience (any of, repeatable)', multiple: true, multipleNonGreedy: true}),
    'check-revoked': Flags.boolean({
      description: "online check: refuse tokens of a subject logged out since (reads the vault's token store)",
      exclusive: ['key', 'jwks', 'secret'],
    }),
    client: Flags.string({
      char: 'c',
      description: "accept only tokens signed by this client's keys (vault mode)",
      exclusive: ['key', 'jwks', 'secret'],
    }),
    iss: Flags.string({description: 'required issuer'}),
    jwks: Flags.string({description: 'JWKS file or URL to verify with (no vault needed)', exclusive: ['key']}),
    key: Flags.string({
      description: 'JWK, JWKS or PEM file to verify (and for nested JWTs, decrypt) with; no vault needed',
    }),
    leeway: durationFlag({
      default: DEFAULT_LEEWAY_MS,
      description: 'clock skew allowed on exp, nbf and iat (a duration: 30s, 2m)',
    }),
    'max-age': durationFlag({description: 'reject tokens issued (iat) longer ago than this'}),
    secret: Flags.string({
      description: 'HMAC secret to verify with, as token sign takes it: @FILE, or - for stdin (no vault needed)',
      exclusive: ['key', 'jwks'],
    }),
    store: storeFlag,
    sub: Flags.string({description: 'required subject'}),
    typ: Flags.string({
      description: 'required typ header (default: at+jwt with the vault; at+jwt, JWT or none with --key/--jwks)',
    }),
  }

  async run(): Promise<VerifyResult> {
    const {verifyAction} = await import('../../cli/actions/verify.js')
    return verifyAction(this.context(), this.args.token, this.flags)
  }
}
