import {Flags} from '@oclif/core'
import {existsSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'

import {clock, VaultCommand} from '../cli/base.js'
import {repin} from '../cli/conf.js'
import {settingsFlags, settingsInput} from '../cli/flags.js'
import {readSettings} from '../cli/settings-file.js'
import {env} from '../common/config.js'
import {formatDuration, parseDuration} from '../common/duration.js'
import {ConflictError, UsageError} from '../common/errors.js'
import {DEFAULT_LIMITS} from '../common/limits.js'
import {checkSettings, issuerLimits, normalizeSettings} from '../core/settings.js'
import {hasPassword, isRedisUrl} from '../redis/url.js'

export interface InitResult {
  identity?: string
  identity_file: null | string
  /** Whether the vault became the `vault` setting (there was none), so any directory finds it. */
  is_default: boolean
  recipient: null | string
  vault: string
  /** The public key that signs the vault: other holders pin it (JWTIS_VAULT_ID); see `vault status`. */
  vault_id: string
}

export default class Init extends VaultCommand<typeof Init> {
  static override summary = 'Create the vault and the age identity that opens it.'
  static override description = `By default a new X25519 identity is saved in the user config directory (mode 0600) and reused by later \`init\`s, so one identity opens all your vaults; an existing identity file is never overwritten. With --passphrase the vault is sealed with an scrypt passphrase instead (JWTIS_PASSPHRASE, or asked for on a terminal).

The vault stays readable with the standard tool: age -d -i IDENTITY_FILE vault.age`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --vault ./keys/vault.age --name https://auth.example.com --sig-alg EdDSA',
    'JWTIS_PASSPHRASE=... <%= config.bin %> <%= command.id %> --passphrase',
    '<%= config.bin %> <%= command.id %> --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
  ]
  static override flags = {
    ...settingsFlags,
    'identity-file': Flags.string({description: 'save the new identity here instead of the user config directory'}),
    'max-access-ttl': Flags.string({
      default: DEFAULT_LIMITS.maxAccessTtl,
      description: 'longest access token lifetime any client or request may ask for',
      helpGroup: 'LIMITS',
    }),
    'max-session-ttl': Flags.string({
      default: DEFAULT_LIMITS.maxSessionTtl,
      description: 'longest lifetime of a refresh token or refresh family',
      helpGroup: 'LIMITS',
    }),
    name: Flags.string({default: 'JWTIS', description: 'issuer name: the `iss` claim of every token'}),
    passphrase: Flags.boolean({description: 'seal the vault with an scrypt passphrase instead of an identity'}),
    'print-identity': Flags.boolean({description: 'print the secret identity on stdout (once; store it safely)'}),
    recipient: Flags.string({description: 'another age public key (age1…) that may open the vault', multiple: true}),
  }

  async run(): Promise<InitResult> {
    const [{Vault}, age, {newDocument}] = await Promise.all([
      import('../vault/vault.js'),
      import('../vault/age.js'),
      import('../model/document.js'),
    ])
    const {flags} = this
    const path = this.vaultPath()
    if (!isRedisUrl(path) && existsSync(path))
      throw new ConflictError('VAULT_EXISTS', `a vault already exists at ${path}; it was left as it is`)
    const extra = flags.recipient ?? []
    for (const r of extra)
      if (!age.isRecipient(r)) throw new UsageError(`--recipient ${r} is not an age X25519 public key (age1…)`)
    if (flags.passphrase && extra.length > 0)
      throw new UsageError('--recipient cannot be combined with --passphrase (age seals a file with one or the other)')
    const defaults = normalizeSettings(settingsInput(flags))
    const limits = {
      maxAccessTtl: formatDuration(parseDuration(flags['max-access-ttl'], '--max-access-ttl')),
      maxSessionTtl: formatDuration(parseDuration(flags['max-session-ttl'], '--max-session-ttl')),
    }
    const now = new Date(clock()())
    const draft = newDocument({defaults, limits, name: flags.name, now})
    checkSettings(draft.issuer.defaults, issuerLimits(draft))

    const sealed = flags.passphrase
      ? {
          passphrase: await this.newPassphrase('--passphrase', ['JWTIS_PASSPHRASE', 'JWTIS_PSWD']),
        }
      : await this.identity(now)
    const {identity, identityFile = null, recipient = null, reused = false} = 'identity' in sealed ? sealed : {}
    const key = 'passphrase' in sealed ? {passphrase: sealed.passphrase} : {identities: [sealed.identity]}

    const recipients = recipient ? [recipient, ...extra] : []
    const vault = await Vault.create(
      path,
      newDocument({defaults, limits, name: flags.name, now, passphrase: flags.passphrase, recipients}),
      key,
    )
    await vault.close()

    const result: InitResult = {
      ...(flags['print-identity'] && identity ? {identity} : {}),
      identity_file: identityFile,
      is_default: await this.recordAsDefault(path),
      recipient,
      vault: vault.path,
      vault_id: vault.signer!.vaultId,
    }
    // Writes by the other holders are signed under the vault id: this holder reads them by it.
    if (extra.length > 0) await repin(this.config.configDir, {add: result.vault_id})
    if (!this.jsonEnabled()) this.report(result, reused, extra.length > 0)
    return result
  }

  /**
   * The identity that opens the new vault: one given (--identity, JWTIS_AGE_KEY_FILE,
   * JWTIS_AGE_KEY), else the saved identity file. A file is made only when it does not exist yet:
   * an identity file is never overwritten, as that would lock the user out of other vaults.
   */
  private async identity(
    now: Date,
  ): Promise<{identity: string; identityFile?: string; recipient: string; reused: boolean}> {
    const age = await import('../vault/age.js')
    const withRecipient = async (identity: string, identityFile: string | undefined, reused: boolean) => {
      const recipient = await age.recipientOf(identity).catch(() => {
        throw new UsageError('the identity is not a valid age X25519 identity (AGE-SECRET-KEY-1…)')
      })
      return {identity, identityFile, recipient, reused}
    }

    // An identity named with --identity or JWTIS_AGE_KEY_FILE is used when it exists, and made
    // there when it does not (as `age-keygen -o` would).
    const named = this.flags.identity ?? env('JWTIS_AGE_KEY_FILE')
    const inline = env('JWTIS_AGE_KEY')
    if (!named && inline) return withRecipient(inline.trim(), undefined, true)
    const file = resolve(
      named ?? this.flags['identity-file'] ?? readSettings(this.config.configDir).identity ?? this.defaultIdentityFile,
    )
    if (existsSync(file)) return withRecipient(await firstIdentity(file), file, true)
    const {writeFileAtomic} = await import('../fs/files.js')
    const made = await age.newIdentity()
    await mkdir(dirname(file), {mode: 0o700, recursive: true})
    const created = await writeFileAtomic(file, age.identityFileText(made.identity, made.recipient, now), true)
    // Another process saved one first: use that one.
    return created ? {...made, identityFile: file, reused: false} : withRecipient(await firstIdentity(file), file, true)
  }

  /**
   * Makes the new vault the `vault` setting when there is none yet, so that `cd /tmp && jwtis
   * client list` finds it. Never a URL with a password in it: settings are not for secrets.
   */
  private async recordAsDefault(path: string): Promise<boolean> {
    if (readSettings(this.config.configDir).vault !== undefined) return false
    if (hasPassword(path)) return false
    const {openSettings} = await import('../cli/conf.js')
    ;(await openSettings(this.config.configDir)).set('vault', path)
    return true
  }

  private report(result: InitResult, reused: boolean, otherHolders: boolean): void {
    this.logErr(
      `Created vault ${result.vault}${result.is_default ? ' (now the default vault: `jwtis config get vault`)' : ''}`,
    )
    if (result.identity_file) {
      const how = reused ? 'Using existing' : 'Saved new'
      this.logErr(`${how} identity ${result.identity_file} (keep it: without it the vault cannot be opened)`)
    }

    if (result.recipient) this.logErr(`Public key: ${result.recipient}`)
    else this.logErr('Sealed with a passphrase: set JWTIS_PASSPHRASE to open it without a prompt')
    if (otherHolders)
      this.logErr(
        `Vault id: ${result.vault_id} (pinned here in the vault-id setting). Give it to the other holders: they set JWTIS_VAULT_ID or run \`jwtis config set vault-id ${result.vault_id}\`, or the vault is refused as not authentic.`,
      )
    if (result.identity) this.print(result.identity)
  }
}

async function firstIdentity(file: string): Promise<string> {
  const {readIdentityFile} = await import('../vault/unlock.js')
  return (await readIdentityFile(file))[0]
}
