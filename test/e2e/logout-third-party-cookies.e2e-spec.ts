import { SYSTEM, UsersService } from '@signoff/core';
import { ExpirySweeper } from '@signoff/worker';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { SIGNED_OUT_PAGE } from '../support/browser';
import { signInAtSignoff, signInToRpInBrowser, summaryStates } from '../support/pages';
import { CHROMIUM, CHROMIUM_ARGS, describeInChromium } from '../support/chromium';
import { eventually } from '../support/eventually';
import { RP_SESSION_COOKIE, registerClient, type TestClient } from '../support/relying-party';
import { SamlSpApp } from '../support/saml-sp-app';
import { startApp, type TestApp } from '../support/test-app';

/**
 * The user's logout with third-party cookies blocked (issue 12: "works without third-party cookies"),
 * the applications on sites other than Signoff's. Cookies ignore ports, so 127.0.0.1:A and 127.0.0.1:B
 * are one site and blocking third-party cookies would change nothing there: the browser reaches each
 * application at a name of its own (`wiki.test`, `chat.test`, `crm.test`, which Chromium's
 * --host-resolver-rules maps to 127.0.0.1, where their servers listen), Signoff stays at 127.0.0.1.
 *
 * Third-party cookies are blocked by the user's own setting, "Block third-party cookies"
 * (chrome://settings/cookies), written into the profile before Chromium starts: the pref
 * `profile.cookie_controls_mode` = 1, content_settings::CookieControlsMode::kBlockThirdParty (0 is kOff,
 * 2 kIncognitoOnly). Playwright's ordinary contexts are off-the-record, and what a profile without the
 * pref does differs between builds (Debian's Chromium 156 already blocks), so a persistent profile with
 * the pref set says what is tested. The suite checks that it bites: the front-channel application's
 * own SameSite=None; Secure cookie (the only kind a cross-site frame may carry) is in the browser, yet
 * does not come with its request inside Signoff's logout page, and a cookie it sets there is not kept.
 * With the pref at 0 (kOff) the cookie comes, and the check fails.
 *
 * SameSite=None needs Secure, and Secure cookies need a secure origin: the applications' http origins
 * are made secure contexts (--unsafely-treat-insecure-origin-as-secure), as https would make them in
 * production. Without that no application could have a cookie in a frame, blocked or not, and the
 * check above could not fail.
 */

/** content_settings::CookieControlsMode::kBlockThirdParty: the user's "Block third-party cookies". */
const BLOCK_THIRD_PARTY_COOKIES = 1;

// A browser started per test, each with a whole journey through three applications: more than jest's default.
jest.setTimeout(60_000);

