import type {Issuer} from '../../core/issuer.js'

/** What a command body needs from its runner: the oclif command, or the fast entry. */
export interface ActionContext {
  json: boolean
  logErr(message: string): void
  openIssuer(store?: string): Promise<Issuer>
  /** See io.print: `styled` text is written as it is. */
  print(text: string, styled?: boolean): void
  readInput(value: string | undefined, what: string, raw?: boolean): Promise<string>
}
