import { IdpSession, LogoutDelivery, OidcSession, SYSTEM, UsersService } from '@signoff/core';
import type { Browser as Chromium, Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { describeInChromium, launchChromium } from '../support/chromium';
import { eventually } from '../support/eventually';
import { codeFlowInBrowser, signInAtSignoff } from '../support/pages';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

// Issue 8, item 5: end_session never sends an RP on as "signed out" without having run the logout
// of the session its id_token_hint names (RP-Initiated Logout 1.0 §2), however the request came.

let t: TestApp;
let rp: TestClient;
let counter = 0;

beforeAll(async () => {
  t = await startApp({ FRONTCHANNEL_TIMEOUT: '3s' }, { withWorker: true });
  rp = await registerClient(t);
});
afterAll(async () => {
  await rp.rp.stop();
  await t.close();
});

async function newUser() {
  const username = `user${++counter}`;
  await t.app.get(UsersService).create({ username, password: 'a user password' }, SYSTEM);
  return { username, password: 'a user password' };
}

/** The IdP session an ID token's sid belongs to, as stored now. */
async function idpSessionOf(sid: string): Promise<IdpSession> {
  const db = t.app.get(DataSource);
  const oidc = await db.getRepository(OidcSession).findOneByOrFail({ sid });
  return db.getRepository(IdpSession).findOneByOrFail({ id: oidc.idpSessionId });
}
const logoutTokensFor = (sid: string) => rp.rp.logoutTokens.filter((token) => token.claims.sid === sid);

describeInChromium(
  'a cross-site POST from the RP (headless Chromium; the RP on localhost, Signoff on 127.0.0.1)',
  () => {
    let chromium: Chromium;
    beforeAll(async () => {
      chromium = await launchChromium();
    });
    afterAll(async () => {
      await chromium?.close();
    });

    /** Signs in at Signoff, then to the RP: its tokens. */
    async function signIn(page: Page, { username, password }: { username: string; password: string }) {
      await signInAtSignoff(page, t.url, username, password);
      return (await codeFlowInBrowser(page, rp)).tokens;
    }

    it('relays the POST from its own origin, runs the logout, and only then redirects with state', async () => {
      const page = await (await chromium.newContext()).newPage();
      const tokens = await signIn(page, await newUser());
      const sid = tokens.claims()!.sid as string;
      // The RP's logout page on another site (localhost is not the same site as 127.0.0.1): a form POST.
      const rpPage = `${rp.rp.url.replace('127.0.0.1', 'localhost')}/sign-out`;
      const fields = {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: `${rp.rp.url}/logged-out`,
        state: 'xs-state',
      };
      await page.route(rpPage, (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: `<!doctype html><form method="post" action="${t.url}/oauth2/end_session">${Object.entries(fields)
            .map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`)
            .join('')}</form><script>document.forms[0].submit()</script>`,
        }),
      );
      await page.goto(rpPage);
      await page.waitForURL((current) => current.href.startsWith(`${rp.rp.url}/logged-out`), { timeout: 15_000 });

      expect(new URL(page.url()).searchParams.get('state')).toBe('xs-state');
      expect((await idpSessionOf(sid)).endedAt).not.toBeNull();
      expect(await eventually(async () => logoutTokensFor(sid).length)).toBe(1);
      // The browser really is signed out: Signoff's home sends it to the login page.
      await page.goto(`${t.url}/`);
      expect(new URL(page.url()).pathname).toBe('/login');
    });
  },
);

describe('an id_token_hint naming a live session this browser does not carry (another browser, a lost cookie)', () => {
  const endSession = (browser: Browser, params: Record<string, string>) =>
    browser.get(`/oauth2/end_session?${new URLSearchParams(params)}`);

  it("ends only that client's session there, through the engine, and tells the RP; the IdP session, its other applications and the user stay untouched and unnamed", async () => {
    const other = await registerClient(t);
    try {
      const user = await newUser();
      const home = new Browser(t.url);
      const { tokens } = await login(rp, home, user);
      const { tokens: otherTokens } = await login(other, home);
      const sid = tokens.claims()!.sid as string;
      // Whoever holds the ID token, in a browser that is not the user's.
      const response = await endSession(new Browser(t.url), {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: `${rp.rp.url}/logged-out`,
        state: 's1',
      });
      expect(response.status).toBe(303);
      expect(response.headers.location).toBe(`${rp.rp.url}/logged-out?state=s1`);
      expect(response.text ?? '').not.toContain(user.username);

      const db = t.app.get(DataSource);
      expect((await db.getRepository(OidcSession).findOneByOrFail({ sid })).endedAt).not.toBeNull();
      expect(await eventually(async () => logoutTokensFor(sid).length)).toBe(1);
      expect((await idpSessionOf(sid)).endedAt).toBeNull();
      expect(
        (await db.getRepository(OidcSession).findOneByOrFail({ sid: otherTokens.claims()!.sid as string })).endedAt,
      ).toBeNull();
      expect(await home.signedInAs()).toBe(user.username);
      expect(other.rp.logoutTokens).toHaveLength(0);
      expect(await db.getRepository(LogoutDelivery).countBy({ providerId: other.providerId })).toBe(0);
    } finally {
      await other.rp.stop();
    }
  });

  it('goes straight to the post_logout_redirect_uri only when the hint names a session that has already ended', async () => {
    const browser = new Browser(t.url);
    const { tokens } = await login(rp, browser, await newUser());
    await endSession(browser, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: `${rp.rp.url}/logged-out`,
      state: 'a',
    });
    expect((await idpSessionOf(tokens.claims()!.sid as string)).endedAt).not.toBeNull(); // its own browser: ended at once
    const again = await endSession(new Browser(t.url), {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: `${rp.rp.url}/logged-out`,
      state: 'b',
    });
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe(`${rp.rp.url}/logged-out?state=b`);
  });
});
