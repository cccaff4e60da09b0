// Validation and normalisation of OIDC client registration metadata (RFC 7591, OIDC Dynamic Client
// Registration 1.0, Front-/Back-Channel Logout 1.0, RP-Initiated Logout 1.0, RFC 8252). Pure: shared by
// the admin API, the CLI and dynamic registration, so it does no I/O and imports nothing from the project.

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';
export type IdTokenAlg = 'RS256' | 'ES256';
export type LogoutTokenTyp = 'logout+jwt' | 'JWT';
export type SubjectType = 'public' | 'pairwise';

export interface ClientMetadata {
  client_name: string | null;
  /**
   * RFC 7591 §2: the URL of a web page about the client. Signoff links to it from the user's home page
   * (the application's "home"), so it must be http(s), with the rules of the other URIs here.
   */
  client_uri: string | null;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: Array<'authorization_code' | 'refresh_token'>;
  response_types: ['code'];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  id_token_signed_response_alg: IdTokenAlg;
  frontchannel_logout_uri: string | null;
  frontchannel_logout_session_required: boolean;
  backchannel_logout_uri: string | null;
  backchannel_logout_session_required: boolean;
  /** Signoff extension: `typ` header of logout tokens, 'JWT' for receivers that refuse the newer value. */
  logout_token_typ: LogoutTokenTyp;
  /** OIDC Core §8: `public` (default), or `pairwise` (a sub per sector, the host of the redirect_uris). */
  subject_type: SubjectType;
}

export type ClientMetadataErrorCode = 'invalid_redirect_uri' | 'invalid_client_metadata';

export class ClientMetadataError extends Error {
  constructor(
    readonly error: ClientMetadataErrorCode,
    readonly description: string,
  ) {
    super(description);
  }
}

export interface ClientMetadataOptions {
  /** Allow http:// (non-loopback) URIs for confidential clients (token_endpoint_auth_method != 'none'). */
  allowHttp: boolean;
  /**
   * Checks a URI that Signoff itself will request (backchannel_logout_uri; front-channel URIs are
   * loaded by the browser and are not checked): throws an Error saying why it may not be used.
   * The OutboundPolicy's checkUrl, passed in so this module stays free of project imports.
   */
  checkServerSideUri?: (url: URL) => void;
}

const MAX_URIS = 20;
const MAX_URI_LENGTH = 2000;
const MAX_NAME_LENGTH = 200;
const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];
const ID_TOKEN_ALGS: readonly IdTokenAlg[] = ['RS256', 'ES256'];
const LOGOUT_TOKEN_TYPS: readonly LogoutTokenTyp[] = ['logout+jwt', 'JWT'];
const GRANT_TYPES: readonly string[] = ['authorization_code', 'refresh_token'];
const SUBJECT_TYPES: readonly SubjectType[] = ['public', 'pairwise'];

interface UriRules {
  code: ClientMetadataErrorCode;
  publicClient: boolean;
  allowHttp: boolean;
  /** RFC 8252 7.1 private-use schemes make sense only where the browser hands control back to a native app. */
  privateUse: boolean;
}

