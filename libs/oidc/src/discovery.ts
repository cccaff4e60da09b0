import { SUPPORTED_CLAIMS, SUPPORTED_SCOPES } from './tokens/claims';

/** A confidential client may use either secret method at every endpoint; a public one sends its client_id (`none`). */
const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'];

/** The OpenID Provider metadata (OIDC Discovery 1.0, RFC 8414 for revocation and introspection, and the logout and session specs' fields). */
export function providerMetadata(issuer: string, options: { registration: boolean }) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth2/authorize`,
    token_endpoint: `${issuer}/oauth2/token`,
    userinfo_endpoint: `${issuer}/oauth2/userinfo`,
    jwks_uri: `${issuer}/oauth2/jwks`,
    revocation_endpoint: `${issuer}/oauth2/revoke`,
    introspection_endpoint: `${issuer}/oauth2/introspect`,
    // draft-parecki-oauth-global-token-revocation §5: an API token with scope global_token_revocation.
    global_token_revocation_endpoint: `${issuer}/oauth2/global-token-revocation`,
    global_token_revocation_endpoint_auth_methods_supported: ['Bearer'],
    end_session_endpoint: `${issuer}/oauth2/end_session`,
    check_session_iframe: `${issuer}/oauth2/check_session`,
    ...(options.registration ? { registration_endpoint: `${issuer}/oauth2/register` } : {}),
    scopes_supported: SUPPORTED_SCOPES,
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'form_post'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    subject_types_supported: ['public', 'pairwise'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    // RFC 7662 §2.1 requires a credential: public clients (none) cannot introspect.
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: SUPPORTED_CLAIMS,
    prompt_values_supported: ['none', 'login', 'select_account'],
    // The claims request parameter (OIDC Core §5.5) is not supported: the scopes decide the claims.
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true,
    frontchannel_logout_supported: true,
    frontchannel_logout_session_supported: true,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
  };
}
