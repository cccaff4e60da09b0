import type { SAML } from '@node-saml/node-saml';
import { SYSTEM } from '@signoff/core';
import { type LogoutMethod, parseSpMetadata, SamlSpsService, type SpImportOptions } from '@signoff/saml';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  idpCertificate,
  logoutResponseXml,
  nodeSamlMetadata,
  nodeSamlSp,
  postField,
  redirectQuery,
  signEnveloped,
  type SlsBinding,
  soapEnvelope,
  spKeys,
  STATUS,
} from './saml-test-sp';
import type { TestApp } from './test-app';
import { freshUserSignedIn } from './relying-party';
import { samlSignIn } from './saml';
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

export type { SlsBinding } from './saml-test-sp';

/**
 * How an SP answers a LogoutRequest POSTed to its HTTP-POST SingleLogoutService by a server, as it
 * would answer a browser: `empty` (200, nothing; the default), `page` (a 302 to a page of its own),
 * `redirect` (a 302 to Signoff's SingleLogoutService with a LogoutResponse over HTTP-Redirect, its
 * query signed) or `form` (200, a page whose auto-posting form carries the LogoutResponse over
 * HTTP-POST, enveloped-signed). The LogoutResponse says `status` (Success unless given), answers
 * `inResponseTo` (the request's ID unless given), is issued by `issuer` (the SP's entityID unless
 * given) and signed with `key` (the SP's own unless given).
 */
export interface PostReply {
  how: 'empty' | 'page' | 'redirect' | 'form';
  status?: string;
  inResponseTo?: string;
  issuer?: string;
  key?: string;
}

/**
 * node-saml service providers registered at Signoff, whose back-channel SingleLogoutService endpoints
 * (SOAP and server-side POST) are one recording server on 127.0.0.1. Each SP signs what it sends with
 * its own key (SHA-256) and checks InResponseTo always.
 */
export class SamlSpFarm {
  readonly received: ReceivedLogout[] = [];
  /** SPs whose back channel answers 503, as an SP that is down would. */
  readonly down = new Set<string>();
  /** How each SP answers a server-side POST (PostReply; `empty` when not set). */
  readonly postReplies = new Map<string, PostReply>();
  /** Paths of the GET requests that reached the farm (its pages: a redirect that was followed would land here). */
  readonly pageHits: string[] = [];
  readonly sps = new Map<string, SAML>();
  /** Each SP's private key (PEM), for tests that sign as the SP without node-saml. */
  private readonly keys = new Map<string, string>();
  base = '';
  private readonly server: Server = createServer(
    (req, res) =>
      void this.backchannel(req).then(({ status, type, text, location }) =>
        res.writeHead(status, { 'content-type': type, ...(location ? { location } : {}) }).end(text),
      ),
  );

  private constructor(
    private readonly t: TestApp,
    readonly idpCert: string,
  ) {}

  static async start(t: TestApp): Promise<SamlSpFarm> {
    const farm = new SamlSpFarm(t, await idpCertificate(t));
    await new Promise<void>((resolve) => farm.server.listen(0, '127.0.0.1', resolve));
    farm.base = `http://127.0.0.1:${(farm.server.address() as AddressInfo).port}`;
    return farm;
  }

  /** A node-saml SP `name` whose SingleLogoutService is `binding` (at the recording server, or `location`). */
  async add(
    name: string,
    binding: SlsBinding,
    logoutMethod: LogoutMethod,
    options: Partial<SpImportOptions> & { location?: string } = {},
  ): Promise<SAML> {
    const keys = await spKeys(`${name}.example`);
    const sp = nodeSamlSp({ url: this.t.url, cert: this.idpCert }, `https://${name}.example`, keys.privateKey);
    this.sps.set(name, sp);
    this.keys.set(name, keys.privateKey);
    const location =
      options.location ??
      `${this.base}/${name}/${binding === 'SOAP' ? 'soap' : binding === 'HTTP-POST' ? 'post' : 'redirect'}`;
    const metadata = nodeSamlMetadata(sp, keys.certificate, binding, location);
    await this.t.app
      .get(SamlSpsService)
      .import(parseSpMetadata(metadata), { logoutMethod, slug: name, ...options }, SYSTEM);
    return sp;
  }

  keyOf(name: string): string {
    return this.keys.get(name)!;
  }

