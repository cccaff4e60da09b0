import { IdpSession, OidcSession, SYSTEM, UsersService } from '@signoff/core';
import * as client from 'openid-client';
import { DataSource, IsNull } from 'typeorm';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

// Issue 10, "Logout choices": logout_hint (RP-Initiated Logout 1.0 §2) picks which of this browser's
// accounts an end_session without id_token_hint asks to sign out. Signoff reads it as a username, or
// else an email address that only one of the browser's accounts has.

let t: TestApp;
let rp: TestClient;
let counter = 0;

beforeAll(async () => {
  t = await startApp({ FRONTCHANNEL_TIMEOUT: '3s' }, { withWorker: true });
  rp = await registerClient(t);
});
afterAll(async () => {
  await rp?.rp.stop();
  await t?.close();
});

interface Account {
  username: string;
  email: string;
  sid: string;
  idToken: string;
}

/** One browser where two fresh users signed in, each at the RP (openid-client): `older`, then `current`. */
async function twoAccounts() {
  const make = async () => {
    const username = `user${++counter}`;
    const email = `${username}@Example.org`;
    await t.app.get(UsersService).create({ username, password: 'a user password', email }, SYSTEM);
    return { username, password: 'a user password', email };
  };
  const [first, second] = [await make(), await make()];
  const browser = new Browser(t.url);
  const signIn = async (user: typeof first): Promise<Account> => {
    await browser.get('/login');
    await browser.post('/login', { username: user.username, password: user.password, csrf: browser.csrf });
    // login_hint picks the account at the RP's authorization request (no chooser page).
    const { tokens } = await login(rp, browser, undefined, { login_hint: user.username });
    return {
      username: user.username,
      email: user.email,
      sid: tokens.claims()!.sid as string,
      idToken: tokens.id_token!,
    };
  };
  const older = await signIn(first);
  const current = await signIn(second);
  expect(await browser.signedInAs()).toBe(current.username);
  return { browser, older, current };
}

/** The RP sends the browser to end_session (openid-client builds the URL, with client_id). */
const endSession = (browser: Browser, params: Record<string, string>) => {
  const url = client.buildEndSessionUrl(rp.config, {
    post_logout_redirect_uri: `${rp.rp.url}/logged-out`,
    state: 'st',
    ...params,
  });
  return browser.get(url.pathname + url.search);
};

/** Is the IdP session the ID token's sid belongs to still live? */
async function live(account: Account): Promise<boolean> {
  const db = t.app.get(DataSource);
  const { idpSessionId } = await db.getRepository(OidcSession).findOneByOrFail({ sid: account.sid });
  return (await db.getRepository(IdpSession).countBy({ id: idpSessionId, endedAt: IsNull() })) === 1;
}

/** The user confirms on the end_session page; returns where the browser is sent. */
async function confirm(browser: Browser, page: { text: string }): Promise<string> {
  const handle = /name="handle" value="([^"]+)"/.exec(page.text)![1];
  const response = await browser.post('/oauth2/end_session/confirm', { csrf: browser.csrf, handle, answer: 'yes' });
  expect(response.status).toBe(303);
  return response.headers.location;
}

const asksAbout = (page: { text: string }) => /asks to sign <strong>([^<]+)<\/strong> out/.exec(page.text)?.[1];

describe('logout_hint at end_session, without id_token_hint', () => {
  it('names another account of this browser: that one is asked about, and only it ends', async () => {
    const { browser, older, current } = await twoAccounts();
    const page = await endSession(browser, { logout_hint: older.username });
    expect(page.status).toBe(200);
    expect(asksAbout(page)).toBe(older.username);
    expect(await live(older)).toBe(true); // a hint alone ends nothing before the user says so

    expect(await confirm(browser, page)).toBe(`${rp.rp.url}/logged-out?state=st`);
    expect(await live(older)).toBe(false);
    expect(await live(current)).toBe(true);
    expect(await browser.signedInAs()).toBe(current.username);
    expect(await eventually(async () => rp.rp.logoutTokens.some((received) => received.claims.sid === older.sid))).toBe(
      true,
    );
    expect(rp.rp.logoutTokens.some((received) => received.claims.sid === current.sid)).toBe(false);
  });

  it('may be the email address, in any case', async () => {
    const { browser, older, current } = await twoAccounts();
    const page = await endSession(browser, { logout_hint: older.email.toUpperCase() });
    expect(asksAbout(page)).toBe(older.username);
    await confirm(browser, page);
    expect([await live(older), await live(current)]).toEqual([false, true]);
  });

  it.each([
    ['nobody at all', () => 'nobody-here'],
    ['an account of another browser', () => 'root'],
  ])('naming %s, is ignored: the current account is asked about as usual', async (_name, hint) => {
    await t.app
      .get(UsersService)
      .create({ username: 'root', password: 'root password' }, SYSTEM)
      .catch(() => null);
    const elsewhere = new Browser(t.url);
    await elsewhere.login('root', 'root password');
    const { browser, older, current } = await twoAccounts();
    const page = await endSession(browser, { logout_hint: hint() });
    expect(asksAbout(page)).toBe(current.username);
    await confirm(browser, page);
    expect([await live(older), await live(current)]).toEqual([true, false]);
    expect(await elsewhere.signedInAs()).toBe('root');
  });

  it('is ignored beside an id_token_hint, which decides: its session ends at once', async () => {
    const { browser, older, current } = await twoAccounts();
    const response = await endSession(browser, { id_token_hint: current.idToken, logout_hint: older.username });
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`${rp.rp.url}/logged-out?state=st`);
    expect([await live(older), await live(current)]).toEqual([true, false]);
  });

  it('changes nothing when nobody is signed in: the RP is sent on, signed out', async () => {
    const { older } = await twoAccounts();
    const response = await endSession(new Browser(t.url), { logout_hint: older.username });
    expect([response.status, response.headers.location]).toEqual([303, `${rp.rp.url}/logged-out?state=st`]);
    expect(await live(older)).toBe(true);
  });

  it('refuses a logout_hint given twice, or too long', async () => {
    const { browser, older } = await twoAccounts();
    const twice = await browser.get(
      `/oauth2/end_session?client_id=${rp.clientId}&logout_hint=${older.username}&logout_hint=${older.username}`,
    );
    expect(twice.status).toBe(400);
    const long = await endSession(browser, { logout_hint: `${'a'.repeat(250)}@example.org` });
    expect(long.status).toBe(400);
    expect(await live(older)).toBe(true);
  });
});
