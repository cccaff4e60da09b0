import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { clockTime, html, page, randomHandle, readBody, readCookie, redirect, sendPage, sessionCookie } from './web';

/** The application's cookie: its own name (see sessionCookie). */
const COOKIE = 'demo_oidc_app';
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MAX_PENDING = 1000;

interface SignedIn {
  claims: client.IDToken;
  idToken: string;
  at: Date;
}

/** Why this browser's session here is over: said on the home page. */
interface Ended {
  how: string;
  at: Date;
}

/**
 * A sample web application that signs its users in with Signoff through openid-client: authorization
 * code with PKCE, a session of its own (a cookie naming a server-side record), RP-initiated logout
 * (RP-Initiated Logout 1.0 §2) and back-channel logout (Back-Channel Logout 1.0 §2.5-2.8): Signoff
 * POSTs a logout token, and the sessions it names end here at once, with no browser involved.
 */
export class OidcDemoApp {
  url = '';
  private readonly server: Server = createServer((req, res) => {
    this.handle(req, res).catch((error: unknown) => this.failed(res, error));
  });
  private config: client.Configuration | undefined;
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private clientId = '';
  /** Sessions by cookie value. */
  private readonly sessions = new Map<string, SignedIn>();
  /** Sign-ins under way, by state: the PKCE verifier and nonce stay here, never in the browser. */
  private readonly pending = new Map<string, { verifier: string; nonce: string; cookie: string }>();
  private readonly ended = new Map<string, Ended>();

  /** Listens on 127.0.0.1:`port` (0: any free port). */
  static async listen(port: number): Promise<OidcDemoApp> {
    const app = new OidcDemoApp();
    await new Promise<void>((resolve, reject) => {
      app.server.once('error', reject);
      app.server.listen(port, '127.0.0.1', resolve);
    });
    app.url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return app;
  }

  /** The client metadata (RFC 7591) Signoff registers this application with. */
  static metadata(url: string, clientId: string): Record<string, unknown> {
    return {
      client_id: clientId,
      client_name: 'Demo OIDC app',
      redirect_uris: [`${url}/callback`],
      post_logout_redirect_uris: [`${url}/signed-out`],
      backchannel_logout_uri: `${url}/backchannel-logout`,
      backchannel_logout_session_required: true,
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    };
  }

