import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { SigningKey, SYSTEM } from '@signoff/core';
import { type LogoutMethod, parseSpMetadata, SamlSpsService, type SpImportOptions } from '@signoff/saml';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { spKeys } from './sp-keys';
import type { TestApp } from './test-app';
import { readBody } from './read-body';

/** A LogoutRequest an SP's back-channel SingleLogoutService received, verified by node-saml as the SP would. */
export interface ReceivedLogout {
  sp: string;
  binding: 'soap' | 'post';
  nameID: string;
  sessionIndex: string;
  /** The Reason attribute's last segment: user, admin, global-timeout. */
  reason: string;
}

export type SlsBinding = 'SOAP' | 'HTTP-POST' | 'HTTP-Redirect';


/**
 * node-saml service providers registered at Signoff, whose back-channel SingleLogoutService endpoints
 * (SOAP and server-side POST) are one recording server on 127.0.0.1. Each SP signs what it sends with
 * its own key (SHA-256) and checks InResponseTo always.
 */
export class SamlSpFarm {
  readonly received: ReceivedLogout[] = [];
  /** SPs whose back channel answers 503, as an SP that is down would. */
  readonly down = new Set<string>();
  readonly sps = new Map<string, SAML>();
  /** Each SP's private key (PEM), for tests that sign as the SP without node-saml. */
  private readonly keys = new Map<string, string>();
  base = '';
  private readonly server: Server = createServer((req, res) => void this.backchannel(req).then(({ status, type, text }) => res.writeHead(status, { 'content-type': type }).end(text)));

  private constructor(private readonly t: TestApp, readonly idpCert: string) {}

  static async start(t: TestApp): Promise<SamlSpFarm> {
    const idpCert = (await t.app.get(DataSource).getRepository(SigningKey).findOneByOrFail({ use: 'saml', state: 'active' })).certificatePem!;
    const farm = new SamlSpFarm(t, idpCert);
    await new Promise<void>((resolve) => farm.server.listen(0, '127.0.0.1', resolve));
    farm.base = `http://127.0.0.1:${(farm.server.address() as AddressInfo).port}`;
    return farm;
  }

  /** A node-saml SP `name` whose SingleLogoutService is `binding` (at the recording server, or `location`). */
  async add(name: string, binding: SlsBinding, logoutMethod: LogoutMethod, options: Partial<SpImportOptions> & { location?: string } = {}): Promise<SAML> {
    const keys = await spKeys(`${name}.example`);
    const sp = new SAML({
      issuer: `https://${name}.example/metadata`, callbackUrl: `https://${name}.example/acs`, logoutCallbackUrl: `https://${name}.example/slo`,
      entryPoint: `${this.t.url}/saml/sso`, logoutUrl: `${this.t.url}/saml/slo`, idpIssuer: `${this.t.url}/saml/metadata`, idpCert: this.idpCert,
      audience: `https://${name}.example/metadata`, wantAssertionsSigned: true, wantAuthnResponseSigned: true,
      privateKey: keys.privateKey, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256', validateInResponseTo: ValidateInResponseTo.always,
    });
    this.sps.set(name, sp);
    this.keys.set(name, keys.privateKey);
    const location = options.location ?? `${this.base}/${name}/${binding === 'SOAP' ? 'soap' : binding === 'HTTP-POST' ? 'post' : 'redirect'}`;
    const metadata = sp.generateServiceProviderMetadata(null, keys.certificate)
      .replace(/<SingleLogoutService [^>]*\/>/, `<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${location}"/>`);
    await this.t.app.get(SamlSpsService).import(parseSpMetadata(metadata), { logoutMethod, slug: name, ...options }, SYSTEM);
    return sp;
  }

  keyOf(name: string): string {
    return this.keys.get(name)!;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async backchannel(req: IncomingMessage): Promise<{ status: number; type: string; text: string }> {
    const url = new URL(req.url!, 'http://x');
    const name = url.pathname.split('/')[1];
    const sp = this.sps.get(name)!;
    const text = await readBody(req);
    if (this.down.has(name)) return { status: 503, type: 'text/plain', text: 'down' };
    try {
      if (url.pathname.endsWith('/soap')) {
        const request = /<samlp:LogoutRequest[\s\S]*<\/samlp:LogoutRequest>/.exec(text)![0];
        const { profile } = await sp.validatePostRequestAsync({ SAMLRequest: Buffer.from(request).toString('base64') });
        this.received.push({ sp: name, binding: 'soap', nameID: profile!.nameID, sessionIndex: profile!.sessionIndex!, reason: reasonOf(request) });
        return {
          status: 200, type: 'text/xml', text: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${Date.now()}" Version="2.0" IssueInstant="${new Date().toISOString()}" InResponseTo="${profile!.ID}"><saml:Issuer>https://${name}.example/metadata</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse></soap:Body></soap:Envelope>`,
        };
      }
      const fields = Object.fromEntries(new URLSearchParams(text));
      const { profile } = await sp.validatePostRequestAsync(fields);
      this.received.push({ sp: name, binding: 'post', nameID: profile!.nameID, sessionIndex: profile!.sessionIndex!, reason: reasonOf(Buffer.from(fields.SAMLRequest, 'base64').toString()) });
      return { status: 200, type: 'text/plain', text: '' };
    } catch (error) {
      return { status: 400, type: 'text/plain', text: String(error) };
    }
  }
}

const reasonOf = (xml: string) => /Reason="urn:oasis:names:tc:SAML:2.0:logout:([\w-]+)"/.exec(xml)?.[1] ?? '';