/** Validates raw JSON (unknown) and returns normalised metadata with defaults filled in; throws ClientMetadataError. */
export function parseClientMetadata(input: unknown, options: ClientMetadataOptions): ClientMetadata {
  if (!isPlainObject(input)) invalid('client metadata must be a JSON object');
  // Own members only, so '__proto__' or inherited properties can never stand in for metadata.
  const get = (key: string): unknown => (Object.hasOwn(input, key) ? input[key] : undefined);

  // Parsed first: which URI schemes are acceptable depends on whether the client is public.
  const authMethod = parseEnum(
    get('token_endpoint_auth_method'),
    'token_endpoint_auth_method',
    AUTH_METHODS,
    'client_secret_basic',
  );
  const publicClient = authMethod === 'none';
  const allowHttp = options.allowHttp;

  const redirectUris = parseUriList(get('redirect_uris'), 'redirect_uris', true, {
    code: 'invalid_redirect_uri',
    publicClient,
    allowHttp,
    privateUse: true,
  });
  const postLogoutRedirectUris = parseUriList(get('post_logout_redirect_uris'), 'post_logout_redirect_uris', false, {
    code: 'invalid_client_metadata',
    publicClient,
    allowHttp,
    privateUse: true,
  });

  const channelRules: UriRules = { code: 'invalid_client_metadata', publicClient, allowHttp, privateUse: false };
  const frontchannel = parseOptionalUri(get('frontchannel_logout_uri'), 'frontchannel_logout_uri', channelRules);
  // Front-Channel Logout 1.0 section 2: scheme, host and port must match those of a registered redirect URI.
  if (frontchannel && !redirectUris.some((uri) => originOf(uri) === frontchannel.origin)) {
    invalid('frontchannel_logout_uri: its scheme, host and port must match those of one of the redirect_uris');
  }
  const backchannel = parseOptionalUri(get('backchannel_logout_uri'), 'backchannel_logout_uri', channelRules);
  if (backchannel) checkServerSide(backchannel.url, 'backchannel_logout_uri', options);
  // Loaded by the user's browser only (a link), like the front-channel URI: no server-side check.
  const clientUri = parseOptionalUri(get('client_uri'), 'client_uri', channelRules);

  const subjectType = parseEnum(get('subject_type'), 'subject_type', SUBJECT_TYPES, 'public');
  if (subjectType === 'pairwise') sectorOf(redirectUris);

  const alg = get('id_token_signed_response_alg');
  if (alg === 'none')
    invalid("id_token_signed_response_alg: 'none' is not allowed, ID tokens are always signed (use RS256 or ES256)");

  return {
    client_name: parseClientName(get('client_name')),
    client_uri: clientUri?.raw ?? null,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogoutRedirectUris,
    grant_types: parseGrantTypes(get('grant_types')),
    response_types: parseResponseTypes(get('response_types')),
    token_endpoint_auth_method: authMethod,
    id_token_signed_response_alg: parseEnum(alg, 'id_token_signed_response_alg', ID_TOKEN_ALGS, 'RS256'),
    frontchannel_logout_uri: frontchannel?.raw ?? null,
    // A *_session_required flag without its URI is accepted and kept as given; it has no effect until a URI is set.
    frontchannel_logout_session_required: parseBoolean(
      get('frontchannel_logout_session_required'),
      'frontchannel_logout_session_required',
    ),
    backchannel_logout_uri: backchannel?.raw ?? null,
    backchannel_logout_session_required: parseBoolean(
      get('backchannel_logout_session_required'),
      'backchannel_logout_session_required',
    ),
    logout_token_typ: parseEnum(get('logout_token_typ'), 'logout_token_typ', LOGOUT_TOKEN_TYPS, 'logout+jwt'),
    subject_type: subjectType,
  };
}

/**
 * The sector identifier of a pairwise client (OIDC Core §8.1): the host of its redirect_uris. They
 * must share one host, since sector_identifier_uri (which would list several) is not supported.
 */
export function sectorOf(redirectUris: string[]): string {
  const hosts = new Set(redirectUris.map((uri) => new URL(uri).hostname));
  if (hosts.has(''))
    invalid(
      'subject_type pairwise: every redirect_uri must have a host (the sector identifier); private-use schemes have none',
    );
  if (hosts.size !== 1) {
    invalid(
      'subject_type pairwise: the redirect_uris span several hosts; they must share one host, the sector identifier (sector_identifier_uri is not supported)',
    );
  }
  return [...hosts][0];
}

function fail(code: ClientMetadataErrorCode, description: string): never {
  throw new ClientMetadataError(code, description);
}

function invalid(description: string): never {
  fail('invalid_client_metadata', description);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// null is accepted as "not set" for the members whose normalised value can be null, so output re-parses.
function parseClientName(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') invalid('client_name: must be a string');
  const name = value.trim();
  const length = [...name].length; // code points, so an emoji counts once
  if (length < 1 || length > MAX_NAME_LENGTH)
    invalid(`client_name: must be 1 to ${MAX_NAME_LENGTH} characters (not counting surrounding spaces)`);
  return name;
}

function parseEnum<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    invalid(`${field}: must be one of ${allowed.join(', ')}`);
  return value as T;
}

function parseBoolean(value: unknown, field: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') invalid(`${field}: must be true or false`);
  return value;
}

function parseGrantTypes(value: unknown): ClientMetadata['grant_types'] {
  if (value === undefined) return ['authorization_code'];
  if (!Array.isArray(value) || value.length === 0) invalid('grant_types: must be a non-empty array');
  value.forEach((grant: unknown, i) => {
    if (typeof grant !== 'string' || !GRANT_TYPES.includes(grant))
      invalid(`grant_types[${i}]: must be one of ${GRANT_TYPES.join(', ')}`);
  });
  if (new Set(value).size !== value.length) invalid('grant_types: must not contain duplicates');
  if (!value.includes('authorization_code')) invalid('grant_types: must include authorization_code');
  return [...value] as ClientMetadata['grant_types'];
}

