import { AuditEvent, IdpSession, LogoutOperation, SYSTEM, type User, UsersService } from '@signoff/core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser as Chromium, Page } from 'playwright-core';
import { DataSource, IsNull } from 'typeorm';
import { utcText } from '../../apps/idp/src/http/local-time';
import { Browser } from '../support/browser';
import { tokens } from '../support/html-tokens';
import { codeFlowInBrowser, pageWidth, submitLogin, unlabelledControls } from '../support/pages';
import { describeInChromium, launchChromium } from '../support/chromium';
import { eventually } from '../support/eventually';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { samlSignIn } from '../support/saml';
import { SamlSpApp } from '../support/saml-sp-app';
import { startApp, type TestApp } from '../support/test-app';

// Issue 12, "The user's own pages": home (the applications of this session, with links; times in the
// user's zone; signing out with a scope), My sessions (end one elsewhere, through the engine) and
// Change password (the other sessions end, this one stays).

const SCREENSHOTS = join(__dirname, '..', '..', 'docs', 'screenshots');
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a new and better passphrase';

let t: TestApp;
let shop: TestClient; // registered with a client_uri
let wiki: TestClient; // without one: its first redirect_uri's origin
let crm: SamlSpApp;
let counter = 0;

beforeAll(async () => {
  // Few failures per username, so the throttle test reaches the limit quickly (addresses get ten times as many).
  t = await startApp({ DELIVERY_TIMEOUT: '1s', DELIVERY_ATTEMPTS: '2', LOGIN_MAX_FAILURES: '3' }, { withWorker: true });
  shop = await registerClient(t, { client_name: 'Shop', client_uri: 'https://www.shop.example/about' });
  wiki = await registerClient(t, { client_name: 'Wiki' });
  crm = await SamlSpApp.start(t, 'crm', 'HTTP-POST', 'frontchannel_iframe');
});
afterAll(async () => {
  await shop?.rp.stop();
  await wiki?.rp.stop();
  await crm?.close();
  await t?.close();
});

async function newUser(): Promise<{ user: User; username: string; password: string }> {
  const username = `user${++counter}`;
  const user = await t.app.get(UsersService).create({ username, password: PASSWORD }, SYSTEM);
  return { user, username, password: PASSWORD };
}

/** A browser that says it is `userAgent`, signed in as `credentials`. */
async function browserAs(credentials: { username: string; password: string }, userAgent = FIREFOX) {
  const browser = new Browser(t.url);
  browser.agent.set('User-Agent', userAgent);
  expect((await browser.login(credentials.username, credentials.password)).status).toBe(303);
  return browser;
}

const db = () => t.app.get(DataSource);
const liveSessionsOf = (userId: string) =>
  db()
    .getRepository(IdpSession)
    .find({ where: { userId, endedAt: IsNull() }, order: { createdAt: 'ASC' } });
const sessionIdsIn = (html: string) =>
  [...html.matchAll(/action="\/account\/sessions\/([0-9a-f-]{36})\/end"/g)].map((m) => m[1]);
const logoutTokensFor = (rp: TestClient, sid: string) =>
  eventually(async () => rp.rp.logoutTokens.find((received) => received.claims.sid === sid) ?? null);

/** SAML SSO at the SP in this browser (Signoff issues the Response: the SP's session starts there). */
async function samlSignInTo(sp: SamlSpApp, browser: Browser) {
  const start = await fetch(`${sp.url}/login`, { redirect: 'manual' });
  await samlSignIn(browser, start.headers.get('location')!);
}

