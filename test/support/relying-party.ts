import { type ClientMetadata, OidcClientsService } from '@signoff/oidc';
import { type NewUser, SYSTEM, UsersService } from '@signoff/core';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { randomBytes } from 'node:crypto';
import { Browser } from './browser';
import type { TestApp } from './test-app';
import { readBody } from './read-body';

const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface ReceivedLogoutToken {
  raw: string;
  header: { typ?: string; alg?: string; kid?: string };
  claims: JWTPayload & { sid?: string; events?: Record<string, unknown> };
}

/**
 * A relying party's server on 127.0.0.1 that records what Signoff sends it: back-channel logout
 * tokens (verified as Back-Channel Logout 1.0 §2.6 says an RP must), front-channel requests, and
 * callbacks. `backchannelReplies` scripts its answers: a status (with a Retry-After), or 'hang' to never answer.
 */
export class RecordingRp {
  readonly logoutTokens: ReceivedLogoutToken[] = [];
  readonly rejected: string[] = [];
  readonly frontchannel: URLSearchParams[] = [];
  backchannelReplies: Array<number | 'hang' | { status: number; retryAfter: string }> = [];
  /** Every back-channel request that arrived, answered or not. */
  backchannelRequests = 0;
  /** The Cookie header of each front-channel request, beside `frontchannel` (undefined: none came with it). */
  readonly frontchannelCookies: Array<string | undefined> = [];
  private server!: Server;
  private readonly hanging = new Set<ServerResponse>();
  /** Where browsers reach it: `http://<host>:<port>` (host from RpOptions, 127.0.0.1 by default). */
  url = '';
  /** Where servers reach it (Signoff's back channel): always `http://127.0.0.1:<port>`, whatever name browsers use. */
  address = '';

  /** `now` is the test's clock: the RP lives in the same (possibly moved) time as Signoff. */
  constructor(
    private readonly issuer: string,
    private readonly clientId: () => string,
    private readonly now: () => Date = () => new Date(),
    private readonly options: RpOptions = {},
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as AddressInfo).port;
    this.address = `http://127.0.0.1:${port}`;
    this.url = `http://${this.options.host ?? '127.0.0.1'}:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, this.url);
    if (url.pathname === '/backchannel' && req.method === 'POST') {
      this.backchannelRequests++;
      const reply = this.backchannelReplies.shift() ?? 200;
      const body = new URLSearchParams(await readBody(req));
      if (reply === 'hang') {
        this.hanging.add(res);
        return;
      }
      try {
        this.logoutTokens.push(await this.verify(body.get('logout_token') ?? ''));
      } catch (error) {
        this.rejected.push((error as Error).message);
        res.writeHead(400).end();
        return;
      }
      const { status, retryAfter } = typeof reply === 'number' ? { status: reply, retryAfter: null } : reply;
      res
        .writeHead(status, { 'cache-control': 'no-store', ...(retryAfter ? { 'retry-after': retryAfter } : {}) })
        .end();
      return;
    }
    if (url.pathname === '/frontchannel') {
      this.frontchannel.push(url.searchParams);
      this.frontchannelCookies.push(req.headers.cookie);
      // What an RP's front-channel page may try: keep something of its own (a cookie set inside the frame).
      if (this.options.sessionCookie) res.setHeader('set-cookie', `${RP_FRAME_COOKIE}=1; ${CROSS_SITE_COOKIE}`);
    }
    if (url.pathname === '/callback' && this.options.sessionCookie)
      res.setHeader('set-cookie', `${RP_SESSION_COOKIE}=1; ${CROSS_SITE_COOKIE}`);
    if (url.pathname === '/session-check') {
      // An RP page as Session Management 1.0 §4.1 describes: it frames the OP's check_session_iframe and posts to it.
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>rp</title>
<iframe id="op" src="${this.issuer}/oauth2/check_session"></iframe>
<script>
window.check = function (message) {
  return new Promise(function (resolve) {
    window.addEventListener('message', function once(event) {
      if (event.origin !== ${JSON.stringify(this.issuer)}) return;
      window.removeEventListener('message', once);
      resolve(event.data);
    });
    document.getElementById('op').contentWindow.postMessage(message, ${JSON.stringify(this.issuer)});
  });
};
</script>`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>rp</title>ok');
  }

  /** The checks of Back-Channel Logout 1.0 §2.6, with jose against Signoff's published JWKS. */
  private async verify(token: string): Promise<ReceivedLogoutToken> {
    const jwks = createRemoteJWKSet(new URL(`${this.issuer}/oauth2/jwks`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: this.issuer,
      audience: this.clientId(),
      requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti', 'events'],
      maxTokenAge: '2 minutes',
      currentDate: this.now(),
    });
    const event = (payload.events as Record<string, unknown> | undefined)?.[BACKCHANNEL_EVENT];
    if (typeof event !== 'object' || event === null || Array.isArray(event))
      throw new Error('missing backchannel-logout event');
    if (payload.nonce !== undefined) throw new Error('a logout token must not carry a nonce');
    if (payload.sub === undefined && payload.sid === undefined) throw new Error('sub or sid required');
    if (this.logoutTokens.some((seen) => seen.claims.jti === payload.jti)) throw new Error('replayed jti');
    return { raw: token, header: protectedHeader, claims: payload as ReceivedLogoutToken['claims'] };
  }
}

