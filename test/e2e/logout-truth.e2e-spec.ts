import { SYSTEM, UsersService } from '@signoff/core';
import { join } from 'node:path';
import type { Browser as Chromium, BrowserContextOptions, Page } from 'playwright-core';
import { SIGNED_OUT_PAGE } from '../support/browser';
import { signInAtSignoff, signInToRpInBrowser, summaryStates } from '../support/pages';
import { describeInChromium, launchChromium } from '../support/chromium';
import { eventually } from '../support/eventually';
import { registerClient, type TestClient } from '../support/relying-party';
import { SamlSpApp } from '../support/saml-sp-app';
import { startApp, type TestApp } from '../support/test-app';

const SCREENSHOTS = join(__dirname, '..', '..', 'docs', 'screenshots');

// Browser journeys through four applications, some of which time out on purpose: more than jest's default.
jest.setTimeout(90_000);

describeInChromium('the logout page tells the truth (headless Chromium)', () => {
  let t: TestApp;
  let chromium: Chromium;
  let wiki: TestClient; // OIDC, back channel
  let chat: TestClient; // OIDC, front channel (iframe)
  let crm: SamlSpApp; // SAML, front channel in an iframe
  let hr: SamlSpApp; // SAML, front channel in the tab (native chain)

  beforeAll(async () => {
    // Two attempts of a second each: an application that is down is dead within seconds.
    t = await startApp(
      { FRONTCHANNEL_TIMEOUT: '6s', DELIVERY_ATTEMPTS: '2', DELIVERY_TIMEOUT: '1s' },
      { withWorker: true },
    );
    for (const name of ['alice', 'bob', 'carol'])
      await t.app.get(UsersService).create({ username: name, password: `${name} password 1` }, SYSTEM);
    wiki = await registerClient(t, { client_name: 'Wiki' });
    chat = await registerClient(t, { client_name: 'Chat' }, { backchannel: false, frontchannel: true });
    crm = await SamlSpApp.start(t, 'CRM', 'HTTP-Redirect', 'frontchannel_iframe');
    hr = await SamlSpApp.start(t, 'HR', 'HTTP-Redirect', 'frontchannel_native');
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    for (const rp of [wiki, chat]) await rp?.rp.stop();
    for (const sp of [crm, hr]) await sp?.close();
    await t?.close();
  });

  const shoot = (page: Page, name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  async function newPage(options: BrowserContextOptions = {}): Promise<Page> {
    return (await chromium.newContext({ viewport: { width: 800, height: 900 }, ...options })).newPage();
  }

  const signIn = (page: Page, username: string) => signInAtSignoff(page, t.url, username, `${username} password 1`);

  async function signInToSp(page: Page, sp: SamlSpApp) {
    await page.goto(`${sp.url}/login`);
    await page.waitForURL(`${sp.url}/acs`);
    expect(await page.textContent('h1')).toBe(`${sp.name}: signed in`);
  }

  /** Signs out with the confirm page's `scope`, and waits for the summary to settle (it reloads itself then). */
  async function signOut(page: Page, scope: 'account' | 'browser' | 'everywhere' = 'account') {
    await page.goto(`${t.url}/logout`);
    await page.check(`#scope-${scope}`);
    await page.click('button[type=submit]');
    await page.waitForURL(SIGNED_OUT_PAGE, { timeout: 30_000 });
    await settled(page);
  }

  const settled = (page: Page) => page.locator('#logout-status[data-settled]').waitFor({ timeout: 30_000 });

  it('names every application over every channel, says which confirmed, and "try again" reaches the one that was down', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    const sid = await signInToRpInBrowser(page, wiki);
    await signInToRpInBrowser(page, chat);
    await signInToSp(page, crm);
    await signInToSp(page, hr);
    wiki.rp.backchannelReplies = [500, 500]; // the wiki is down: both attempts fail

    await page.goto(`${t.url}/logout`);
    await shoot(page, 'logout-confirm');
    // The logout page (the iframes) names all four, back channel included, before any has answered.
    // Read from the page as it was sent: the browser may already be on its way to the next one.
    const logoutPage = page.waitForResponse(
      (response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/logout',
    );
    await page.click('button[type=submit]');
    const html = await (await logoutPage).text();
    const named = [...html.matchAll(/<span class="name">([^<]*)<\/span>/g)].map((match) => match[1]);
    expect(named.sort()).toEqual(['CRM', 'Chat', 'HR', 'Wiki']);
    await page.waitForURL(SIGNED_OUT_PAGE, { timeout: 30_000 });
    await settled(page);
    expect(await summaryStates(page)).toEqual({
      Wiki: 'did not answer',
      Chat: 'told (it cannot confirm)',
      CRM: 'signed out',
      HR: 'signed out',
    });
    const summary = await page.textContent('#logout-summary');
    expect(summary).toContain('CRM and HR signed you out.');
    expect(summary).toContain('Wiki did not confirm: you may still be signed in there.');
    expect(await page.textContent('h1')).toBe('Signed out, with exceptions');
    expect(crm.sessionEnded && hr.sessionEnded).toBe(true);
    await shoot(page, 'logout-summary-partial');

    // The wiki is back; "try again" sends its logout token once more, through the worker.
    wiki.rp.backchannelReplies = [];
    await page.click('button:has-text("Try again")');
    await page.waitForURL(SIGNED_OUT_PAGE);
    await settled(page);
    expect((await summaryStates(page)).Wiki).toBe('signed out');
    expect(wiki.rp.logoutTokens.at(-1)!.claims.sid).toBe(sid);
    expect(await page.locator('button:has-text("Try again")').count()).toBe(0);
    await shoot(page, 'logout-summary');
  });

  it('"try again" runs a front-channel logout again in this browser: an SP that did not answer its iframe, answering now', async () => {
    const page = await newPage();
    await signIn(page, 'carol');
    await signInToSp(page, crm);
    crm.hang = true; // its SingleLogoutService never answers: the frame times out
    await signOut(page);
    expect(await summaryStates(page)).toEqual({ CRM: 'did not answer' });
    crm.hang = false;
    await page.click('button:has-text("Try again")');
    // A logout page with that one frame; the SP's LogoutResponse settles it, then the summary again.
    await page.waitForURL(SIGNED_OUT_PAGE, { timeout: 30_000 });
    await settled(page);
    expect(await summaryStates(page)).toEqual({ CRM: 'signed out' });
    expect(crm.sessionEnded).toBe(true);
  });

  it('signs out every account on this browser', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    const aliceSid = await signInToRpInBrowser(page, wiki);
    await signIn(page, 'bob'); // a second account on the same browser
    const bobSid = await signInToRpInBrowser(page, wiki, 'bob');
    const before = wiki.rp.logoutTokens.length;
    await page.goto(`${t.url}/logout`);
    expect(await page.locator('#scope-browser').count()).toBe(1); // offered: two accounts here
    await signOut(page, 'browser');
    expect(await summaryStates(page)).toEqual({ Wiki: 'signed out' });
    const told = wiki.rp.logoutTokens.slice(before).map((token) => token.claims.sid);
    expect(told.sort()).toEqual([aliceSid, bobSid].sort());
    await page.goto(`${t.url}/`);
    expect(page.url()).toContain('/login');
  });

  it('signs out everywhere: the other device is told over the back channel, and what only its browser could reach is said', async () => {
    const here = await newPage();
    const there = await newPage();
    await signIn(here, 'carol');
    const hereSid = await signInToRpInBrowser(here, wiki);
    await signIn(there, 'carol');
    const thereSid = await signInToRpInBrowser(there, wiki);
    await signInToSp(there, crm); // front channel only: it can be told only in that browser
    const before = wiki.rp.logoutTokens.length;
    await signOut(here, 'everywhere');
    expect(await summaryStates(here)).toEqual({ Wiki: 'signed out', CRM: 'not reachable from here' });
    expect(await here.textContent('#logout-summary')).toContain('CRM did not confirm');
    const told = wiki.rp.logoutTokens.slice(before).map((token) => token.claims.sid);
    expect(told.sort()).toEqual([hereSid, thereSid].sort());
    await there.goto(`${t.url}/`);
    expect(there.url()).toContain('/login'); // the other device is signed out of Signoff too
    await shoot(here, 'logout-everywhere');
  });

  it('works without JavaScript: the frames load, the summary reloads itself and names every application', async () => {
    const page = await newPage({ javaScriptEnabled: false });
    await signIn(page, 'alice');
    await signInToRpInBrowser(page, wiki);
    await signInToRpInBrowser(page, chat);
    await page.goto(`${t.url}/logout`);
    await page.click('button[type=submit]');
    // The logout page: the frames load by themselves; its link goes on to the summary.
    await page.click('a#next');
    await page.waitForURL(SIGNED_OUT_PAGE);
    expect(Object.keys(await summaryStates(page)).sort()).toEqual(['Chat', 'Wiki']);
    expect(await page.locator('noscript').count()).toBeGreaterThan(0);
    // The meta refresh brings each new state: the wiki's back channel confirms without any script.
    await eventually(
      async () => {
        await page.reload();
        return (await summaryStates(page)).Wiki === 'signed out' ? true : null;
      },
      20_000,
      1000,
    );
    expect(chat.rp.frontchannel.length).toBeGreaterThan(0); // its iframe loaded without JavaScript
  });

  it('meets WCAG 2.1 AA (axe-core) on the home, sessions, password, confirm and summary pages', async () => {
    // axe is put into the page by the test, which the CSP (rightly) forbids: this context ignores it.
    const page = await newPage({ bypassCSP: true });
    await signIn(page, 'alice');
    await signInToRpInBrowser(page, wiki);
    const axe = async (what: string) => {
      await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
      const result = await page.evaluate(() =>
        (
          window as unknown as {
            axe: { run: (options: object) => Promise<{ violations: Array<{ id: string; help: string }> }> };
          }
        ).axe.run({
          runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
        }),
      );
      expect([what, result.violations.map((violation) => `${violation.id}: ${violation.help}`)]).toEqual([what, []]);
    };
    for (const path of ['/', '/account/sessions', '/account/password', '/logout']) {
      await page.goto(`${t.url}${path}`);
      await axe(path);
    }
    await page.click('button[type=submit]');
    await page.waitForURL(SIGNED_OUT_PAGE);
    await settled(page);
    await axe('summary');
  });
});
