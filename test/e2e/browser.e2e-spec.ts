import { SIGNED_OUT_PAGE } from '../support/browser';
import { LogoutDelivery, SYSTEM, UsersService } from '@signoff/core';
import type { Browser, Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { describeInChromium, launchChromium } from '../support/chromium';
import { eventually } from '../support/eventually';
import { codeFlowInBrowser, signInAtSignoff } from '../support/pages';
import { registerClient, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

let t: TestApp;
let chromium: Browser;
const rps: TestClient[] = [];

describeInChromium('in a real browser (headless Chromium)', () => {
  beforeAll(async () => {
    t = await startApp({ FRONTCHANNEL_TIMEOUT: '3s' }, { withWorker: true });
    await t.app.get(UsersService).create({ username: 'alice', password: 'alice password' }, SYSTEM);
    for (let i = 0; i < 2; i++) rps.push(await registerClient(t, {}, { backchannel: false, frontchannel: true }));
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    for (const rp of rps) await rp.rp.stop();
    await t?.close();
  });

  /** The code flow in the browser: the session's `sid`, and the `session_state` its callback carried. */
  async function signInTo(page: Page, rp: TestClient) {
    const { tokens, callback } = await codeFlowInBrowser(page, rp);
    return { sid: tokens.claims()!.sid as string, sessionState: callback.searchParams.get('session_state')! };
  }

  const checkSession = async (page: Page, rp: TestClient, sessionState: string) => {
    await page.goto(`${rp.rp.url}/session-check`);
    await page.frameLocator('#op').locator('body').waitFor({ state: 'attached' });
    return page.evaluate(`window.check(${JSON.stringify(`${rp.clientId} ${sessionState}`)})`);
  };

  it('signs out of two RPs over front-channel iframes, and check_session then answers "changed"', async () => {
    const page = await (await chromium.newContext()).newPage();
    await signInAtSignoff(page, t.url, 'alice', 'alice password');

    const sessions = [await signInTo(page, rps[0]), await signInTo(page, rps[1])];
    expect(await checkSession(page, rps[0], sessions[0].sessionState)).toBe('unchanged');
    expect(await checkSession(page, rps[0], 'f'.repeat(64) + '.00')).toBe('changed');

    await page.goto(`${t.url}/logout`);
    await page.click('button[type=submit]');
    await page.waitForURL(SIGNED_OUT_PAGE, { timeout: 10_000 });
    expect(await page.textContent('h1')).toBe('You are signed out');

    for (const [index, rp] of rps.entries()) {
      expect(rp.rp.frontchannel).toHaveLength(1);
      expect(Object.fromEntries(rp.rp.frontchannel[0])).toEqual({ iss: t.url, sid: sessions[index].sid });
    }
    const deliveries = await eventually(async () => {
      const rows = await t.app
        .get(DataSource)
        .getRepository(LogoutDelivery)
        .find({ where: { channel: 'frontchannel_oidc' } });
      return rows.length === 2 && rows.every((row) => row.status === 'succeeded') ? rows : null;
    });
    expect(deliveries).toHaveLength(2);
    expect(await checkSession(page, rps[0], sessions[0].sessionState)).toBe('changed');
  });

  it('answers "error" to an origin that is not registered for the client', async () => {
    const page = await (await chromium.newContext()).newPage();
    await page.goto(`${t.url}/login`); // an origin the client never registered: the IdP's own
    const result = await page.evaluate(`new Promise((resolve) => {
      const frame = document.createElement('iframe');
      frame.src = ${JSON.stringify(`${t.url}/oauth2/check_session`)};
      frame.addEventListener('load', () => {
        window.addEventListener('message', (event) => resolve(event.data));
        frame.contentWindow.postMessage(${JSON.stringify(`${rps[0].clientId} ${'a'.repeat(64)}.00`)}, ${JSON.stringify(t.url)});
      });
      document.body.appendChild(frame);
    })`);
    expect(result).toBe('error');
  });
});