  private postReply(name: string, requestId: string) {
    const reply = this.postReplies.get(name) ?? { how: 'empty' };
    return postReplyOf({ t: this.t, base: this.base, key: this.keys.get(name)! }, name, requestId, reply);
  }

  /**
   * A user of their own signed in, in a browser of their own, at each of these SPs (node-saml checks
   * each Response); with the SessionIndex each SP was given, by SP name.
   */
  async freshUserSignedIn(...names: string[]) {
    const signedIn = await freshUserSignedIn(this.t);
    const sessionIndexes: Record<string, string> = {};
    for (const name of names) {
      const sp = this.sps.get(name)!;
      const { fields } = await samlSignIn(signedIn.browser, await sp.getAuthorizeUrlAsync('', undefined, {}), signedIn);
      sessionIndexes[name] = (
        await sp.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse })
      ).profile!.sessionIndex!;
    }
    return { ...signedIn, sessionIndexes };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async backchannel(
    req: IncomingMessage,
  ): Promise<{ status: number; type: string; text: string; location?: string }> {
    const url = new URL(req.url!, 'http://x');
    const name = url.pathname.split('/')[1];
    const sp = this.sps.get(name)!;
    if (req.method === 'GET') {
      this.pageHits.push(url.pathname);
      return { status: 200, type: 'text/html', text: `<!doctype html><title>${name}</title>signed out` };
    }
    const text = await readBody(req);
    if (this.down.has(name)) return { status: 503, type: 'text/plain', text: 'down' };
    try {
      if (url.pathname.endsWith('/soap')) {
        const request = /<samlp:LogoutRequest[\s\S]*<\/samlp:LogoutRequest>/.exec(text)![0];
        const { profile } = await sp.validatePostRequestAsync({ SAMLRequest: Buffer.from(request).toString('base64') });
        this.received.push({
          sp: name,
          binding: 'soap',
          nameID: profile!.nameID,
          sessionIndex: profile!.sessionIndex!,
          reason: reasonOf(request),
        });
        const answer = logoutResponseXml({
          issueInstant: new Date().toISOString(),
          inResponseTo: profile!.ID!,
          issuer: `https://${name}.example/metadata`,
          status: STATUS.success,
        });
        return { status: 200, type: 'text/xml', text: soapEnvelope(answer) };
      }
      const fields = Object.fromEntries(new URLSearchParams(text));
      const { profile } = await sp.validatePostRequestAsync(fields);
      this.received.push({
        sp: name,
        binding: 'post',
        nameID: profile!.nameID,
        sessionIndex: profile!.sessionIndex!,
        reason: reasonOf(Buffer.from(fields.SAMLRequest, 'base64').toString()),
      });
      return this.postReply(name, profile!.ID!);
    } catch (error) {
      return { status: 400, type: 'text/plain', text: String(error) };
    }
  }
}

/** How an SP answers Signoff's server-side POST, as PostReply describes. */
function postReplyOf(
  farm: { t: TestApp; base: string; key: string },
  name: string,
  requestId: string,
  reply: PostReply,
): { status: number; type: string; text: string; location?: string } {
  if (reply.how === 'empty') return { status: 200, type: 'text/plain', text: '' };
  if (reply.how === 'page') return { status: 302, type: 'text/plain', text: '', location: `${farm.base}/${name}/page` };
  const slo = `${farm.t.url}/saml/slo`;
  const xml = logoutResponseXml({
    issueInstant: new Date().toISOString(),
    destination: slo,
    inResponseTo: reply.inResponseTo ?? requestId,
    issuer: reply.issuer ?? `https://${name}.example/metadata`,
    status: reply.status ?? STATUS.success,
  });
  const key = reply.key ?? farm.key;
  if (reply.how === 'redirect')
    return {
      status: 302,
      type: 'text/plain',
      text: '',
      location: `${slo}?${redirectQuery(xml, key, { field: 'SAMLResponse' })}`,
    };
  return {
    status: 200,
    type: 'text/html',
    text:
      `<!doctype html><title>${name}</title><form method="post" action="${slo}">` +
      `<input type="hidden" name="SAMLResponse" value="${postField(signEnveloped(xml, key))}">` +
      '</form><script>document.forms[0].submit()</script>',
  };
}

const reasonOf = (xml: string) => /Reason="urn:oasis:names:tc:SAML:2.0:logout:([\w-]+)"/.exec(xml)?.[1] ?? '';
