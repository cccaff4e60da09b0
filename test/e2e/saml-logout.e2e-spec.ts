import { BACKCHANNELS, FINAL_STATUSES, IdpSession, LogoutDelivery, SYSTEM, UsersService } from '@signoff/core';
import { parseSpMetadata, SamlSpsService } from '@signoff/saml';
import * as samlify from 'samlify';
import request from 'supertest';
import { DataSource, IsNull } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { samlSignIn, unescapeHtml } from '../support/saml';
import { SamlSpFarm } from '../support/saml-sps';
import { spKeys } from '../support/sp-keys';
import { startApp, type TestApp } from '../support/test-app';

let t: TestApp;
let farm: SamlSpFarm;
let token: string;

beforeAll(async () => {
  t = await startApp({}, { withWorker: true });
  await t.app
    .get(UsersService)
    .create({ username: 'alice', password: 'alice password', email: 'alice@example.com' }, SYSTEM);
  farm = await SamlSpFarm.start(t);
  const root = await t.app
    .get(UsersService)
    .create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
  token = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
});

/** A fresh user signed in, in one browser, at each of these node-saml SPs; returns the browser and the SPs' SessionIndexes. */
async function signedInAt(...names: string[]) {
  const { browser, username, sessionIndexes } = await farm.freshUserSignedIn(...names);
  const session = await t.app
    .get(DataSource)
    .getRepository(IdpSession)
    .findOneByOrFail({ user: { username }, endedAt: IsNull() });
  return { browser, username, session, sessionIndexes };
}

const receivedBy = (sessionIndex: string) =>
  eventually(async () => farm.received.find((entry) => entry.sessionIndex === sessionIndex) ?? null);
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
    for (const [name, sp] of [
      ['soapsp', soap],
      ['postsp', post],
      ['framesp', redirect],
    ] as const) {
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
    const { profile: framed } = await redirect.validateRedirectAsync(
      Object.fromEntries(new URLSearchParams(query)),
      query,
    );
    expect(framed).toMatchObject({ nameID: issued.framesp.nameID, sessionIndex: issued.framesp.sessionIndex });

    await eventually(async () => farm.received.length >= 2 && rp!.rp.logoutTokens.length >= 1);
    expect(farm.received).toEqual(
      expect.arrayContaining([
        { sp: 'soapsp', binding: 'soap', ...issued.soapsp, reason: 'user' },
        { sp: 'postsp', binding: 'post', ...issued.postsp, reason: 'user' },
      ]),
    );
    expect(rp!.rp.logoutTokens).toHaveLength(1);
    // An SP records the request before it answers, and the worker records the answer after that: wait
    // for every back-channel delivery's outcome, not for the message's arrival.
    const allDeliveries = () =>
      t.app
        .get(DataSource)
        .getRepository(LogoutDelivery)
        .find({ relations: { provider: true } });
    await eventually(async () => {
      const backchannel = (await allDeliveries()).filter((delivery) => BACKCHANNELS.includes(delivery.channel));
      return backchannel.length === 3 && backchannel.every((delivery) => FINAL_STATUSES.includes(delivery.status));
    });
    const deliveries = await allDeliveries();
    const byApp = Object.fromEntries(
      deliveries.map((delivery) => [delivery.provider.slug, `${delivery.channel}:${delivery.status}`]),
    );
    expect(byApp).toMatchObject({
      soapsp: 'backchannel_saml:succeeded',
      postsp: 'backchannel_saml:succeeded',
      framesp: 'frontchannel_saml_iframe:pending',
    });
  });
});