/** The RP's own login session, set at /callback when `sessionCookie` is on. */
export const RP_SESSION_COOKIE = 'rp_session';
/** The cookie an RP's front-channel response sets (inside Signoff's logout page) when `sessionCookie` is on. */
export const RP_FRAME_COOKIE = 'rp_frame';
/** What an RP must give a cookie it wants in a cross-site frame (SameSite=None needs Secure, RFC 6265bis §5.6.7). */
const CROSS_SITE_COOKIE = 'Path=/; SameSite=None; Secure';

export interface RpOptions {
  /**
   * The host name browsers reach the RP at (its server still listens on 127.0.0.1): e.g. `wiki.test`,
   * another site than Signoff's 127.0.0.1, when the browser maps it there (Chromium's --host-resolver-rules).
   */
  host?: string;
  /**
   * Keep a session cookie as a real RP would: /callback sets `rp_session` and the front-channel page sets
   * `rp_frame`, both SameSite=None; Secure (the only kind a cross-site frame may carry); the Cookie header of
   * each front-channel request is in `frontchannelCookies`.
   */
  sessionCookie?: boolean;
}

export interface TestClient {
  clientId: string;
  clientSecret: string | null;
  providerId: string;
  config: client.Configuration;
  rp: RecordingRp;
  redirectUri: string;
}

/** Registers a client whose URIs point at a fresh RecordingRp, and discovers Signoff with openid-client. */
export async function registerClient(
  t: TestApp,
  metadata: Partial<Record<keyof ClientMetadata, unknown>> = {},
  options: { backchannel?: boolean; frontchannel?: boolean } & RpOptions = { backchannel: true },
): Promise<TestClient> {
  let clientId = '';
  const rp = await new RecordingRp(
    t.url,
    () => clientId,
    () => t.clock.now(),
    { host: options.host, sessionCookie: options.sessionCookie },
  ).start();
  const clients = t.app.get(OidcClientsService);
  const redirectUri = `${rp.url}/callback`;
  const { client: registered, clientSecret } = await clients.register(
    clients.parse({
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [`${rp.url}/logged-out`],
      grant_types: ['authorization_code', 'refresh_token'],
      ...(options.backchannel !== false
        ? // Signoff's server POSTs it: the RP's address, whatever name the browser knows it by.
          { backchannel_logout_uri: `${rp.address}/backchannel`, backchannel_logout_session_required: true }
        : {}),
      ...(options.frontchannel
        ? { frontchannel_logout_uri: `${rp.url}/frontchannel`, frontchannel_logout_session_required: true }
        : {}),
      ...metadata,
    }),
    {},
    SYSTEM,
  );
  clientId = registered.clientId;
  const auth =
    registered.tokenEndpointAuthMethod === 'client_secret_post'
      ? client.ClientSecretPost(clientSecret!)
      : registered.tokenEndpointAuthMethod === 'none'
        ? client.None()
        : client.ClientSecretBasic(clientSecret!);
  const config = await client
    .discovery(new URL(t.url), clientId, { id_token_signed_response_alg: registered.idTokenSignedResponseAlg }, auth, {
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
    })
    .catch(async (error) => {
      await rp.stop(); // an open server would keep jest from exiting
      throw error;
    });
  return { clientId, clientSecret, providerId: registered.providerId, config, rp, redirectUri };
}