describeInChromium('logout with third-party cookies blocked, applications on other sites (headless Chromium)', () => {
  let t: TestApp;
  let wiki: TestClient; // OIDC, back channel, at wiki.test
  let chat: TestClient; // OIDC, front channel (iframe), at chat.test, with a session cookie of its own
  let crm: SamlSpApp; // SAML, front channel in an iframe, at crm.test
  const browsers: Array<{ context: BrowserContext; profile: string }> = [];

  beforeAll(async () => {
    t = await startApp(
      // The applications' http://*.test URIs are not loopback: OIDC takes them from confidential
      // clients only with OIDC_ALLOW_HTTP (SAML endpoints take http as they are).
      { FRONTCHANNEL_TIMEOUT: '5s', OIDC_ALLOW_HTTP: 'true' },
      { withWorker: true },
    );
    for (const name of ['alice', 'bob'])
      await t.app.get(UsersService).create({ username: name, password: `${name} password 1` }, SYSTEM);
    wiki = await registerClient(t, { client_name: 'Wiki' }, { host: 'wiki.test' });
    chat = await registerClient(
      t,
      { client_name: 'Chat' },
      { backchannel: false, frontchannel: true, host: 'chat.test', sessionCookie: true },
    );
    crm = await SamlSpApp.start(t, 'CRM', 'HTTP-Redirect', 'frontchannel_iframe', { host: 'crm.test' });
  });
  afterAll(async () => {
    for (const { context, profile } of browsers) {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
    for (const rp of [wiki, chat]) await rp?.rp.stop();
    await crm?.close();
    await t?.close();
  });

  /** A fresh Chromium profile with third-party cookies blocked, reaching *.test at 127.0.0.1. */
  async function browser(options: { javaScriptEnabled: boolean }): Promise<Page> {
    const profile = mkdtempSync(join(tmpdir(), 'signoff-3pc-'));
    mkdirSync(join(profile, 'Default'));
    writeFileSync(
      join(profile, 'Default', 'Preferences'),
      JSON.stringify({ profile: { cookie_controls_mode: BLOCK_THIRD_PARTY_COOKIES } }),
    );
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        ...CHROMIUM_ARGS,
        '--host-resolver-rules=MAP *.test 127.0.0.1',
        `--unsafely-treat-insecure-origin-as-secure=${[wiki.rp.url, chat.rp.url, crm.url].join(',')}`,
      ],
      viewport: { width: 800, height: 900 },
      ...options,
    });
    browsers.push({ context, profile });
    return context.pages()[0] ?? context.newPage();
  }

  /** The cookies the browser holds for the host of `url` (Playwright's URL filter leaves Secure ones out on http). */
  async function cookiesOf(page: Page, url: string) {
    const host = new URL(url).hostname;
    return (await page.context().cookies()).filter((cookie) => cookie.domain === host);
  }

  const signIn = (page: Page, username: string) => signInAtSignoff(page, t.url, username, `${username} password 1`);

  /** SAML SSO at the SP; without JavaScript the user presses the auto-post page's Continue button. */
  async function signInToSp(page: Page, sp: SamlSpApp, javaScript = true) {
    await page.goto(`${sp.url}/login`);
    if (!javaScript) await page.click('button:has-text("Continue")');
    await page.waitForURL(`${sp.url}/acs`);
    expect(await page.textContent('h1')).toBe(`${sp.name}: signed in`);
  }

  it('signs out of a back-channel, an OIDC front-channel and a SAML iframe application on other sites, and says what each confirmed', async () => {
    const page = await browser({ javaScriptEnabled: true });
    await signIn(page, 'alice');
    const wikiSid = await signInToRpInBrowser(page, wiki);
    const chatSid = await signInToRpInBrowser(page, chat);
    await signInToSp(page, crm);
    // The chat's own session, kept when the user came back to it (first party): one a frame could carry.
    expect(await cookiesOf(page, chat.rp.url)).toMatchObject([
      { name: RP_SESSION_COOKIE, sameSite: 'None', secure: true },
    ]);

    await page.goto(`${t.url}/logout`);
    await page.click('button[type=submit]');
    await page.waitForURL(SIGNED_OUT_PAGE, { timeout: 30_000 });
    await page.locator('#logout-status[data-settled]').waitFor({ timeout: 30_000 });

    // Third-party cookies really are blocked: inside Signoff's logout page the chat's frame came
    // without the chat's cookie, and what it set there (RP_FRAME_COOKIE) was not kept.
    expect(chat.rp.frontchannel).toHaveLength(1);
    expect(chat.rp.frontchannelCookies).toEqual([undefined]);
    expect((await cookiesOf(page, chat.rp.url)).map((cookie) => cookie.name)).toEqual([RP_SESSION_COOKIE]);

    expect(await summaryStates(page)).toEqual({
      Wiki: 'signed out',
      Chat: 'told (it cannot confirm)',
      CRM: 'signed out',
    });
    const summary = await page.textContent('#logout-summary');
    expect(summary).toMatch(/(Wiki and CRM|CRM and Wiki) signed you out\./);
    expect(summary).toContain('Chat was told in this browser but cannot confirm.');
    expect(await page.textContent('h1')).toBe('You are signed out');

    // What each application's side knows. The SP found the session by NameID and SessionIndex (it
    // never had a cookie in the frame), answered, and Signoff verified its LogoutResponse, which came
    // back through the frame. The chat found its session by iss and sid, the only things it was sent.
    expect(crm.sessionEnded).toBe(true);
    expect(crm.logoutRequests.at(-1)!.nameID).toBe(crm.profile!.nameID);
    expect(Object.fromEntries(chat.rp.frontchannel[0])).toEqual({ iss: t.url, sid: chatSid });
    expect(wiki.rp.logoutTokens.map((token) => token.claims.sid)).toEqual([wikiSid]);
    await page.goto(`${t.url}/`);
    expect(page.url()).toContain('/login'); // and Signoff's own session is gone
  });

  it('works without JavaScript: the frames reach every application, and the page says which could not confirm', async () => {
    const page = await browser({ javaScriptEnabled: false });
    await signIn(page, 'bob');
    const wikiSid = await signInToRpInBrowser(page, wiki);
    const chatSid = await signInToRpInBrowser(page, chat);
    await signInToSp(page, crm, false);
    const told = chat.rp.frontchannel.length;

    await page.goto(`${t.url}/logout`);
    await page.click('button[type=submit]');
    // The logout page: its frames load by themselves (the window's load waits for them, the SAML one's
    // LogoutResponse included); a user without JavaScript then follows its link to the summary.
    await page.waitForLoadState('load');
    await page.click('a#next');
    await page.waitForURL(SIGNED_OUT_PAGE);
    expect(await page.locator('noscript').count()).toBeGreaterThan(0);
    // The SAML SP's LogoutResponse settled it in its frame; the wiki's back channel confirms on its own.
    const confirmed = await eventually(
      async () => {
        await page.reload();
        const now = await summaryStates(page);
        return now.Wiki === 'signed out' && now.CRM === 'signed out' ? now : null;
      },
      20_000,
      500,
    );
    expect(confirmed).toMatchObject({ Wiki: 'signed out', CRM: 'signed out' });
    expect(crm.sessionEnded).toBe(true);
    expect(wiki.rp.logoutTokens.at(-1)!.claims.sid).toBe(wikiSid);
    // The chat was reached (without its cookie: third-party cookies are blocked), but no script could
    // tell Signoff its page loaded: never "signed out" or "told".
    expect(chat.rp.frontchannel.slice(told).map((params) => Object.fromEntries(params))).toEqual([
      { iss: t.url, sid: chatSid },
    ]);
    expect(chat.rp.frontchannelCookies.slice(told)).toEqual([undefined]);
    expect((await summaryStates(page)).Chat).toBe('signing out…');

    // A logout page that never reported is given up FRONTCHANNEL_TIMEOUT + 1 min later by the worker's
    // sweep (ExpirySweeper); the clock is moved past that instead of waiting for it.
    t.clock.advance(5_000 + 60_000 + 1_000);
    await t.app.get(ExpirySweeper).sweep();
    await page.reload();
    expect(await summaryStates(page)).toEqual({ Wiki: 'signed out', Chat: 'did not answer', CRM: 'signed out' });
    expect(await page.textContent('#logout-summary')).toContain(
      'Chat did not confirm: you may still be signed in there.',
    );
    expect(await page.locator('button:has-text("Try again")').count()).toBe(1);
  });
});
