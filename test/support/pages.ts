import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import type { TestClient } from './relying-party';

/** Fills Signoff's login form, which the page shows, and submits it. */
export async function submitLogin(page: Page, username: string, password: string): Promise<void> {
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
}

/** Signs in at Signoff's login page (`baseUrl`) and waits for the home page. */
export async function signInAtSignoff(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await submitLogin(page, username, password);
  await page.waitForURL(`${baseUrl}/`);
}

/** A relying party a browser signs in to: its openid-client configuration and its redirect URI. */
export type BrowserRp = Pick<TestClient, 'config' | 'redirectUri'>;

/**
 * The authorization code flow in a real browser, redeemed with openid-client (PKCE, state checked).
 * The browser is signed in at Signoff already, or `signInWith` is typed at the login page on the way;
 * `loginHint` names the account when the browser holds several. Returns the tokens, and the callback
 * URL, which carries the `session_state` of Session Management 1.0 (§3).
 */
export async function codeFlowInBrowser(
  page: Page,
  rp: BrowserRp,
  { loginHint, signInWith }: { loginHint?: string; signInWith?: { username: string; password: string } } = {},
): Promise<{ tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>; callback: URL }> {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: 'openid',
    state: 'st',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...(loginHint ? { login_hint: loginHint } : {}),
  });
  await page.goto(url.href);
  if (signInWith) await submitLogin(page, signInWith.username, signInWith.password);
  await page.waitForURL((current) => current.href.startsWith(rp.redirectUri));
  const callback = new URL(page.url());
  const tokens = await client.authorizationCodeGrant(rp.config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: 'st',
  });
  return { tokens, callback };
}

/** codeFlowInBrowser for a browser signed in at Signoff already; returns the ID token's `sid`. */
export async function signInToRpInBrowser(page: Page, rp: BrowserRp, loginHint?: string): Promise<string> {
  const { tokens } = await codeFlowInBrowser(page, rp, { loginHint });
  return tokens.claims()!.sid as string;
}

/**
 * What the logout summary says of each application: name → state words. The summary reloads itself
 * while it follows a logout (its script, or the no-script meta refresh): a read that meets a reload
 * reads again.
 */
export async function summaryStates(page: Page): Promise<Record<string, string | null>> {
  for (let tries = 1; ; tries++) {
    try {
      await page.waitForSelector('ul.apps');
      return Object.fromEntries(
        await page.$$eval('ul.apps li', (items) =>
          items.map((item) => [item.querySelector('.name')!.textContent, item.querySelector('.state')!.textContent]),
        ),
      );
    } catch (error) {
      if (tries === 5 || !/context was destroyed|navigat/i.test(String(error))) throw error;
    }
  }
}

/**
 * The form controls of the page that have no accessible name (no label, aria-label or text): each
 * as its HTML, [] when every control is labelled.
 */
export function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
      .filter((element) => {
        const control = element as HTMLInputElement;
        return !(control.labels?.length || control.getAttribute('aria-label') || control.textContent?.trim());
      })
      .map((element) => element.outerHTML),
  );
}

/** How wide the page's content is: the viewport's width when nothing is wider than the screen. */
export const pageWidth = (page: Page): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth);

/** Signs in at Signoff's login page on the way to `path` (a console page), and waits to be there. */
export async function signInTo(page: Page, baseUrl: string, path: string, username: string, password: string) {
  await page.goto(`${baseUrl}/login?return_to=${encodeURIComponent(path)}`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${baseUrl}${path}`);
}