  /** Discovers Signoff (its issuer is `issuer`) and becomes its client. */
  async connect(issuer: string, clientId: string, clientSecret: string): Promise<void> {
    this.clientId = clientId;
    // http:// is for this demo on 127.0.0.1 only; a real application talks to its IdP over https.
    this.config = await client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretBasic(clientSecret), {
      execute: [client.allowInsecureRequests],
    });
    this.jwks = createRemoteJWKSet(new URL(this.config.serverMetadata().jwks_uri!));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /') return this.home(req, res);
    if (route === 'GET /login') return this.login(req, res);
    if (route === 'GET /callback') return this.callback(req, res, url);
    if (route === 'GET /logout') return this.logout(req, res);
    if (route === 'GET /signed-out') return redirect(res, '/');
    if (route === 'POST /backchannel-logout') return this.backchannelLogout(req, res);
    sendPage(res, 'Not found', 404);
  }

  private home(req: IncomingMessage, res: ServerResponse): void {
    const cookie = readCookie(req, COOKIE);
    const session = cookie ? this.sessions.get(cookie) : undefined;
    const ended = cookie ? this.ended.get(cookie) : undefined;
    const claims = session?.claims;
    const body = session
      ? html`<div class="card">
            <h2>Hello, ${claims!.name ?? claims!.preferred_username ?? claims!.sub}</h2>
            <p>Signed in through Signoff at ${clockTime(session.at)}. What the ID token says:</p>
            <table>
              ${Object.entries(claims!)
                .filter(([name]) => !['aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'azp'].includes(name))
                .map(
                  ([name, value]) =>
                    html`<tr>
                      <th>${name}</th>
                      <td>${typeof value === 'object' ? JSON.stringify(value) : value}</td>
                    </tr>`,
                )}
            </table>
          </div>
          <p><a class="button" id="sign-out" href="/logout">Sign out</a></p>
          <p>
            Sign out here, or anywhere else: Signoff tells this application by <strong>back channel</strong> (a logout
            token POSTed server to server), and this page then says you are signed out.
          </p>`
      : html`${
            ended
              ? html`<p class="note" id="ended">${ended.how} at ${clockTime(ended.at)}.</p>`
              : html`<p>This application knows nobody yet.</p>`
          }
          <p><a class="button" id="sign-in" href="/login">Sign in with Signoff</a></p>`;
    sendPage(
      res,
      page({
        app: 'Demo OIDC app',
        accent: '#1d4ed8',
        tagline: 'openid-client · authorization code + PKCE · back-channel logout',
        signedIn: session !== undefined,
        body,
      }),
    );
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const config = this.ready();
    const cookie = readCookie(req, COOKIE) ?? randomHandle();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    this.pending.set(state, { verifier, nonce, cookie });
    // Sign-ins nobody finished are forgotten, oldest first, beyond a bound (a Map keeps insertion order).
    for (const stale of this.pending.keys()) {
      if (this.pending.size <= MAX_PENDING) break;
      this.pending.delete(stale);
    }
    const authorization = client.buildAuthorizationUrl(config, {
      redirect_uri: `${this.url}/callback`,
      scope: 'openid profile email',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    redirect(res, authorization.href, { 'set-cookie': sessionCookie(COOKIE, cookie) });
  }

  private async callback(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const state = url.searchParams.get('state') ?? '';
    const pending = this.pending.get(state);
    // The state must be one this browser started (its cookie), else anyone could log a browser in.
    if (!pending || pending.cookie !== readCookie(req, COOKIE))
      throw new Error('This sign-in was not started in this browser, or it was already used: start again.');
    this.pending.delete(state);
    const tokens = await client.authorizationCodeGrant(this.ready(), url, {
      pkceCodeVerifier: pending.verifier,
      expectedState: state,
      expectedNonce: pending.nonce,
    });
    this.ended.delete(pending.cookie);
    const cookie = randomHandle(); // a new session, under a new cookie (no session fixation)
    this.sessions.set(cookie, { claims: tokens.claims()!, idToken: tokens.id_token!, at: new Date() });
    redirect(res, '/', { 'set-cookie': sessionCookie(COOKIE, cookie) });
  }

  /** RP-initiated logout: our own session ends now, then Signoff ends its own and tells every other application. */
  private logout(req: IncomingMessage, res: ServerResponse): void {
    const cookie = readCookie(req, COOKIE);
    const session = cookie ? this.sessions.get(cookie) : undefined;
    if (!cookie || !session) return redirect(res, '/');
    this.sessions.delete(cookie);
    this.ended.set(cookie, { how: 'You signed out here, and Signoff signed you out everywhere', at: new Date() });
    const endSession = client.buildEndSessionUrl(this.ready(), {
      id_token_hint: session.idToken,
      post_logout_redirect_uri: `${this.url}/signed-out`,
      state: client.randomState(),
    });
    redirect(res, endSession.href);
  }

  /**
   * Back-Channel Logout 1.0 §2.6: validate the logout token (signature by Signoff's published keys,
   * iss, aud, iat, the backchannel-logout event, no nonce, sid or sub), then end every session it
   * names (§2.7); 200 when done, 400 for a token we refuse (§2.8).
   */
  private async backchannelLogout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = new URLSearchParams(await readBody(req)).get('logout_token') ?? '';
    let claims: JWTPayload & { sid?: string };
    try {
      ({ payload: claims } = await jwtVerify(token, this.jwks!, {
        issuer: this.ready().serverMetadata().issuer,
        audience: this.clientId,
        requiredClaims: ['iat', 'jti', 'events'],
        maxTokenAge: '2 minutes',
      }));
      const event = (claims.events as Record<string, unknown> | undefined)?.[BACKCHANNEL_EVENT];
      if (typeof event !== 'object' || event === null) throw new Error('not a back-channel logout event');
      if (claims.nonce !== undefined) throw new Error('a logout token carries no nonce');
      if (claims.sid === undefined && claims.sub === undefined) throw new Error('neither sid nor sub');
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      return void res.end(JSON.stringify({ error: 'invalid_request', error_description: (error as Error).message }));
    }
    for (const [cookie, session] of this.sessions) {
      const named = claims.sid !== undefined ? session.claims.sid === claims.sid : session.claims.sub === claims.sub;
      if (!named) continue;
      this.sessions.delete(cookie);
      this.ended.set(cookie, {
        how: 'Signoff signed you out: its logout token arrived by back channel (server to server)',
        at: new Date(),
      });
    }
    res.writeHead(200, { 'cache-control': 'no-store' }).end();
  }

  private ready(): client.Configuration {
    if (!this.config) throw new Error('the application is still starting: try again in a moment');
    return this.config;
  }

  private failed(res: ServerResponse, error: unknown): void {
    if (res.headersSent) return void res.end();
    sendPage(
      res,
      page({
        app: 'Demo OIDC app',
        accent: '#1d4ed8',
        tagline: 'something went wrong',
        signedIn: false,
        body: html`<p class="note">${(error as Error).message ?? String(error)}</p>
          <p><a href="/">Back</a></p>`,
      }),
      400,
    );
  }
}
