import { SYSTEM, User, UsersService } from '@signoff/core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as client from 'openid-client';
import type { Browser as Chromium, Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { describeInChromium, launchChromium } from '../support/chromium';
import { eventually } from '../support/eventually';
import { registerClient, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

/** Where the suite leaves a picture of every console page (the README links them). */
const SCREENSHOTS = join(__dirname, '..', '..', 'docs', 'screenshots');

describe('the admin console: who may use it, and what bad input does', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
    const users = t.app.get(UsersService);
    await users.create({ username: 'root', password: 'root password 1', isAdmin: true }, SYSTEM);
    await users.create({ username: 'bob', password: 'bob password 12' }, SYSTEM);
  });
  afterAll(() => t?.close());

  const userCount = () => t.app.get(DataSource).getRepository(User).count();

  it('sends nobody-signed-in to the login page, which brings them back', async () => {
    const browser = new Browser(t.url);
    const response = await browser.get('/admin/logouts?outcome=failed');
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/login?return_to=${encodeURIComponent('/admin/logouts?outcome=failed')}`);
    const login = await browser.post('/login', {
      username: 'root',
      password: 'root password 1',
      csrf: (await browser.get(response.headers.location), browser.csrf),
      return_to: '/admin/logouts?outcome=failed',
    });
    expect(login.headers.location).toBe('/admin/logouts?outcome=failed');
    expect((await browser.get('/admin/logouts?outcome=failed')).status).toBe(200);
  });

  it('refuses a signed-in user who is not an administrator, on every page and form', async () => {
    const browser = new Browser(t.url);
    await browser.login('bob', 'bob password 12');
    for (const path of ['/admin', '/admin/users', '/admin/sessions', '/admin/logouts', '/admin/users/new']) {
      const response = await browser.get(path);
      expect([path, response.status]).toEqual([path, 403]);
      expect(response.text).toContain('Only administrators may use the console.');
    }
    await browser.get('/');
    const before = await userCount();
    const post = await browser.post('/admin/users/new', {
      username: 'mallory',
      password: 'x'.repeat(16),
      csrf: browser.csrf,
    });
    expect(post.status).toBe(403);
    expect(await userCount()).toBe(before);
  });

  it('refuses a form without its CSRF token (another site posting with the admin cookie) and changes nothing', async () => {
    const browser = new Browser(t.url);
    await browser.login('root', 'root password 1');
    const before = await userCount();
    for (const csrf of [undefined, 'forged']) {
      const response = await browser.post('/admin/users/new', {
        username: 'csrf-victim',
        password: 'long enough password',
        ...(csrf ? { csrf } : {}),
      });
      expect(response.status).toBe(403);
      expect(response.text).toContain('did not come from Signoff');
    }
    expect(await userCount()).toBe(before);
  });

  it('answers bad input with the form again, the problem beside the field, and creates nothing', async () => {
    const browser = new Browser(t.url);
    await browser.login('root', 'root password 1');
    await browser.get('/admin/users/new');
    const before = await userCount();
    const bad = await browser.post('/admin/users/new', {
      username: 'carol',
      email: 'not an address',
      csrf: browser.csrf,
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/id="field-email-error"[^>]*>[^<]*email/);
    expect(bad.text).toContain('aria-invalid="true"');
    expect(bad.text).toContain('value="carol"'); // what was typed stays
    const duplicate = await browser.post('/admin/users/new', { username: 'bob', csrf: browser.csrf });
    expect(duplicate.status).toBe(409);
    expect(duplicate.text).toContain('already exists');
    expect(await userCount()).toBe(before);
  });

  it('escapes what users typed: a name with markup is text on every page', async () => {
    const browser = new Browser(t.url);
    await browser.login('root', 'root password 1');
    const created = await browser.submit('/admin/users/new', {
      username: 'markup',
      name: '<img src=x onerror=alert(1)>',
      csrf: (await browser.get('/admin/users/new'), browser.csrf),
    });
    expect(created.status).toBe(200);
    expect(created.text).not.toContain('<img src=x');
    expect(created.text).toContain('value="&lt;img src=x onerror=alert(1)>"'); // in an attribute, < and " are what must be escaped
    expect((await browser.get('/admin/users?q=markup')).text).not.toContain('<img src=x');
  });
});

describeInChromium('the admin console in Chromium', () => {
  let t: TestApp;
  let chromium: Chromium;
  let rp: TestClient;
  let admin: Page;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // Two attempts: a delivery the application refuses twice is dead within a second or two.
    t = await startApp({ DELIVERY_ATTEMPTS: '2' }, { withWorker: true });
    await t.app.get(UsersService).create({ username: 'root', password: 'root password 1', isAdmin: true }, SYSTEM);
    rp = await registerClient(t, { client_name: 'Wiki (OIDC)' });
    chromium = await launchChromium();
    admin = await (await chromium.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  });
  afterAll(async () => {
    await chromium?.close();
    await rp?.rp.stop();
    await t?.close();
  });

  const shoot = (page: Page, name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /** The user signs in to the RP in their own browser: the code flow, redeemed with openid-client. */
  async function signInToRp(page: Page, username: string, password: string): Promise<string> {
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(rp.config, {
      redirect_uri: rp.redirectUri,
      scope: 'openid',
      state: 'st',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    await page.goto(url.href);
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForURL((current) => current.href.startsWith(rp.redirectUri));
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(page.url()), {
      pkceCodeVerifier: verifier,
      expectedState: 'st',
    });
    return tokens.claims()!.sid as string;
  }

  it('a new administrator creates a user, ends their logins by deactivating them, sees a dead delivery and retries it', async () => {
    await admin.goto(`${t.url}/admin`);
    await admin.waitForURL(/\/login\?return_to=%2Fadmin$/);
    await admin.fill('#username', 'root');
    await admin.fill('#password', 'root password 1');
    await admin.click('button[type=submit]');
    await admin.waitForURL(`${t.url}/admin`);
    expect(await admin.textContent('h1')).toBe('Dashboard');

    await admin.click('nav >> text=Users');
    await admin.click('text=New user');
    await shoot(admin, 'console-user-new');
    await admin.fill('#field-username', 'carol');
    await admin.fill('#field-password', 'carol password 1');
    await admin.fill('#field-email', 'carol@example.org');
    await admin.fill('#field-name', 'Carol Example');
    await admin.click('button:has-text("Create user")');
    await admin.waitForURL(/\/admin\/users\/[0-9a-f-]{36}\?done=created/);
    expect(await admin.textContent('[role=status]')).toContain('The user was created.');

    const carol = await (await chromium.newContext()).newPage();
    const sid = await signInToRp(carol, 'carol', 'carol password 1');

    await admin.goto(`${t.url}/admin/sessions?user=carol`);
    expect(await admin.textContent('tbody')).toContain('Wiki (OIDC)');
    await shoot(admin, 'console-sessions');
    await admin.goto(`${t.url}/admin`);
    await shoot(admin, 'console-dashboard');

    // The application refuses both attempts: the delivery dies.
    rp.rp.backchannelReplies = [500, 500];
    await admin.goto(`${t.url}/admin/users?q=carol`);
    await admin.click('text=carol');
    await shoot(admin, 'console-user');
    await admin.click('button:has-text("Deactivate")');
    await admin.waitForURL(/\/admin\/logouts\/[0-9a-f-]{36}$/);
    expect(await admin.textContent('dl.facts')).toContain('user deactivated');
    // The page follows the delivery by itself (live-region.js): no reload here.
    await admin.locator('#deliveries tbody td[data-label=Status] .badge-dead').waitFor({ timeout: 15_000 });
    expect(await admin.textContent('#deliveries')).toContain('HTTP 500');
    await shoot(admin, 'console-logout-dead');
    expect(rp.rp.logoutTokens).toHaveLength(2); // both attempts arrived, and were refused

    // The application is fixed; the administrator retries from the page and watches it succeed.
    await admin.click('button:has-text("Retry")');
    await admin.locator('#deliveries tbody td[data-label=Status] .badge-succeeded').waitFor({ timeout: 15_000 });
    await admin.locator('#deliveries .badge-complete').waitFor({ timeout: 15_000 });
    await eventually(async () => (rp.rp.logoutTokens.length === 3 ? true : null));
    expect(rp.rp.logoutTokens[2].claims.sid).toBe(sid);
    await shoot(admin, 'console-logout');

    await admin.goto(`${t.url}/admin/logouts?trigger=user_deactivated`);
    expect(await admin.locator('tbody tr').count()).toBe(1);
    await shoot(admin, 'console-logouts');
    await admin.goto(`${t.url}/admin/users`);
    await shoot(admin, 'console-users');
  });

  it('reads well at 375 px: nothing wider than the screen, tables become labelled cards', async () => {
    const narrow = await (await chromium.newContext({ viewport: { width: 375, height: 800 } })).newPage();
    await narrow.goto(`${t.url}/login?return_to=%2Fadmin%2Flogouts`);
    await narrow.fill('#username', 'root');
    await narrow.fill('#password', 'root password 1');
    await narrow.click('button[type=submit]');
    await narrow.waitForURL(`${t.url}/admin/logouts`);
    for (const path of ['/admin', '/admin/users', '/admin/sessions', '/admin/logouts']) {
      await narrow.goto(`${t.url}${path}`);
      const width = await narrow.evaluate(() => document.documentElement.scrollWidth);
      expect([path, width]).toEqual([path, 375]);
    }
    await narrow.goto(`${t.url}/admin/logouts`);
    await narrow.click('tbody a');
    await shoot(narrow, 'console-logout-375px');
  });

  it('is usable from the keyboard: a skip link first, every control labelled', async () => {
    await admin.goto(`${t.url}/admin/users/new`);
    await admin.keyboard.press('Tab');
    expect(await admin.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    for (const path of ['/admin', '/admin/users', '/admin/users/new', '/admin/sessions', '/admin/logouts']) {
      await admin.goto(`${t.url}${path}`);
      const unlabelled = await admin.evaluate(() =>
        Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
          .filter((element) => {
            const control = element as HTMLInputElement;
            const named = control.labels?.length || control.getAttribute('aria-label') || control.textContent?.trim();
            return !named;
          })
          .map((element) => element.outerHTML),
      );
      expect([path, unlabelled]).toEqual([path, []]);
    }
  });
});
