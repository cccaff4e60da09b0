import type { Profile, SAML } from '@node-saml/node-saml';
import { SYSTEM } from '@signoff/core';
import { type LogoutMethod, parseSpMetadata, SamlSpsService } from '@signoff/saml';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromRedirect, nodeSamlMetadata, nodeSamlSp, postField, signEnveloped, spKeys } from './saml-test-sp';
import type { TestApp } from './test-app';
import { readBody } from './read-body';

/**
 * A SAML web application on 127.0.0.1 with node-saml as its SP, for browser tests: /login starts SSO,
 * /acs takes the Response, /logout starts SP-initiated logout, and /slo takes Signoff's LogoutRequests
 * (Redirect or POST, verified by node-saml) and answers each with a signed LogoutResponse — unless it
 * is told to `hang`, as an application that never answers.
 */
export class SamlSpApp {
  /** The LogoutRequests it received and verified, and the LogoutResponses it accepted. */
  readonly logoutRequests: Array<{ nameID: string; sessionIndex: string | undefined }> = [];
  readonly logoutResponses: Array<{ relayState: string | null }> = [];
  profile: Profile | null = null;
  hang = false;
  /** The SP's metadata XML, as an administrator would import it. */
  metadata = '';

  url = '';
  private readonly server: Server = createServer(
    (req, res) => void this.handle(req, res).catch((error) => res.writeHead(400).end(String(error))),
  );
  private saml: SAML | null = null;
  private privateKey = '';
  private idpSlo = '';

  private constructor(
    readonly name: string,
    private readonly options: SpAppOptions,
  ) {}

  static async start(
    t: TestApp,
    name: string,
    sls: 'HTTP-Redirect' | 'HTTP-POST',
    logoutMethod: LogoutMethod,
    options: SpAppOptions = {},
  ): Promise<SamlSpApp> {
    const app = new SamlSpApp(name, options);
    await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
    app.url = `http://${options.host ?? '127.0.0.1'}:${(app.server.address() as AddressInfo).port}`;
    app.idpSlo = `${t.url}/saml/slo`;
    const keys = await spKeys(`${name}.example`);
    app.privateKey = keys.privateKey;
    const idpCert = (await (await fetch(`${t.url}/saml/metadata`)).text()).match(/<ds:X509Certificate>([^<]+)</)![1];
    app.saml = nodeSamlSp({ url: t.url, cert: idpCert }, app.url, keys.privateKey);
    app.metadata = nodeSamlMetadata(app.saml, keys.certificate, sls, `${app.url}/slo`);
    if (options.register === false) return app;
    await t.app
      .get(SamlSpsService)
      .import(parseSpMetadata(app.metadata), { logoutMethod, slug: name, name, requireSignedRequests: true }, SYSTEM);
    return app;
  }

  /** Did a verified LogoutRequest end the session this SP's user signed in with? */
  get sessionEnded(): boolean {
    const profile = this.profile;
    return profile !== null && this.logoutRequests.some((request) => request.sessionIndex === profile.sessionIndex);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, this.url);
    const saml = this.saml!;
    const page = (text: string) =>
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<!doctype html><title>${this.name}</title><h1>${text}</h1>`);
    if (url.pathname === '/login')
      return void res.writeHead(302, { location: await saml.getAuthorizeUrlAsync('', undefined, {}) }).end();
    if (url.pathname === '/acs') {
      this.profile = (
        await saml.validatePostResponseAsync(Object.fromEntries(new URLSearchParams(await readBody(req))))
      ).profile;
      return void page(`${this.name}: signed in`);
    }
    // Where a logout may send the browser back to (an SP's logoutReturnUrls): says whether the SP's own
    // session is gone, i.e. whether Signoff's LogoutRequest for it came and was verified.
    if (url.pathname === '/bye')
      return void page(`${this.name}: ${this.sessionEnded ? 'session ended' : 'session still open'}`);
    if (url.pathname === '/logout')
      return void res.writeHead(302, { location: await saml.getLogoutUrlAsync(this.profile!, 'sp-relay', {}) }).end();
    if (url.pathname !== '/slo') return void res.writeHead(404).end();
    if (this.hang) return; // never answers
    const fields =
      req.method === 'POST'
        ? Object.fromEntries(new URLSearchParams(await readBody(req)))
        : Object.fromEntries(url.searchParams);
    if (fields.SAMLResponse) {
      await saml.validateRedirectAsync(fields, url.search.slice(1));
      this.logoutResponses.push({ relayState: fields.RelayState ?? null });
      return void page(`${this.name}: signed out`);
    }
    const { profile } =
      req.method === 'POST'
        ? await saml.validatePostRequestAsync(fields)
        : await saml.validateRedirectAsync(fields, url.search.slice(1));
    this.logoutRequests.push({ nameID: profile!.nameID, sessionIndex: profile!.sessionIndex });
    const answer = await saml.getLogoutResponseUrlAsync(profile!, fields.RelayState ?? '', {}, true);
    if (this.options.answerWith !== 'post') return void res.writeHead(302, { location: answer }).end();
    // The same LogoutResponse over HTTP-POST (bindings §3.5): enveloped signature, an auto-posting form.
    const signed = signEnveloped(fromRedirect(new URL(answer).searchParams.get('SAMLResponse')!), this.privateKey);
    const field = (name: string, value: string) =>
      `<input type="hidden" name="${name}" value="${value.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">`;
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(
        `<!doctype html><title>${this.name}</title><form method="post" action="${this.idpSlo}">` +
          `${field('SAMLResponse', postField(signed))}${fields.RelayState ? field('RelayState', fields.RelayState) : ''}</form>` +
          '<script>document.forms[0].submit()</script>',
      );
  }
}

export interface SpAppOptions {
  /** The host name the SP is reached at: `localhost` makes it another site than Signoff's 127.0.0.1 (SameSite cookies stay behind). */
  host?: string;
  /** How the SP answers Signoff's LogoutRequests: a redirect (node-saml's own), or an auto-posting form. */
  answerWith?: 'redirect' | 'post';
  /** false: the SP is not registered at Signoff here (a test imports `metadata` itself, e.g. through the console). */
  register?: boolean;
}
