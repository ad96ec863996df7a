import type {Grant} from './context.js'

import {redeemCode} from '../../core/authorization.js'
import {param, required} from './form.js'
import {resourcesOf} from './grants.js'

/**
 * The token endpoint's `authorization_code` grant (RFC 6749 §4.1.3 with PKCE), which `serve
 * --dev-login` adds to the grant table: the authenticated client exchanges its code.
 */
export const authorizationCodeGrant: Grant = async ({client, ctx, form}) =>
  redeemCode(ctx.issuer, {
    client,
    code: required(form, 'code'),
    redirectUri: param(form, 'redirect_uri'),
    resources: resourcesOf(form),
    verifier: param(form, 'code_verifier'),
  })
