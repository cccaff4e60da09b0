import { IdpSession, SYSTEM, UsersService } from '@signoff/core';
import { DataSource, IsNull } from 'typeorm';
import { Browser } from '../support/browser';
import { startApp, type TestApp } from '../support/test-app';

let t: TestApp;

beforeAll(async () => {
  t = await startApp();
  const users = t.app.get(UsersService);
  await users.create({ username: 'alice', password: 'alice password' }, SYSTEM);
  await users.create({ username: 'bob', password: 'bob password' }, SYSTEM);
});
afterAll(() => t.close());

const liveSessionsOf = (username: string) =>
  t.app
    .get(DataSource)
    .getRepository(IdpSession)
    .count({ where: { user: { username }, endedAt: IsNull() } });

describe('several accounts in one browser', () => {
  it('keeps both accounts, lists them, switches between them, and signs out only the current one', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    const addAccount = await browser.get('/login');
    expect(addAccount.text).toContain('You are signed in as <strong>alice</strong>');
    await browser.post('/login', { username: 'bob', password: 'bob password', csrf: browser.csrf });
    expect(await browser.signedInAs()).toBe('bob');

    const chooser = await browser.get('/accounts');
    expect(chooser.status).toBe(200);
    expect(chooser.text).toMatch(/<span>bob<\/span><span class="muted">current<\/span>/);
    expect(chooser.text).toContain('<span>alice</span>');
    const aliceSession = /name="session" value="([^"]+)"/.exec(chooser.text)![1];

    const switched = await browser.post('/accounts/switch', { session: aliceSession, csrf: browser.csrf });
    expect(switched.status).toBe(303);
    expect(await browser.signedInAs()).toBe('alice');

    const out = await browser.submit('/logout', { csrf: browser.csrf });
    expect(out.text).toContain('Still signed in on this browser: bob');
    expect(await browser.signedInAs()).toBe('bob');
    expect(await liveSessionsOf('alice')).toBe(0);
    expect(await liveSessionsOf('bob')).toBe(1);
  });

  it('keeps browsers apart: another browser sees none of these accounts and cannot switch to them', async () => {
    const first = new Browser(t.url);
    await first.login('alice', 'alice password');
    const chooser = await first.get('/accounts');
    expect(chooser.status).toBe(200);
    const other = new Browser(t.url);
    await other.login('bob', 'bob password');
    const [aliceSession] = await t.app
      .get(DataSource)
      .getRepository(IdpSession)
      .find({ where: { user: { username: 'alice' }, endedAt: IsNull() } });
    const hijack = await other.post('/accounts/switch', { session: aliceSession.id, csrf: other.csrf });
    expect(hijack.status).toBe(404);
    expect(await other.signedInAs()).toBe('bob');
  });

  it('renews the session when the same user signs in again on the same browser', async () => {
    const browser = new Browser(t.url);
    await browser.login('bob', 'bob password');
    const before = await liveSessionsOf('bob');
    await browser.login('bob', 'bob password');
    expect(await liveSessionsOf('bob')).toBe(before);
  });

  it('sends a browser without accounts from /accounts to the login page', async () => {
    const response = await new Browser(t.url).get('/accounts');
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/login?return_to=/accounts');
  });
});
