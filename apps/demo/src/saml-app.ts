import { generateServiceProviderMetadata, type Profile, SAML } from '@node-saml/node-saml';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clockTime, html, page, randomHandle, readBody, readCookie, redirect, sendPage, sessionCookie } from './web';

/** The application's cookie: its own name (see sessionCookie). */
const COOKIE = 'demo_saml_app';
/**
 * The SP's entityID: a name, not an address, so it stays the same when the application's port
 * changes from one run to the next (its endpoints in the metadata change; its name does not).
 */
export const SAML_DEMO_ENTITY_ID = 'urn:example:signoff-demo:saml-app';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

interface SignedIn {
  profile: Profile;
  at: Date;
}

/**
 * A sample web application with node-saml as its SAML service provider: SP-initiated SSO (a signed
 * AuthnRequest, the Response over HTTP-POST at /acs), a session of its own, SP-initiated logout, and
 * a SingleLogoutService (/slo, HTTP-Redirect) that Signoff reaches through the user's browser — the
 * front channel: the LogoutRequest is verified, the sessions it names (by SessionIndex) end, and a
 * signed LogoutResponse goes back (SAML 2.0 profiles §4.4.3.3-4).
 */
export class SamlDemoApp {
  url = '';
  private readonly server: Server = createServer((req, res) => {
    this.handle(req, res).catch((error: unknown) => this.failed(res, error));
  });
  private saml: SAML | undefined;
  private readonly sessions = new Map<string, SignedIn>();
  private readonly ended = new Map<string, { how: string; at: Date }>();

  private constructor(
    private readonly privateKey: string,
    private readonly certificate: string,
  ) {}

  /** Listens on 127.0.0.1:`port` (0: any free port), signing with this key and certificate. */
  static async listen(port: number, keys: { privateKey: string; certificate: string }): Promise<SamlDemoApp> {
    const app = new SamlDemoApp(keys.privateKey, keys.certificate);
    await new Promise<void>((resolve, reject) => {
      app.server.once('error', reject);
      app.server.listen(port, '127.0.0.1', resolve);
    });
    app.url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return app;
  }

