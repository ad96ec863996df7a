/**
 * Every `JWTIS_*` environment variable jwtis reads, in one table: the flag that wins over it (when
 * there is one), what applies when neither is given, what it is for, and whether it holds a
 * secret (those are masked in every message: see ./redact.ts). docs/configuration.md is generated
 * from this table (scripts/docs.js), and jwtis reads its `JWTIS_*` variables only through `env` (the
 * vault's key resolver is handed the environment as an object; oclif reads its own `<BIN>_CONTENT_TYPE`).
 */
export interface Variable {
  /** What applies when the variable is not set (and its flag not given), as the docs say it. */
  readonly default?: string
  readonly description: string
  /** The flag that takes precedence over the variable, and the commands that have it. */
  readonly flag?: string
  readonly secret: boolean
}

export const CONFIG = {
  JWTIS_ADDRESS: {
    default: '127.0.0.1:4456',
    description: 'the address:port `serve` listens on',
    flag: 'serve --listen',
    secret: false,
  },
  JWTIS_ADMIN_TOKEN: {
    default: 'JWTIS_ADMIN_TOKEN_FILE, else a random one printed once on stdout at start (a new one on every restart)',
    description: 'the admin token `serve` requires to register clients (prefer JWTIS_ADMIN_TOKEN_FILE)',
    secret: true,
  },
  JWTIS_ADMIN_TOKEN_FILE: {
    description:
      'a file holding the admin token `serve` requires (one line; the trailing newline is dropped): kept out of the environment and the same across restarts; not together with JWTIS_ADMIN_TOKEN',
    secret: false,
  },
  JWTIS_AGE_KEY: {
    description: 'an age identity that opens the vault: its `AGE-SECRET-KEY-1…` line, or the whole identity file',
    flag: '--identity',
    secret: true,
  },
  JWTIS_AGE_KEY_FILE: {
    default: 'the `identity` setting, else the identity file `init` saved',
    description: 'a file holding the age identity that opens the vault (after JWTIS_AGE_KEY)',
    flag: '--identity',
    secret: false,
  },
  JWTIS_CLIENT_SECRET: {
    default: 'a random secret',
    description: 'the shared secret of a new HS256/384/512 client',
    flag: 'client add --secret-file',
    secret: true,
  },
  JWTIS_CONFIG_DIR: {
    default: '$XDG_CONFIG_HOME/jwtis, else ~/.config/jwtis',
    description: 'the user config directory: settings (`jwtis config`) and the saved identity',
    secret: false,
  },
  JWTIS_FAST: {
    description: '`0` runs `token issue` and `token verify` through oclif instead of the fast entry',
    secret: false,
  },
  JWTIS_KEY_PASSPHRASE: {
    description: 'the passphrase of an encrypted PKCS#8 key given to `keys import`',
    flag: 'keys import --passphrase-file',
    secret: true,
  },
  JWTIS_LOG_LEVEL: {
    default: 'info',
    description: "`serve`'s stderr log: info (one JSON line per request) or error",
    flag: 'serve --log-level',
    secret: false,
  },
  JWTIS_NEW_PASSPHRASE: {
    default: 'asked for on a terminal',
    description: 'the new passphrase of `vault rekey --passphrase`',
    secret: true,
  },
  JWTIS_NOW: {
    default: 'the system clock',
    description: "pins the issuer's clock (RFC 3339, or seconds since the epoch), as faketime would",
    secret: false,
  },
  JWTIS_PASSPHRASE: {
    default: 'asked for on a terminal',
    description: 'the passphrase of a passphrase vault (and of `init --passphrase`)',
    secret: true,
  },
  JWTIS_PSWD: {
    description: "JWTIS's name for JWTIS_PASSPHRASE (read when that is not set)",
    secret: true,
  },
  JWTIS_PUBLIC_URL: {
    default: 'the issuer when it is a URL, else the listen address',
    description: 'where verifiers reach `serve`: the base of the discovery documents’ URLs',
    flag: 'serve --public-url',
    secret: false,
  },
  JWTIS_READ_ONLY: {
    default: 'off (`0`, `false` or empty: off)',
    description:
      'read-only mode: `token issue`/`renew` never write the vault (keys past key-ttl keep signing), commands that exist to write it refuse',
    flag: 'token issue/renew --no-write',
    secret: false,
  },
  JWTIS_STORE: {
    default: "`file` (beside the vault), or the vault's Redis when the vault is in Redis",
    description: 'the token store: `file`, `memory`, or a `redis://` / `rediss://` URL',
    flag: '--store',
    secret: false,
  },
  JWTIS_VAULT: {
    default: 'the `vault` setting, else ./data/vault.age',
    description: 'the vault: a file, or a `redis://` / `rediss://` URL (its password is masked in messages)',
    flag: '--vault',
    secret: false,
  },
  JWTIS_VAULT_ID: {
    description:
      'vault ids (comma or space separated) trusted to have signed vaults you hold but did not create or re-key (before the `vault-id` setting)',
    secret: false,
  },
} as const satisfies Record<`JWTIS_${string}`, Variable>

export type VariableName = keyof typeof CONFIG

export const VARIABLES = Object.keys(CONFIG) as VariableName[]

/** The variables that may carry secrets: registered at start by the CLI and `serve`, masked in messages. */
export const SECRET_VARIABLES = VARIABLES.filter((name) => CONFIG[name].secret)

/**
 * A variable of the table, as set. Set but empty (`JWTIS_VAULT= jwtis …`, a CI secret that was
 * never filled in) is not set, as most tools read it.
 */
export function env(name: VariableName): string | undefined {
  return process.env[name] || undefined
}
