import { SAML } from '@node-saml/node-saml';
import { LogoutDelivery, SigningKey, SYSTEM, UsersService } from '@signoff/core';
import { type LogoutMethod, parseSpMetadata, SamlSpsService } from '@signoff/saml';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { samlSignIn, unescapeHtml } from '../support/saml';
import { spKeys } from '../support/sp-keys';
import { startApp, type TestApp } from '../support/test-app';

let t: TestApp;
let idpCert: string;
let server: Server;
let base = '';
/** What the SPs' SingleLogoutService endpoints received, verified by node-saml as each SP would. */
const received: Array<{ sp: string; binding: string; nameID: string; sessionIndex: string }> = [];
const sps = new Map<string, SAML>();

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => resolve(text));
  });
}

beforeAll(async () => {
  t = await startApp({}, { withWorker: true });
  await t.app.get(UsersService).create({ username: 'alice', password: 'alice password', email: 'alice@example.com' }, SYSTEM);
  idpCert = (await t.app.get(DataSource).getRepository(SigningKey).findOneByOrFail({ use: 'saml', state: 'active' })).certificatePem!;
  // The back-channel SingleLogoutService endpoints of the SPs: SOAP and server-side POST.
  server = createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const sp = sps.get(url.pathname.split('/')[1])!;
    const text = await body(req);
    try {
      if (url.pathname.endsWith('/soap')) {
        const request = /<samlp:LogoutRequest[\s\S]*<\/samlp:LogoutRequest>/.exec(text)![0];
        const { profile } = await sp.validatePostRequestAsync({ SAMLRequest: Buffer.from(request).toString('base64') });
        received.push({ sp: url.pathname.split('/')[1], binding: 'soap', nameID: profile!.nameID, sessionIndex: profile!.sessionIndex! });
        res.writeHead(200, { 'content-type': 'text/xml' }).end(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp1" Version="2.0" IssueInstant="${new Date().toISOString()}" InResponseTo="${profile!.ID}"><saml:Issuer>sp</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse></soap:Body></soap:Envelope>`);
      } else {
        const { profile } = await sp.validatePostRequestAsync(Object.fromEntries(new URLSearchParams(text)));
        received.push({ sp: url.pathname.split('/')[1], binding: 'post', nameID: profile!.nameID, sessionIndex: profile!.sessionIndex! });
        res.writeHead(200).end();
      }
    } catch (error) {
      res.writeHead(400).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await rp?.rp.stop();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

/** A node-saml SP whose SingleLogoutService is the given binding at our recording server. */
async function samlSp(name: string, binding: 'SOAP' | 'HTTP-POST' | 'HTTP-Redirect', logoutMethod: LogoutMethod) {
  const keys = await spKeys(`${name}.example`);
  const sp = new SAML({
    issuer: `https://${name}.example/metadata`, callbackUrl: `https://${name}.example/acs`, logoutCallbackUrl: `https://${name}.example/slo`,
    entryPoint: `${t.url}/saml/sso`, idpIssuer: `${t.url}/saml/metadata`,
    idpCert, audience: `https://${name}.example/metadata`, wantAssertionsSigned: true, wantAuthnResponseSigned: true,
  });
  sps.set(name, sp);
  const location = `${base}/${name}/${binding === 'SOAP' ? 'soap' : binding === 'HTTP-POST' ? 'post' : 'redirect'}`;
  const metadata = sp.generateServiceProviderMetadata(null, keys.certificate)
    .replace(/<SingleLogoutService [^>]*\/>/, `<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${location}"/>`);
  await t.app.get(SamlSpsService).import(parseSpMetadata(metadata), { logoutMethod, slug: name }, SYSTEM);
  return sp;
}

let rp: TestClient | undefined;

describe('IdP-initiated SAML logout, mixed with OIDC', () => {
  it('reaches an OIDC RP, a SOAP SP and a POST SP over back channels, and a Redirect SP in an iframe, each with a request it verifies', async () => {
    rp = await registerClient(t);
    const soap = await samlSp('soapsp', 'SOAP', 'backchannel');
    const post = await samlSp('postsp', 'HTTP-POST', 'backchannel');
    const redirect = await samlSp('framesp', 'HTTP-Redirect', 'frontchannel_iframe');
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    const issued: Record<string, { nameID: string; sessionIndex: string }> = {};
    for (const [name, sp] of [['soapsp', soap], ['postsp', post], ['framesp', redirect]] as const) {
      const { fields } = await samlSignIn(browser, await sp.getAuthorizeUrlAsync('', undefined, {}));
      const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse });
      issued[name] = { nameID: profile!.nameID, sessionIndex: profile!.sessionIndex! };
    }
    await login(rp!, browser);

    await browser.get('/logout');
    const page = await browser.post('/logout', { csrf: browser.csrf });
    expect(page.status).toBe(200);
    // The Redirect SP's request is an iframe on the logout page: node-saml verifies its query signature.
    const src = unescapeHtml(/<iframe src="([^"]*\/framesp\/redirect[^"]*)"/.exec(page.text)![1]);
    const query = src.slice(src.indexOf('?') + 1);
    const { profile: framed } = await redirect.validateRedirectAsync(Object.fromEntries(new URLSearchParams(query)), query);
    expect(framed).toMatchObject({ nameID: issued.framesp.nameID, sessionIndex: issued.framesp.sessionIndex });

    await eventually(async () => received.length >= 2 && rp!.rp.logoutTokens.length >= 1);
    expect(received).toEqual(expect.arrayContaining([
      { sp: 'soapsp', binding: 'soap', ...issued.soapsp },
      { sp: 'postsp', binding: 'post', ...issued.postsp },
    ]));
    expect(rp!.rp.logoutTokens).toHaveLength(1);
    const deliveries = await t.app.get(DataSource).getRepository(LogoutDelivery).find({ relations: { provider: true } });
    const byApp = Object.fromEntries(deliveries.map((delivery) => [delivery.provider.slug, `${delivery.channel}:${delivery.status}`]));
    expect(byApp).toMatchObject({ soapsp: 'backchannel_saml:succeeded', postsp: 'backchannel_saml:succeeded', framesp: 'frontchannel_saml_iframe:pending' });
  });
});
