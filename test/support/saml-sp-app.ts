import { type Profile, SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { SYSTEM } from '@signoff/core';
import { type LogoutMethod, parseSpMetadata, SamlSpsService } from '@signoff/saml';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { spKeys } from './sp-keys';
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

  url = '';
  private readonly server: Server = createServer((req, res) => void this.handle(req, res).catch((error) => res.writeHead(400).end(String(error))));
  private saml: SAML | null = null;
  private privateKey = '';
  private idpSlo = '';

  private constructor(readonly name: string, private readonly options: SpAppOptions) {}

  static async start(t: TestApp, name: string, sls: 'HTTP-Redirect' | 'HTTP-POST', logoutMethod: LogoutMethod, options: SpAppOptions = {}): Promise<SamlSpApp> {
    const app = new SamlSpApp(name, options);
    await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
    app.url = `http://${options.host ?? '127.0.0.1'}:${(app.server.address() as AddressInfo).port}`;
    app.idpSlo = `${t.url}/saml/slo`;
    const keys = await spKeys(`${name}.example`);
    app.privateKey = keys.privateKey;
    const idpCert = (await (await fetch(`${t.url}/saml/metadata`)).text()).match(/<ds:X509Certificate>([^<]+)</)![1];
    app.saml = new SAML({
      issuer: `${app.url}/metadata`, callbackUrl: `${app.url}/acs`, logoutCallbackUrl: `${app.url}/slo`,
      entryPoint: `${t.url}/saml/sso`, logoutUrl: `${t.url}/saml/slo`, idpIssuer: `${t.url}/saml/metadata`, idpCert,
      audience: `${app.url}/metadata`, wantAssertionsSigned: true, wantAuthnResponseSigned: true,
      privateKey: keys.privateKey, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256', validateInResponseTo: ValidateInResponseTo.always,
    });
    const metadata = app.saml.generateServiceProviderMetadata(null, keys.certificate)
      .replace(/<SingleLogoutService [^>]*\/>/, `<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${sls}" Location="${app.url}/slo"/>`);
    await t.app.get(SamlSpsService).import(parseSpMetadata(metadata), { logoutMethod, slug: name, name, requireSignedRequests: true }, SYSTEM);
    return app;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, this.url);
    const saml = this.saml!;
    const page = (text: string) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>${this.name}</title><h1>${text}</h1>`);
    if (url.pathname === '/login') return void res.writeHead(302, { location: await saml.getAuthorizeUrlAsync('', undefined, {}) }).end();
    if (url.pathname === '/acs') {
      this.profile = (await saml.validatePostResponseAsync(Object.fromEntries(new URLSearchParams(await readBody(req))))).profile;
      return void page(`${this.name}: signed in`);
    }
    if (url.pathname === '/logout') return void res.writeHead(302, { location: await saml.getLogoutUrlAsync(this.profile!, 'sp-relay', {}) }).end();
    if (url.pathname !== '/slo') return void res.writeHead(404).end();
    if (this.hang) return; // never answers
    const fields = req.method === 'POST' ? Object.fromEntries(new URLSearchParams(await readBody(req))) : Object.fromEntries(url.searchParams);
    if (fields.SAMLResponse) {
      await saml.validateRedirectAsync(fields, url.search.slice(1));
      this.logoutResponses.push({ relayState: fields.RelayState ?? null });
      return void page(`${this.name}: signed out`);
    }
    const { profile } = req.method === 'POST' ? await saml.validatePostRequestAsync(fields) : await saml.validateRedirectAsync(fields, url.search.slice(1));
    this.logoutRequests.push({ nameID: profile!.nameID, sessionIndex: profile!.sessionIndex });
    const answer = await saml.getLogoutResponseUrlAsync(profile!, fields.RelayState ?? '', {}, true);
    if (this.options.answerWith !== 'post') return void res.writeHead(302, { location: answer }).end();
    // The same LogoutResponse over HTTP-POST (bindings §3.5): enveloped signature, an auto-posting form.
    const xml = inflateRawSync(Buffer.from(new URL(answer).searchParams.get('SAMLResponse')!, 'base64')).toString('utf8');
    const id = /ID="([^"]+)"/.exec(xml)![1];
    const signer = new SignedXml({ privateKey: this.privateKey, signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#' });
    signer.addReference({ xpath: `//*[@ID='${id}']`, transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
    signer.computeSignature(xml, { prefix: 'ds', location: { reference: `//*[@ID='${id}']/*[local-name(.)='Issuer']`, action: 'after' } });
    const field = (name: string, value: string) => `<input type="hidden" name="${name}" value="${value.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">`;
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>${this.name}</title><form method="post" action="${this.idpSlo}">`
      + `${field('SAMLResponse', Buffer.from(signer.getSignedXml()).toString('base64'))}${fields.RelayState ? field('RelayState', fields.RelayState) : ''}</form>`
      + '<script>document.forms[0].submit()</script>');
  }
}

export interface SpAppOptions {
  /** The host name the SP is reached at: `localhost` makes it another site than Signoff's 127.0.0.1 (SameSite cookies stay behind). */
  host?: string;
  /** How the SP answers Signoff's LogoutRequests: a redirect (node-saml's own), or an auto-posting form. */
  answerWith?: 'redirect' | 'post';
}
