import type {VaultDocument} from '../../model/document.js'

import {ID_TOKEN_CLAIMS} from '../../core/authorization.js'

/**
 * What `serve --dev-login` adds to both metadata documents under `base` (the issuer's URL or
 * --public-url): the authorization endpoint (RFC 8414 §2) and what OpenID Connect Discovery 1.0
 * §3 asks of a provider besides. Request objects and the claims parameter are not served, and
 * say so (Discovery defaults request_uri_parameter_supported to true).
 */
export function codeFlowMetadata(base: string, doc: Readonly<VaultDocument>): Record<string, unknown> {
  const scopes = Object.values(doc.clients).flatMap((c) => c.settings.scopes ?? [])
  return {
    authorization_endpoint: `${base}/authorize`,
    authorization_response_iss_parameter_supported: true,
    claims_parameter_supported: false,
    claims_supported: [...ID_TOKEN_CLAIMS],
    code_challenge_methods_supported: ['S256'],
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    response_modes_supported: ['query'],
    response_types_supported: ['code'],
    scopes_supported: [...new Set(['openid', ...scopes])].sort(),
    subject_types_supported: ['public'],
    userinfo_endpoint: `${base}/userinfo`,
  }
}