/**
 * Runs the authorization request in the browser: follows Signoff's redirects, signs in on the login
 * page when it comes up, and returns the URL the browser is finally sent to at the RP.
 */
export async function authorize(
  browser: Browser,
  url: URL,
  credentials?: { username: string; password: string },
): Promise<URL> {
  let response = await browser.get(url.pathname + url.search);
  for (let hops = 0; hops < 10; hops++) {
    if (response.status === 303) {
      const location = new URL(response.headers.location, browser.baseUrl);
      if (location.origin !== browser.baseUrl) return location;
      response = await browser.get(location.pathname + location.search);
    } else if (response.status === 200 && response.text.includes('name="password"') && credentials) {
      const returnTo = /name="return_to" value="([^"]+)"/.exec(response.text)![1].replace(/&#38;/g, '&');
      response = await browser.post('/login', { ...credentials, csrf: browser.csrf, return_to: returnTo });
      credentials = undefined;
    } else {
      throw new Error(`authorization stopped at ${response.status}: ${response.text.slice(0, 300)}`);
    }
  }
  throw new Error('too many redirects');
}

/** A complete code + PKCE login through openid-client; returns the tokens and the callback URL. */
export async function login(
  rp: TestClient,
  browser: Browser,
  credentials?: { username: string; password: string },
  extra: Record<string, string> = {},
) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  const callback = await authorize(browser, url, credentials);
  const tokens = await client.authorizationCodeGrant(rp.config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  return { tokens, callback };
}

/**
 * A silent authorization request (prompt=none) in `browser` for `app`: the error the RP gets back
 * (`login_required` once the user's session is gone), or null when a code was issued.
 */
export async function silentAuthorizationError(app: TestClient, browser: Browser): Promise<string | null> {
  const url = client.buildAuthorizationUrl(app.config, {
    redirect_uri: app.redirectUri,
    scope: 'openid',
    prompt: 'none',
    state: 'silent',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const response = await browser.get(url.pathname + url.search);
  if (response.status !== 303) throw new Error(`the authorization request answered ${response.status}, not a redirect`);
  return new URL(response.headers.location).searchParams.get('error');
}

/**
 * A user of their own (a fresh name, so that tests share no sessions), signed in to Signoff in a
 * browser of their own, then to each of `clients` in it (openid-client's authorization code flow).
 * `profile` adds to the user's fields.
 */
export async function freshUserSignedIn(
  t: TestApp,
  clients: TestClient[] = [],
  profile: Pick<NewUser, 'email' | 'name'> = {},
) {
  const username = `user-${randomBytes(5).toString('hex')}`;
  const password = 'user password';
  const user = await t.app.get(UsersService).create({ username, password, ...profile }, SYSTEM);
  const browser = new Browser(t.url);
  const signIn = await browser.login(username, password);
  if (signIn.status !== 303) throw new Error(`signing in ${username} answered ${signIn.status}`);
  const logins = [];
  for (const rp of clients) logins.push(await login(rp, browser));
  return { user, username, password, browser, logins };
}
