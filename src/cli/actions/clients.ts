import type {ClientSummary, ClientView} from '../../core/clients.js'
import type {ActionContext} from './context.js'

import {clock} from '../io.js'
import {columns, table} from '../output.js'

/** A client as `--json` shows it: the view, with its settings snake_case like every other key. */
export type ClientJson = Omit<ClientView, 'settings'> & {settings: Record<string, unknown>}

/** `jwtis client list`. */
export async function listClientsAction(ctx: ActionContext): Promise<ClientSummary[]> {
  const {listClients} = await import('../../core/clients.js')
  const clients = listClients((await ctx.openVault()).document)
  if (!ctx.json) {
    if (clients.length === 0) ctx.logErr('No clients yet: add one with `jwtis client add NAME`')
    else {
      const rows = [
        ['NAME', 'SIG', 'ENC', 'REFRESH', 'KEYS', 'CREATED'],
        ...clients.map((c) => [c.kid, c.sig_alg, c.enc_alg, c.refresh_strategy, String(c.keys), c.created]),
      ]
      for (const line of columns(rows)) ctx.print(line)
    }
  }

  return clients
}

/** `jwtis client show NAME`: settings and public keys, never private ones. */
export async function showClientAction(ctx: ActionContext, name: string): Promise<ClientJson> {
  const [{clientView}, {settingsJson}] = await Promise.all([
    import('../../core/clients.js'),
    import('../../core/settings.js'),
  ])
  const view = clientView((await ctx.openVault()).document, name, new Date(clock()()))
  if (!ctx.json) {
    const s = view.settings
    ctx.print(
      table([
        ['client', view.kid],
        ['created', view.created],
        ['signing', s.sigAlg],
        ['encryption', `${s.encAlg} ${s.enc}`],
        ['refresh strategy', s.refreshStrategy],
        ['refresh seal', s.refreshSeal],
        ['lifetimes', `access ${s.accessTtl}, refresh ${s.refreshTtl}, session ${s.sessionTtl}, keys ${s.keyTtl}`],
        ['audiences', view.aud.join(', ')],
        ...oauthRows(s),
        ['keys rotate', `${new Date(view.expiry * 1000).toISOString()}${view.valid ? '' : ' (due)'}`],
        ...view.keys.map((k): [string, string] => [
          `${k.use} key`,
          `${k.kid} ${k.alg} ${k.state}${k.retire_after ? ` until ${k.retire_after}` : ''}`,
        ]),
      ]),
    )
  }

  return {...view, settings: settingsJson(view.settings)}
}

/** The OAuth registration, for the rows it has (most clients have none). */
function oauthRows(s: ClientView['settings']): Array<[string, string]> {
  const rows: Array<[string, string]> = []
  if (s.scopes?.length) rows.push(['scopes', s.scopes.join(' ')])
  if (s.redirectUris?.length) rows.push(['redirect URIs', s.redirectUris.join(', ')])
  if (s.jwks) rows.push(['assertion keys', s.jwks.keys.map((k) => k.kid ?? k.kty).join(', ')])
  if (s.jwksUri) rows.push(['assertion keys', s.jwksUri])
  return rows
}