describe('the home page', () => {
  it('sends a browser nobody is signed in on to the login page, which brings it back', async () => {
    const browser = new Browser(t.url);
    expect((await browser.get('/')).headers.location).toBe('/login');
    expect((await browser.get('/account/sessions')).headers.location).toBe('/login?return_to=/account/sessions');
    expect((await browser.get('/account/password')).headers.location).toBe('/login?return_to=/account/password');
  });

  it('lists the applications this session is signed in to, each with a link to where it lives, and none of another session', async () => {
    const alice = await newUser();
    const browser = new Browser(t.url);
    await login(shop, browser, alice);
    await login(wiki, browser, alice);
    await samlSignInTo(crm, browser);
    // Another session of the same user, elsewhere, signed in to one more application: not this session's.
    const elsewhere = await browserAs(alice);
    const other = await registerClient(t, { client_name: 'Elsewhere only' });
    try {
      await login(other, elsewhere);

      const home = await browser.get('/');
      expect(home.status).toBe(200);
      expect(home.text).toContain(`You are signed in as <strong>${alice.username}</strong>`);
      // OIDC with a client_uri: that page; without: the origin of the first redirect_uri; SAML: the origin of the first ACS URL.
      expect(home.text).toContain('<a href="https://www.shop.example/about">Shop</a>');
      expect(home.text).toContain(`<a href="${wiki.rp.url}">Wiki</a>`);
      expect(home.text).toContain(`<a href="${crm.url}">crm</a>`);
      expect(home.text).not.toContain('Elsewhere only');
      expect((await elsewhere.get('/')).text).toContain('Elsewhere only');
    } finally {
      await other.rp.stop();
    }
  });

  it('says times as <time datetime> with a UTC text that local-time.js rewrites in the browser', async () => {
    const bob = await newUser();
    const browser = await browserAs(bob);
    const [session] = await liveSessionsOf(bob.user.id);
    const home = await browser.get('/');
    const iso = session.authTime.toISOString();
    expect(home.text).toContain(`<time datetime="${iso}" data-local>${utcText(session.authTime)}</time>`);
    expect(home.text).not.toMatch(/>\d{4}-\d\d-\d\dT/); // no raw ISO string said to the user
    expect(home.text).toContain('<script src="/static/local-time.js" defer></script>');
    const script = await browser.get('/static/local-time.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
  });

  it('signs out with a choice of scope: this account (the default) or everywhere, and every account on this browser only when it has two', async () => {
    const carol = await newUser();
    const dave = await newUser();
    const browser = await browserAs(carol);
    /** The form posting to /logout: its CSRF token, and each radio named scope with its label's text. */
    const signOutForm = (html: string) => {
      const stream = tokens(html);
      const start = stream.findIndex(
        (token) => token.kind === 'open' && token.name === 'form' && token.attrs.action === '/logout',
      );
      const end = stream.findIndex((token, index) => index > start && token.kind === 'close' && token.name === 'form');
      const form = stream.slice(start, end);
      const opened = form.flatMap((token) => (token.kind === 'open' ? [token] : []));
      const labelOf = (id: string) => {
        const at = form.findIndex((token) => token.kind === 'open' && token.name === 'label' && token.attrs.for === id);
        const text = form[at + 1];
        return at >= 0 && text.kind === 'text' ? text.text : null;
      };
      return {
        csrf: opened.find((token) => token.name === 'input' && token.attrs.name === 'csrf')?.attrs.value,
        scopes: opened
          .filter((token) => token.name === 'input' && token.attrs.name === 'scope')
          .map((token) => ({
            value: token.attrs.value,
            type: token.attrs.type,
            checked: token.attrs.checked === true,
            label: labelOf(String(token.attrs.id)),
          })),
      };
    };
    const one = signOutForm((await browser.get('/')).text);
    expect(one.csrf).toBe(browser.csrf);
    expect(one.scopes.map(({ value, checked }) => [value, checked])).toEqual([
      ['account', true],
      ['everywhere', false],
    ]);
    for (const scope of one.scopes) {
      expect(scope.type).toBe('radio');
      expect(scope.label).toMatch(/\S/);
    }
    // The very same choices as the logout confirm page's.
    expect(signOutForm((await browser.get('/logout')).text).scopes).toEqual(one.scopes);

    await browser.get('/login');
    await browser.post('/login', { username: dave.username, password: dave.password, csrf: browser.csrf });
    const two = signOutForm((await browser.get('/')).text);
    expect(two.scopes.map(({ value, checked }) => [value, checked])).toEqual([
      ['account', true],
      ['browser', false],
      ['everywhere', false],
    ]);
    expect(signOutForm((await browser.get('/logout')).text).scopes).toEqual(two.scopes);
  });
});

describe('My sessions', () => {
  it("lists each of the user's sessions: browser, address, times, applications; this device marked, the others can be ended", async () => {
    const erin = await newUser();
    const here = await browserAs(erin, FIREFOX);
    const phone = await browserAs(erin, SAFARI);
    await login(wiki, phone, erin);
    const stranger = await newUser(); // someone else's session is not listed
    await browserAs(stranger);
    const [strangerSession] = await liveSessionsOf(stranger.user.id);

    const page = await here.get('/account/sessions');
    expect(page.status).toBe(200);
    const [mine, theirs] = await liveSessionsOf(erin.user.id);
    expect(page.text).toContain('Firefox 128 on Windows<span class="tag">this device</span>');
    expect(page.text).toContain('Safari 17 on iPhone');
    expect(page.text).toContain('127.0.0.1');
    expect(page.text).toContain("(the server's machine, or a proxy in front of it)");
    expect(page.text).toContain('<dd>Wiki</dd>');
    expect(page.text).toContain(`<time datetime="${theirs.lastSeenAt.toISOString()}" data-local>`);
    expect(sessionIdsIn(page.text)).toEqual([theirs.id]); // only the other one has an End button
    expect(page.text).toContain('<a href="/#sign-out">Sign out on this device</a>');
    expect(page.text).not.toContain(strangerSession.id);
    expect(page.text).not.toContain(mine.id); // this one is ended by signing out, not by id
    expect(page.text.match(/<li><h2>/g)).toHaveLength(2);
  });

  it('ends another session of the user through the engine: that browser is signed out and its application told over the back channel', async () => {
    const frank = await newUser();
    const here = await browserAs(frank);
    const laptop = await browserAs(frank, SAFARI);
    const { tokens } = await login(wiki, laptop, frank);
    const sid = tokens.claims()!.sid as string;
    const [, other] = await liveSessionsOf(frank.user.id);

    await here.get('/account/sessions');
    const ended = await here.post(`/account/sessions/${other.id}/end`, { csrf: here.csrf });
    expect(ended.status).toBe(303);
    expect(ended.headers.location).toBe('/account/sessions?done=ended');
    const after = await here.get(ended.headers.location);
    expect(after.text).toContain('<div role="status" class="notice">The session was ended');
    expect(sessionIdsIn(after.text)).toEqual([]);

    expect(await laptop.signedInAs()).toBeNull();
    expect(await here.signedInAs()).toBe(frank.username);
    expect((await logoutTokensFor(wiki, sid))?.claims.sub).toBeDefined();
    const operation = await db()
      .getRepository(LogoutOperation)
      .findOneByOrFail({ trigger: 'user_logout', initiatorId: frank.user.id });
    expect(operation).toMatchObject({ initiatorType: 'user', idpSessionIds: [other.id] });
    expect(await db().getRepository(IdpSession).findOneByOrFail({ id: other.id })).toMatchObject({
      endReason: 'logout',
    });

    // Again: it has already ended.
    const again = await here.post(`/account/sessions/${other.id}/end`, { csrf: here.csrf });
    expect(again.headers.location).toBe('/account/sessions?done=already');
  });

  it("refuses to end another user's session (404, as one that does not exist) and ends nothing", async () => {
    const gina = await newUser();
    const victim = await newUser();
    const here = await browserAs(gina);
    const victimBrowser = await browserAs(victim);
    const [victimSession] = await liveSessionsOf(victim.user.id);
    await here.get('/account/sessions');
    for (const id of [victimSession.id, '00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      const refused = await here.post(`/account/sessions/${id}/end`, { csrf: here.csrf });
      expect([id, refused.status]).toEqual([id, 404]);
    }
    expect(await victimBrowser.signedInAs()).toBe(victim.username);
    expect(await liveSessionsOf(victim.user.id)).toHaveLength(1);
    expect(await db().getRepository(LogoutOperation).countBy({ initiatorId: gina.user.id })).toBe(0);
  });

  it('refuses an End without the CSRF token (another site posting with the cookie) and ends nothing', async () => {
    const hank = await newUser();
    const here = await browserAs(hank);
    const other = await browserAs(hank);
    const [, otherSession] = await liveSessionsOf(hank.user.id);
    for (const csrf of [undefined, 'forged']) {
      const refused = await here.post(`/account/sessions/${otherSession.id}/end`, csrf ? { csrf } : {});
      expect(refused.status).toBe(403);
    }
    expect(await other.signedInAs()).toBe(hank.username);
  });

  it('sends "end" of the current session to the sign-out form, which runs its front channel too', async () => {
    const ivy = await newUser();
    const here = await browserAs(ivy);
    const [session] = await liveSessionsOf(ivy.user.id);
    await here.get('/account/sessions');
    const response = await here.post(`/account/sessions/${session.id}/end`, { csrf: here.csrf });
    expect(response.headers.location).toBe('/#sign-out');
    expect(await here.signedInAs()).toBe(ivy.username);
  });
});

describe('Change password', () => {
  const audit = (action: string, userId: string) => db().getRepository(AuditEvent).findBy({ action, targetId: userId });

  it('with a wrong current password: 400, the error beside that field, the password unchanged', async () => {
    const jack = await newUser();
    const here = await browserAs(jack);
    await here.get('/account/password');
    const refused = await here.post('/account/password', {
      csrf: here.csrf,
      current: 'not my password',
      password: NEW_PASSWORD,
      confirm: NEW_PASSWORD,
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/id="field-current"[^>]*aria-invalid="true"/);
    expect(refused.text).toContain(
      '<p class="field-error" id="field-current-error">That is not your current password.</p>',
    );
    expect(refused.text).not.toContain(NEW_PASSWORD); // passwords are never written back
    expect(await audit('user.password_change_refused', jack.user.id)).toMatchObject([
      { actorType: 'user', actorId: jack.user.id, details: { reason: 'wrong_password' } },
    ]);
    expect(await audit('user.password_changed', jack.user.id)).toEqual([]);
    expect((await new Browser(t.url).login(jack.username, PASSWORD)).status).toBe(303);
    expect((await new Browser(t.url).login(jack.username, NEW_PASSWORD)).status).toBe(401);
  });

  it("with a new password the policy refuses, or two that differ: 400, the problem beside the new password's field", async () => {
    const kim = await newUser();
    const here = await browserAs(kim);
    await here.get('/account/password');
    const weak = await here.post('/account/password', {
      csrf: here.csrf,
      current: PASSWORD,
      password: 'password1234',
      confirm: 'password1234',
    });
    expect(weak.status).toBe(400);
    expect(weak.text).toMatch(/id="field-password-error">The password is one of the most commonly used passwords/);
    const short = await here.post('/account/password', {
      csrf: here.csrf,
      current: PASSWORD,
      password: 'short',
      confirm: 'short',
    });
    expect(short.status).toBe(400);
    expect(short.text).toMatch(/id="field-password-error">The password must be at least \d+ characters long/);
    const differ = await here.post('/account/password', {
      csrf: here.csrf,
      current: PASSWORD,
      password: NEW_PASSWORD,
      confirm: `${NEW_PASSWORD}!`,
    });
    expect(differ.status).toBe(400);
    expect(differ.text).toContain('id="field-confirm-error">The two new passwords are not the same.');
    expect(await audit('user.password_changed', kim.user.id)).toEqual([]);
    expect((await new Browser(t.url).login(kim.username, PASSWORD)).status).toBe(303);
  });

  it('counts a wrong current password as a failed login: past the limit even the right one is refused, here and at /login', async () => {
    const lee = await newUser();
    const here = await browserAs(lee);
    await here.get('/account/password');
    const attempt = (current: string) =>
      here.post('/account/password', { csrf: here.csrf, current, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    for (let i = 0; i < 3; i++) expect((await attempt(`wrong ${i}`)).status).toBe(400);
    const throttled = await attempt(PASSWORD);
    expect(throttled.status).toBe(429);
    expect(throttled.text).toContain('id="field-current-error">Too many failed attempts.');
    expect((await new Browser(t.url).login(lee.username, PASSWORD)).status).toBe(429);
    expect(await audit('user.password_changed', lee.user.id)).toEqual([]);
  });

  it('refuses a change without the CSRF token', async () => {
    const mia = await newUser();
    const here = await browserAs(mia);
    const refused = await here.post('/account/password', {
      current: PASSWORD,
      password: NEW_PASSWORD,
      confirm: NEW_PASSWORD,
    });
    expect(refused.status).toBe(403);
    expect((await new Browser(t.url).login(mia.username, PASSWORD)).status).toBe(303);
  });

  it('done: the other sessions end through the engine (their application told), this one stays; the old password is refused at /login, the new one works', async () => {
    const noah = await newUser();
    const here = await browserAs(noah);
    const { tokens: hereTokens } = await login(shop, here, noah);
    const there = await browserAs(noah, SAFARI);
    const { tokens: thereTokens } = await login(shop, there, noah);
    await here.get('/account/password');
    const changed = await here.post('/account/password', {
      csrf: here.csrf,
      current: PASSWORD,
      password: NEW_PASSWORD,
      confirm: NEW_PASSWORD,
    });
    expect(changed.status).toBe(303);
    expect(changed.headers.location).toBe('/account/sessions?done=password');
    const sessions = await here.get(changed.headers.location);
    expect(sessions.text).toContain('Your password was changed.');
    expect(sessions.text).toContain('<span class="tag">this device</span>');
    expect(sessionIdsIn(sessions.text)).toEqual([]);

    expect(await there.signedInAs()).toBeNull();
    expect(await here.signedInAs()).toBe(noah.username);
    expect(await logoutTokensFor(shop, thereTokens.claims()!.sid as string)).not.toBeNull();
    expect(shop.rp.logoutTokens.some((received) => received.claims.sid === hereTokens.claims()!.sid)).toBe(false);
    expect(await audit('user.password_changed', noah.user.id)).toMatchObject([
      { actorType: 'user', actorId: noah.user.id },
    ]);
    expect((await new Browser(t.url).login(noah.username, PASSWORD)).status).toBe(401);
    expect((await new Browser(t.url).login(noah.username, NEW_PASSWORD)).status).toBe(303);
  });
});

describeInChromium('the account pages in Chromium', () => {
  let chromium: Chromium;
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    chromium = await launchChromium();
  });
  afterAll(() => chromium?.close());

  const shoot = (page: Page, name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /** Signs in to an RP in the page through the code flow; the RP redeems the code (the OIDC session starts there). */
  const signInToRp = (page: Page, rp: TestClient, signInWith?: { username: string; password: string }) =>
    codeFlowInBrowser(page, rp, { signInWith });

  it('reads well at 375 px in New York time: home, My sessions, Change password', async () => {
    const olive = await newUser();
    await t.app.get(UsersService).update(olive.user.id, { name: 'Olive Example' }, SYSTEM);
    // A second device: another browser context, with its own user agent.
    const phone = await (await chromium.newContext({ userAgent: SAFARI })).newPage();
    await phone.goto(`${t.url}/login`);
    await submitLogin(phone, olive.username, olive.password);
    await signInToRp(phone, wiki);

    const context = await chromium.newContext({
      viewport: { width: 375, height: 740 },
      timezoneId: 'America/New_York',
      locale: 'en-US',
    });
    const page = await context.newPage();
    await signInToRp(page, shop, olive);
    await signInToRp(page, wiki);
    await page.goto(`${t.url}/`);
    expect(await page.textContent('h1')).toBe('Signoff');
    expect(await page.locator('#applications-heading + ul a').allTextContents()).toEqual(['Shop', 'Wiki']);

    // The script said the time in the browser's zone: New York's, not the server's UTC text.
    const time = page.locator('time[data-local]').first();
    const iso = (await time.getAttribute('datetime'))!;
    const shown = (await time.textContent())!;
    expect(shown).not.toBe(utcText(new Date(iso)));
    expect(shown).toMatch(/E[SD]T$/);
    expect(shown).toBe(
      new Intl.DateTimeFormat('en-US', {
        timeZone: 'America/New_York',
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
        timeZoneName: 'short',
      }).format(new Date(iso)),
    );
    expect(await time.getAttribute('title')).toBe(utcText(new Date(iso)));

    for (const [path, name] of [
      ['/', 'account-home'],
      ['/account/sessions', 'account-sessions'],
      ['/account/password', 'account-password'],
    ] as const) {
      await page.goto(`${t.url}${path}`);
      expect([path, await pageWidth(page)]).toEqual([path, 375]);
      expect([path, await unlabelledControls(page)]).toEqual([path, []]);
      const times = await page.locator('time[data-local]').allTextContents();
      for (const text of times) expect([path, text]).toEqual([path, expect.stringMatching(/E[SD]T$/)]);
      if (name === 'account-password') {
        // The refused form, as the user sees it: the problem beside its field.
        await page.fill('#field-current', 'not my password');
        await page.fill('#field-password', NEW_PASSWORD);
        await page.fill('#field-confirm', NEW_PASSWORD);
        await page.click('button[type=submit]');
        await page.locator('#field-current-error').waitFor();
        expect([path, await pageWidth(page)]).toEqual([path, 375]);
      }
      await shoot(page, name);
    }

    // The keyboard reaches the sign-out choices and the button, in order.
    await page.goto(`${t.url}/`);
    await page.focus('#scope-account');
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).value)).toBe('account');
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).value)).toBe('everywhere');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Sign out');

    // Ending the phone's session from here, with the mouse: the phone is signed out.
    await page.goto(`${t.url}/account/sessions`);
    await page.click('button:has-text("End session")');
    await page.waitForURL(`${t.url}/account/sessions?done=ended`);
    await phone.goto(`${t.url}/`);
    expect(new URL(phone.url()).pathname).toBe('/login');
    await phone.context().close();
    await context.close();
  }, 60_000);
});
