import { SIGNED_OUT_PAGE } from '../support/browser';
import { LogoutDelivery, SYSTEM, UsersService } from '@signoff/core';
import type { Browser, Page } from 'playwright-core';
import { DataSource, In } from 'typeorm';
import { describeInChromium, launchChromium } from '../support/chromium';
import { signInAtSignoff } from '../support/pages';
import { SamlSpApp } from '../support/saml-sp-app';
import { startApp, type TestApp } from '../support/test-app';

let t: TestApp;
let chromium: Browser;
const apps: SamlSpApp[] = [];

describeInChromium('SAML logout in a real browser (headless Chromium)', () => {
  beforeAll(async () => {
    // Generous: under a loaded CI machine an SP's answer can take seconds; a hung SP costs the last test this long.
    t = await startApp({ FRONTCHANNEL_TIMEOUT: '8s' }, { withWorker: true });
    for (const name of ['alice', 'bob', 'carol'])
      await t.app.get(UsersService).create({ username: name, password: `${name} password` }, SYSTEM);
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    for (const app of apps) await app.close();
    await t?.close();
  });

  async function spApp(
    name: string,
    sls: 'HTTP-Redirect' | 'HTTP-POST',
    method: 'frontchannel_iframe' | 'frontchannel_native',
  ) {
    const app = await SamlSpApp.start(t, name, sls, method);
    apps.push(app);
    return app;
  }

  /** Signs in at Signoff, then at each SP through SSO in the same tab. */
  async function signIn(username: string, sps: SamlSpApp[]): Promise<Page> {
    const page = await (await chromium.newContext()).newPage();
    await signInAtSignoff(page, t.url, username, `${username} password`);
    for (const sp of sps) {
      await page.goto(`${sp.url}/login`);
      await page.waitForURL(`${sp.url}/acs`);
      expect(await page.textContent('h1')).toBe(`${sp.name}: signed in`);
    }
    return page;
  }

  const deliveriesOf = (sps: SamlSpApp[]) =>
    t.app
      .get(DataSource)
      .getRepository(LogoutDelivery)
      .find({
        where: { provider: { slug: In(sps.map((sp) => sp.name)) } },
        relations: { provider: true },
      });

  it('signs out of Redirect and POST SPs in iframes, each settled by its verified LogoutResponse', async () => {
    const sps = [
      await spApp('frame-redirect', 'HTTP-Redirect', 'frontchannel_iframe'),
      await spApp('frame-post', 'HTTP-POST', 'frontchannel_iframe'),
    ];
    const page = await signIn('alice', sps);
    await page.goto(`${t.url}/logout`);
    await page.click('button[type=submit]');
    await page.waitForURL(SIGNED_OUT_PAGE, { timeout: 20_000 });
    for (const sp of sps)
      expect(sp.logoutRequests).toEqual([{ nameID: sp.profile!.nameID, sessionIndex: sp.profile!.sessionIndex }]);
    const deliveries = await deliveriesOf(sps);
    expect(deliveries.map((delivery) => [delivery.provider.slug, delivery.channel, delivery.status]).sort()).toEqual([
      ['frame-post', 'frontchannel_saml_iframe', 'succeeded'],
      ['frame-redirect', 'frontchannel_saml_iframe', 'succeeded'],
    ]);
    // Settled by the SP's answer to our request, not by a page load.
    for (const delivery of deliveries)
      expect(delivery.attemptLog.at(-1)).toMatchObject({ result: 'succeeded', messageId: delivery.messageId });
  });

  it('walks native Redirect and POST SPs in the main tab, then answers the SP that started the logout', async () => {
    const starter = await spApp('starter', 'HTTP-Redirect', 'frontchannel_iframe');
    const chain = [
      await spApp('native-redirect', 'HTTP-Redirect', 'frontchannel_native'),
      await spApp('native-post', 'HTTP-POST', 'frontchannel_native'),
    ];
    const page = await signIn('bob', [starter, ...chain]);
    await page.goto(`${starter.url}/logout`);
    await page.waitForURL(`${starter.url}/slo?**`, { timeout: 15_000 });
    expect(await page.textContent('h1')).toBe('starter: signed out');
    expect(starter.logoutResponses).toEqual([{ relayState: 'sp-relay' }]);
    for (const sp of chain)
      expect(sp.logoutRequests).toEqual([{ nameID: sp.profile!.nameID, sessionIndex: sp.profile!.sessionIndex }]);
    const deliveries = await deliveriesOf(chain);
    expect(deliveries.map((delivery) => delivery.status)).toEqual(['succeeded', 'succeeded']);
    await page.goto(`${t.url}/`);
    expect(page.url()).toContain('/login');
  });

  it('does not strand the user at a native SP that never answers: it is recorded as failed and the chain goes on', async () => {
    const silent = await spApp('silent', 'HTTP-Redirect', 'frontchannel_native');
    const after = await spApp('after', 'HTTP-POST', 'frontchannel_native');
    const page = await signIn('carol', [silent, after]);
    silent.hang = true;
    await page.goto(`${t.url}/logout`);
    await page.click('button[type=submit]');
    await page.waitForURL(SIGNED_OUT_PAGE, { timeout: 25_000 });
    expect(after.logoutRequests).toHaveLength(1);
    const byApp = Object.fromEntries(
      (await deliveriesOf([silent, after])).map((delivery) => [delivery.provider.slug, delivery]),
    );
    expect(byApp.silent).toMatchObject({
      status: 'failed',
      lastError: 'the application did not answer its logout request',
    });
    expect(byApp.after.status).toBe('succeeded');
  });
});