  /**
   * The SP's metadata, as node-saml writes it, with its SingleLogoutService on HTTP-Redirect (node-saml
   * writes HTTP-POST; it takes both, and Redirect is what a front-channel iframe follows most simply).
   */
  metadata(): string {
    return generateServiceProviderMetadata({
      issuer: SAML_DEMO_ENTITY_ID,
      callbackUrl: `${this.url}/acs`,
      logoutCallbackUrl: `${this.url}/slo`,
      privateKey: this.privateKey,
      publicCerts: this.certificate,
      wantAssertionsSigned: true,
      generateUniqueId: () => '_signoff-demo-saml-app',
    }).replace(/(<SingleLogoutService [^>]*Binding=")[^"]+"/, `$1${REDIRECT_BINDING}"`);
  }

  /** Trusts Signoff at `idpUrl`, whose signing certificates (PEM or base64) are `idpCerts`. */
  connect(idpUrl: string, idpCerts: string[]): void {
    this.saml = new SAML({
      issuer: SAML_DEMO_ENTITY_ID,
      audience: SAML_DEMO_ENTITY_ID,
      callbackUrl: `${this.url}/acs`,
      logoutCallbackUrl: `${this.url}/slo`,
      entryPoint: `${idpUrl}/saml/sso`,
      logoutUrl: `${idpUrl}/saml/slo`,
      idpIssuer: `${idpUrl}/saml/metadata`,
      idpCert: idpCerts,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
      privateKey: this.privateKey,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /') return this.home(req, res);
    if (route === 'GET /login') return redirect(res, await this.ready().getAuthorizeUrlAsync('', undefined, {}));
    if (route === 'POST /acs') return this.acs(req, res);
    if (route === 'GET /logout') return this.logout(req, res);
    if (route === 'GET /slo') return this.slo(res, url);
    sendPage(res, 'Not found', 404);
  }

  private home(req: IncomingMessage, res: ServerResponse): void {
    const cookie = readCookie(req, COOKIE);
    const session = cookie ? this.sessions.get(cookie) : undefined;
    const ended = cookie ? this.ended.get(cookie) : undefined;
    const profile = session?.profile;
    const attributes = Object.entries((profile?.attributes as Record<string, unknown> | undefined) ?? {});
    const body = profile
      ? html`<div class="card">
            <h2>Hello, ${profile.nameID}</h2>
            <p>Signed in through Signoff at ${clockTime(session!.at)}. What the assertion says:</p>
            <table>
              <tr>
                <th>NameID</th>
                <td>${profile.nameID}</td>
              </tr>
              <tr>
                <th>SessionIndex</th>
                <td>${profile.sessionIndex}</td>
              </tr>
              ${attributes.map(
                ([name, value]) =>
                  html`<tr>
                    <th>${name}</th>
                    <td>${Array.isArray(value) ? value.join(', ') : value}</td>
                  </tr>`,
              )}
            </table>
          </div>
          <p><a class="button" id="sign-out" href="/logout">Sign out</a></p>
          <p>
            Sign out here, or anywhere else: Signoff tells this application through your browser (the
            <strong>front channel</strong>: a signed LogoutRequest to its SingleLogoutService), and this page then says
            you are signed out.
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
        app: 'Demo SAML app',
        accent: '#047857',
        tagline: 'node-saml · SP-initiated SSO · front-channel logout',
        signedIn: profile !== undefined,
        body,
      }),
    );
  }

  private async acs(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const { profile } = await this.ready().validatePostResponseAsync(form);
    if (!profile) throw new Error('the Response carried no assertion');
    const cookie = randomHandle(); // a new session, under a new cookie (no session fixation)
    this.sessions.set(cookie, { profile, at: new Date() });
    redirect(res, '/', { 'set-cookie': sessionCookie(COOKIE, cookie) });
  }

  /** SP-initiated logout: our own session ends now; Signoff answers at /slo once it has signed the user out everywhere. */
  private async logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const cookie = readCookie(req, COOKIE);
    const session = cookie ? this.sessions.get(cookie) : undefined;
    if (!cookie || !session) return redirect(res, '/');
    this.sessions.delete(cookie);
    this.ended.set(cookie, { how: 'You signed out here, and Signoff signed you out everywhere', at: new Date() });
    redirect(res, await this.ready().getLogoutUrlAsync(session.profile, '', {}));
  }

  /**
   * The SingleLogoutService, HTTP-Redirect binding: Signoff's LogoutRequest (signature and issuer
   * checked by node-saml) ends the sessions with its SessionIndex (all of the NameID's without one,
   * core §3.7.1) and is answered with a signed LogoutResponse; Signoff's LogoutResponse to our own
   * LogoutRequest brings the browser home.
   */
  private async slo(res: ServerResponse, url: URL): Promise<void> {
    const query = Object.fromEntries(url.searchParams);
    const saml = this.ready();
    if (query.SAMLResponse) {
      await saml.validateRedirectAsync(query, url.search.slice(1));
      return redirect(res, '/');
    }
    const { profile } = await saml.validateRedirectAsync(query, url.search.slice(1));
    if (!profile) throw new Error('the LogoutRequest named nobody');
    for (const [cookie, session] of this.sessions) {
      const named =
        session.profile.nameID === profile.nameID &&
        (profile.sessionIndex === undefined || session.profile.sessionIndex === profile.sessionIndex);
      if (!named) continue;
      this.sessions.delete(cookie);
      this.ended.set(cookie, {
        how: 'Signoff signed you out: its LogoutRequest came through your browser (front channel)',
        at: new Date(),
      });
    }
    redirect(res, await saml.getLogoutResponseUrlAsync(profile, query.RelayState ?? '', {}, true));
  }

  private ready(): SAML {
    if (!this.saml) throw new Error('the application is still starting: try again in a moment');
    return this.saml;
  }

  private failed(res: ServerResponse, error: unknown): void {
    if (res.headersSent) return void res.end();
    sendPage(
      res,
      page({
        app: 'Demo SAML app',
        accent: '#047857',
        tagline: 'something went wrong',
        signedIn: false,
        body: html`<p class="note">${(error as Error).message ?? String(error)}</p>
          <p><a href="/">Back</a></p>`,
      }),
      400,
    );
  }
}
