import { LogoutDelivery, SYSTEM, UsersService } from '@signoff/core';
import type { Browser as Chromium } from 'playwright-core';
import request, { type Response } from 'supertest';
import { DataSource, In } from 'typeorm';
import { Browser, SIGNED_OUT_PAGE } from '../support/browser';
import { describeInChromium, launchChromium } from '../support/chromium';
import { signInAtSignoff } from '../support/pages';
import { SamlSpApp } from '../support/saml-sp-app';
import { type AttackSp, type Issued, registerAttackSp, signInAt } from '../support/saml-attack';
import { unescapeHtml } from '../support/saml';
import { startApp, type TestApp } from '../support/test-app';

// Issue 8, item 10: the native chain's handle travels to every SP as RelayState. A participating SP
// must not be able to use it from its server (no browser cookie) to advance or skip the chain, nor to
// receive the next SP's LogoutRequest. Only the browser that started the chain may go on.

let t: TestApp;
let db: DataSource;
const sps: Record<string, AttackSp> = {};
let aliceBrowser: Browser;
let malloryBrowser: Browser;
const alice: Record<string, Issued> = {};

beforeAll(async () => {
  t = await startApp();
  db = t.app.get(DataSource);
  for (const username of ['alice', 'mallory'])
    await t.app.get(UsersService).create({ username, password: `${username} password` }, SYSTEM);
  for (const name of ['first', 'second'])
    sps[name] = await registerAttackSp(t, name, {
      import: { logoutMethod: 'frontchannel_native', requireSignedRequests: true },
    });
  aliceBrowser = new Browser(t.url);
  for (const name of ['first', 'second']) alice[name] = await signInAt(t, sps[name], aliceBrowser, 'alice');
  malloryBrowser = new Browser(t.url);
  await malloryBrowser.login('mallory', 'mallory password');
});
afterAll(() => t?.close());

/** The Redirect-binding LogoutRequest a chain step page sends the browser to. */
function stepLink(response: Response): URL {
  expect(response.status).toBe(200);
  return new URL(unescapeHtml(/<a id="go" href="([^"]+)"/.exec(response.text)![1]).replace(/&amp;/g, '&'));
}

const deliveryOf = (sp: AttackSp) =>
  db.getRepository(LogoutDelivery).findOneOrFail({
    where: { provider: { slug: sp.entityId.split('//')[1].split('.')[0] } },
    relations: { provider: true },
  });

function expectForeign(response: Response): void {
  expect([response.status, response.headers.location]).toEqual([403, undefined]);
  expect(response.text).toContain('started in another browser');
  expect(response.text).not.toContain('SAMLRequest');
}

describe('the native chain is bound to the browser that started it (issue 8, item 10)', () => {
  it("an SP's server holding the handle cannot skip or advance the chain, nor get the next SP's LogoutRequest", async () => {
    await aliceBrowser.get('/logout');
    const started = await aliceBrowser.post('/logout', { csrf: aliceBrowser.csrf });
    expect(started.status).toBe(303);
    const chainPath: string = started.headers.location;
    expect(chainPath).toMatch(/^\/logout\/chain\/[A-Za-z0-9_-]{22}$/);
    const handle = chainPath.split('/').pop()!;

    // The browser is sent to the first SP, with the chain's handle as RelayState.
    const link = stepLink(await aliceBrowser.get(chainPath));
    expect(link.searchParams.get('RelayState')).toBe(handle);
    const [current, next] =
      link.origin === new URL(sps.first.sls).origin ? [sps.first, sps.second] : [sps.second, sps.first];

    // That SP's server, without the browser: skip, wait, another user's browser — all refused.
    expectForeign(await request(t.url).get(`${chainPath}?skip=1`).set('Accept', 'text/html'));
    expectForeign(await request(t.url).get(chainPath).set('Accept', 'text/html'));
    expectForeign(await malloryBrowser.get(`${chainPath}?skip=1`));

    // It answers its own LogoutRequest from its server: its answer counts, the chain does not move on.
    const { profile } = await current.saml.validateRedirectAsync(
      Object.fromEntries(link.searchParams),
      link.search.slice(1),
    );
    const answer = new URL(await current.saml.getLogoutResponseUrlAsync(profile!, handle, {}, true));
    const recorded = await request(t.url).get(`${answer.pathname}${answer.search}`).set('Accept', 'text/html');
    expect([recorded.status, recorded.headers.location]).toEqual([303, chainPath]);
    expect((await deliveryOf(current)).status).toBe('succeeded');
    expectForeign(await request(t.url).get(chainPath).set('Accept', 'text/html'));

    // Nothing was built for the next SP.
    expect(await deliveryOf(next)).toMatchObject({ status: 'pending', messageId: null });

    // The browser that started the chain goes on to the next SP.
    const nextLink = stepLink(await aliceBrowser.get(chainPath));
    expect([nextLink.origin, nextLink.searchParams.get('RelayState')]).toEqual([new URL(next.sls).origin, handle]);
    expect((await deliveryOf(next)).messageId).not.toBeNull();
  });
});

describeInChromium('the bound chain in a real browser, with SPs on another site answering over HTTP-POST', () => {
  let chromium: Chromium;
  const apps: SamlSpApp[] = [];
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    for (const app of apps) await app.close();
  });

  it('goes on through every SP: the cookie-less cross-site POST of each LogoutResponse does not strand the browser', async () => {
    await t.app.get(UsersService).create({ username: 'carol', password: 'carol password' }, SYSTEM);
    // localhost is another site than Signoff's 127.0.0.1: the SPs' POSTs arrive without the SameSite=Lax cookie.
    for (const name of ['post-one', 'post-two'])
      apps.push(
        await SamlSpApp.start(t, name, 'HTTP-Redirect', 'frontchannel_native', {
          host: 'localhost',
          answerWith: 'post',
        }),
      );
    const page = await (await chromium.newContext()).newPage();
    await signInAtSignoff(page, t.url, 'carol', 'carol password');
    for (const sp of apps) {
      await page.goto(`${sp.url}/login`);
      await page.waitForURL(`${sp.url}/acs`);
    }
    await page.goto(`${t.url}/logout`);
    await page.click('button[type=submit]');
    await page.waitForURL(SIGNED_OUT_PAGE, { timeout: 20_000 });
    for (const sp of apps)
      expect(sp.logoutRequests).toEqual([{ nameID: sp.profile!.nameID, sessionIndex: sp.profile!.sessionIndex }]);
    const deliveries = await db
      .getRepository(LogoutDelivery)
      .find({ where: { provider: { slug: In(apps.map((sp) => sp.name)) } } });
    expect(deliveries.map((delivery) => [delivery.channel, delivery.status])).toEqual([
      ['frontchannel_saml_native', 'succeeded'],
      ['frontchannel_saml_native', 'succeeded'],
    ]);
  });
});