function parseResponseTypes(value: unknown): ['code'] {
  if (value === undefined) return ['code'];
  if (!Array.isArray(value) || value.length !== 1 || value[0] !== 'code')
    invalid('response_types: must be ["code"], only the authorization code flow is supported');
  return ['code'];
}

function parseUriList(value: unknown, field: string, required: boolean, rules: UriRules): string[] {
  if (value === undefined && !required) return [];
  if (value === undefined) fail(rules.code, `${field}: is required`);
  if (!Array.isArray(value) || (required && value.length === 0))
    fail(rules.code, `${field}: must be ${required ? 'a non-empty' : 'an'} array of URIs`);
  if (value.length > MAX_URIS) fail(rules.code, `${field}: must not have more than ${MAX_URIS} entries`);
  // Duplicates are rejected rather than silently dropped: they usually hide a typo in the other entry.
  const seen = new Set<string>();
  value.forEach((uri: unknown, i) => {
    const { raw } = parseUri(uri, `${field}[${i}]`, rules);
    if (seen.has(raw)) fail(rules.code, `${field}[${i}]: duplicates an earlier entry`);
    seen.add(raw);
  });
  return [...(value as string[])];
}

function parseOptionalUri(
  value: unknown,
  field: string,
  rules: UriRules,
): { raw: string; url: URL; origin: string } | null {
  if (value === undefined || value === null) return null;
  const { raw, url } = parseUri(value, field, rules);
  return { raw, url, origin: url.origin };
}

/** Refuses, at registration, a URI the outbound policy would refuse at every delivery. */
function checkServerSide(url: URL, field: string, options: ClientMetadataOptions): void {
  try {
    options.checkServerSideUri?.(url);
  } catch (error) {
    invalid(`${field}: ${(error as Error).message}`);
  }
}

/** Origin of a redirect URI that already passed parseUri; private-use ones have none. */
function originOf(uri: string): string | null {
  const url = new URL(uri);
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
}

function isLoopback(hostname: string): boolean {
  // WHATWG URL has already canonicalised IPv4 (127.1 -> 127.0.0.1) and IPv6 ([0::1] -> [::1]).
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === '[::1]' || hostname === 'localhost';
}

/**
 * Checks one URI and returns it unchanged: redirect URIs are later compared by exact string match (RFC 6749
 * 3.1.2.3), so storing WHATWG's normalised href would break clients. That is also why the raw text is checked
 * for what WHATWG would silently repair (whitespace, backslashes, "https:/host", an empty "#" or "@").
 */
function parseUri(value: unknown, field: string, rules: UriRules): { raw: string; url: URL } {
  const reject = (problem: string): never => fail(rules.code, `${field}: ${problem}`);
  if (typeof value !== 'string' || value === '') return reject('must be a non-empty string');
  if (value.length > MAX_URI_LENGTH) reject(`must not be longer than ${MAX_URI_LENGTH} characters`);
  if (!/^[\x21-\x7e]+$/.test(value) || value.includes('\\'))
    reject('must not contain spaces, control or non-ASCII characters, or backslashes');
  if (value.includes('#')) reject('must not contain a fragment');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return reject('must be an absolute URI');
  }
  if (url.username !== '' || url.password !== '' || /^[^:]+:\/\/[^/?]*@/.test(value))
    reject('must not contain user information');

  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'https' || scheme === 'http') {
    if (!/^https?:\/\/[^/?]/i.test(value)) reject(`must be an absolute URI of the form ${scheme}://host/path`);
    if (scheme === 'http' && !isLoopback(url.hostname) && !(rules.allowHttp && !rules.publicClient)) {
      reject(
        `must use https (http is only allowed for loopback addresses${rules.allowHttp ? ' or confidential clients' : ''})`,
      );
    }
  } else if (scheme.includes('.')) {
    // RFC 8252 7.1: a reverse-domain private-use scheme identifies a native app, which is a public client.
    if (!rules.privateUse)
      reject('private-use URI schemes are only allowed in redirect_uris and post_logout_redirect_uris');
    if (!rules.publicClient)
      reject("private-use URI schemes are only allowed for public clients (token_endpoint_auth_method 'none')");
  } else {
    reject(`the ${scheme}: scheme is not allowed`);
  }
  return { raw: value, url };
}
