import type {Issuer, IssuerOptions} from '../../core/issuer.js'
import type {Vault} from '../../vault/vault.js'

import {unwrapToken} from '../io.js'

/** What a command body without a vault needs from its runner: the oclif command, or the fast entry. */
export interface CommandContext {
  json: boolean
  logErr(message: string): void
  /** See io.print: `styled` text is written as it is. */
  print(text: string, styled?: boolean): void
  readInput(value: string | undefined, what: string, raw?: boolean): Promise<string>
}

/** ... and one with a vault (`--vault`, `--identity`). */
export interface ActionContext extends CommandContext {
  /** `options`: read-only and what to say of keys rotated on use (../side-effects.ts). */
  openIssuer(store?: string, options?: IssuerOptions): Promise<Issuer>
  openVault(): Promise<Vault>
}

/** A token as readInput reads it, a pasted `Bearer ` prefix or quotes taken off with a note (io.unwrapToken). */
export async function readToken(ctx: CommandContext, value: string | undefined, what: string): Promise<string> {
  return unwrapToken(await ctx.readInput(value, what), (message) => ctx.logErr(message))
}
