import { LogoutDelivery, UsersService, SYSTEM } from '@signoff/core';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { samlSignIn, unescapeHtml } from '../support/saml';
import { SamlSpFarm } from '../support/saml-sps';
import { startApp, type TestApp } from '../support/test-app';

let t: TestApp;
let farm: SamlSpFarm;

beforeAll(async () => {
  t = await startApp({}, { withWorker: true });
  await t.app.get(UsersService).create({ username: 'alice', password: 'alice password', email: 'alice@example.com' }, SYSTEM);
  farm = await SamlSpFarm.start(t);
});
afterAll(async () => {
  await rp?.rp.stop();
  await farm.close();
  await t.close();
});

let rp: TestClient | undefined;

describe('IdP-initiated SAML logout, mixed with OIDC', () => {
  it('reaches an OIDC RP, a SOAP SP and a POST SP over back channels, and a Redirect SP in an iframe, each with a request it verifies', async () => {
    rp = await registerClient(t);
    const soap = await farm.add('soapsp', 'SOAP', 'backchannel');
    const post = await farm.add('postsp', 'HTTP-POST', 'backchannel');
    const redirect = await farm.add('framesp', 'HTTP-Redirect', 'frontchannel_iframe');
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

    await eventually(async () => farm.received.length >= 2 && rp!.rp.logoutTokens.length >= 1);
    expect(farm.received).toEqual(expect.arrayContaining([
      { sp: 'soapsp', binding: 'soap', ...issued.soapsp },
      { sp: 'postsp', binding: 'post', ...issued.postsp },
    ]));
    expect(rp!.rp.logoutTokens).toHaveLength(1);
    const deliveries = await t.app.get(DataSource).getRepository(LogoutDelivery).find({ relations: { provider: true } });
    const byApp = Object.fromEntries(deliveries.map((delivery) => [delivery.provider.slug, `${delivery.channel}:${delivery.status}`]));
    expect(byApp).toMatchObject({ soapsp: 'backchannel_saml:succeeded', postsp: 'backchannel_saml:succeeded', framesp: 'frontchannel_saml_iframe:pending' });
  });
});
