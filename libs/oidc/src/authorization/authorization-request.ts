import type { RegisteredClient } from '../clients/oidc-clients.service';
import { SUPPORTED_SCOPES } from '../tokens/claims';

export type Prompt = 'none' | 'login' | 'select_account' | 'consent';

/** A validated authorization request (OIDC Core 3.1.2.1), as kept across the login and chooser pages. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  responseMode: 'query' | 'form_post';
  state: string | null;
  nonce: string | null;
  scope: string;
  prompt: Prompt[];
  maxAge: number | null;
  loginHint: string | null;
  codeChallenge: string | null;
}

/** Before the redirect URI is known to be the client's, errors are shown to the user, never redirected. */
export class UnredirectableError extends Error {}

/** After: the error goes back to the client (RFC 6749 §4.1.2.1). */
export class RedirectableError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly target: Pick<AuthorizationRequest, 'redirectUri' | 'responseMode' | 'state'>,
  ) {
    super(description);
  }
}

const one = (params: Record<string, unknown>, name: string): string | null => {
  const value = params[name];
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string') throw new UnredirectableError(`${name} must be given once`);
  return value;
};

export function parseAuthorizationRequest(
  params: Record<string, unknown>,
  client: RegisteredClient | null,
): AuthorizationRequest {
  if (!client) throw new UnredirectableError('The application is not registered at Signoff (unknown client_id).');
  const redirectUri = one(params, 'redirect_uri');
  if (!redirectUri || !client.redirectUris.includes(redirectUri)) {
    throw new UnredirectableError('The redirect_uri is missing or not registered for this application.');
  }
  const responseModeRaw = one(params, 'response_mode') ?? 'query';
  const responseMode = responseModeRaw === 'form_post' ? 'form_post' : 'query';
  const state = one(params, 'state');
  const target = { redirectUri, responseMode, state } as const;
  const fail = (error: string, description: string) => new RedirectableError(error, description, target);

  if (!['query', 'form_post'].includes(responseModeRaw))
    throw fail('invalid_request', 'response_mode must be query or form_post');
  if (params.request !== undefined) throw fail('request_not_supported', 'request objects are not supported');
  if (params.request_uri !== undefined) throw fail('request_uri_not_supported', 'request_uri is not supported');
  if (one(params, 'response_type') !== 'code')
    throw fail('unsupported_response_type', 'only response_type=code is supported');
  const requested = (one(params, 'scope') ?? '').split(' ').filter(Boolean);
  if (!requested.includes('openid')) throw fail('invalid_scope', 'the scope must include openid');
  let scope = requested.filter((item) => SUPPORTED_SCOPES.includes(item));
  if (!client.grantTypes.includes('refresh_token')) scope = scope.filter((item) => item !== 'offline_access');

  const prompt = (one(params, 'prompt') ?? '').split(' ').filter(Boolean) as Prompt[];
  if (prompt.some((value) => !['none', 'login', 'select_account', 'consent'].includes(value)))
    throw fail('invalid_request', 'unknown prompt value');
  if (prompt.includes('none') && prompt.length > 1)
    throw fail('invalid_request', 'prompt=none cannot be combined with other values');

  const maxAgeRaw = one(params, 'max_age');
  if (maxAgeRaw !== null && !/^\d{1,10}$/.test(maxAgeRaw))
    throw fail('invalid_request', 'max_age must be a whole number of seconds');

  const codeChallenge = one(params, 'code_challenge');
  const method = one(params, 'code_challenge_method');
  if (codeChallenge !== null) {
    if (method !== 'S256') throw fail('invalid_request', 'code_challenge_method must be S256');
    if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge))
      throw fail('invalid_request', 'code_challenge must be a base64url SHA-256 digest');
  } else if (method !== null) {
    throw fail('invalid_request', 'code_challenge_method without code_challenge');
  } else if (client.tokenEndpointAuthMethod === 'none') {
    throw fail('invalid_request', 'public clients must use PKCE (code_challenge with S256)');
  }

  const nonce = one(params, 'nonce');
  const loginHint = one(params, 'login_hint');
  if ((nonce?.length ?? 0) > 512 || (state?.length ?? 0) > 2048 || (loginHint?.length ?? 0) > 254)
    throw fail('invalid_request', 'a parameter is too long');
  return {
    clientId: client.clientId,
    redirectUri,
    responseMode,
    state,
    nonce,
    scope: scope.join(' '),
    prompt,
    maxAge: maxAgeRaw === null ? null : Number(maxAgeRaw),
    loginHint,
    codeChallenge,
  };
}

/** Where and how the authorization response goes back to the client. `iss` per RFC 9207. */
export function authorizationResponse(
  target: Pick<AuthorizationRequest, 'redirectUri' | 'responseMode' | 'state'>,
  issuer: string,
  params: Record<string, string>,
): { kind: 'redirect'; url: string } | { kind: 'form_post'; url: string; fields: Record<string, string> } {
  const fields: Record<string, string> = {
    ...params,
    ...(target.state !== null ? { state: target.state } : {}),
    iss: issuer,
  };
  if (target.responseMode === 'form_post') return { kind: 'form_post', url: target.redirectUri, fields };
  const url = new URL(target.redirectUri);
  for (const [name, value] of Object.entries(fields)) url.searchParams.append(name, value);
  return { kind: 'redirect', url: url.href };
}