describe('every way a session ends reaches SAML SPs', () => {
  beforeAll(async () => {
    await farm.add('adminsoap', 'SOAP', 'backchannel');
    await farm.add('adminpost', 'HTTP-POST', 'backchannel');
  });

  it('an administrator deleting the session: a LogoutRequest with Reason admin', async () => {
    const { session, sessionIndexes, browser } = await signedInAt('adminsoap', 'adminpost');
    const ended = await request(t.url).delete(`/api/v1/sessions/${session.id}`).set('Authorization', `Bearer ${token}`);
    expect(ended.status).toBe(202);
    expect(await receivedBy(sessionIndexes.adminsoap)).toMatchObject({
      sp: 'adminsoap',
      binding: 'soap',
      reason: 'admin',
    });
    expect(await receivedBy(sessionIndexes.adminpost)).toMatchObject({
      sp: 'adminpost',
      binding: 'post',
      reason: 'admin',
    });
    expect(await browser.signedInAs()).toBeNull();
  });

  it('an administrator deactivating the user: every SP of every session is told', async () => {
    const { username, sessionIndexes } = await signedInAt('adminsoap');
    const user = (await t.app.get(UsersService).findByUsername(username))!;
    const deactivated = await request(t.url)
      .post(`/api/v1/users/${user.id}/deactivate`)
      .set('Authorization', `Bearer ${token}`);
    expect(deactivated.status).toBe(202);
    expect(await receivedBy(sessionIndexes.adminsoap)).toMatchObject({ sp: 'adminsoap', reason: 'admin' });
  });

  it("an OIDC RP's RP-initiated logout (end_session with its id_token_hint)", async () => {
    const oidc = await registerClient(t, { post_logout_redirect_uris: ['https://rp.example/bye'] });
    try {
      const { browser, sessionIndexes, username } = await signedInAt('adminsoap');
      const { tokens } = await login(oidc, browser, { username, password: 'user password' });
      const response = await browser.get(
        `/oauth2/end_session?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent('https://rp.example/bye')}&state=s1`,
      );
      expect(response.status).toBe(303);
      expect(response.headers.location).toBe('https://rp.example/bye?state=s1');
      expect(await receivedBy(sessionIndexes.adminsoap)).toMatchObject({
        sp: 'adminsoap',
        binding: 'soap',
        reason: 'user',
      });
    } finally {
      await oidc.rp.stop();
    }
  });
});

describe('samlify as the SP', () => {
  it("verifies our enveloped-signed LogoutRequest from the logout page's POST iframe", async () => {
    samlify.setSchemaValidator({ validate: async () => "skipped: the SP's schema validation is not under test" });
    const keys = await spKeys('books.example');
    const idp = samlify.IdentityProvider({ metadata: (await request(t.url).get('/saml/metadata')).text });
    const sp = samlify.ServiceProvider({
      entityID: 'https://books.example/sp',
      privateKey: keys.privateKey,
      signingCert: keys.certificate,
      wantLogoutRequestSigned: true,
      assertionConsumerService: [
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: 'https://books.example/acs' },
      ],
      singleLogoutService: [
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: 'https://books.example/slo' },
      ],
    });
    await t.app
      .get(SamlSpsService)
      .import(
        parseSpMetadata(sp.getMetadata()),
        { nameIdSource: 'username', logoutMethod: 'frontchannel_iframe', slug: 'books' },
        SYSTEM,
      );
    await t.app.get(UsersService).create({ username: 'erin', password: 'erin password' }, SYSTEM);
    const browser = new Browser(t.url);
    await browser.login('erin', 'erin password');
    const { context } = sp.createLoginRequest(idp, 'redirect') as { context: string };
    const { fields } = await samlSignIn(browser, context, { username: 'erin', password: 'erin password' });
    const { extract: login } = await sp.parseLoginResponse(idp, 'post', {
      body: { SAMLResponse: fields.SAMLResponse },
    });

    await browser.get('/logout');
    const page = await browser.post('/logout', { csrf: browser.csrf });
    const form = /<form method="post" action="https:\/\/books\.example\/slo" target="fc\d+">([\s\S]*?)<\/form>/.exec(
      page.text,
    )![1];
    const samlRequest = unescapeHtml(/name="SAMLRequest" value="([^"]+)"/.exec(form)![1]);
    const { extract } = await sp.parseLogoutRequest(idp, 'post', { body: { SAMLRequest: samlRequest } });
    expect(extract.nameID).toBe('erin');
    expect(extract.sessionIndex).toBe(login.sessionIndex!.sessionIndex);
    expect(extract.signature).toBeTruthy();
  });
});
