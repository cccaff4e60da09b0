import * as client from 'openid-client';
import type { Page } from 'playwright-core';
import type { TestClient } from './relying-party';

/** Signs in at Signoff's login page (`baseUrl`) and waits for the home page. */
export async function signInAtSignoff(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${baseUrl}/`);
}

/**
 * The authorization code flow in a real browser that is signed in at Signoff already, redeemed with
 * openid-client (PKCE, state checked); returns the ID token's `sid`. `loginHint` names the account
 * when the browser holds several.
 */
export async function signInToRpInBrowser(page: Page, rp: TestClient, loginHint?: string): Promise<string> {
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
  await page.waitForURL((current) => current.href.startsWith(rp.redirectUri));
  const tokens = await client.authorizationCodeGrant(rp.config, new URL(page.url()), {
    pkceCodeVerifier: verifier,
    expectedState: 'st',
  });
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
