import { AuditEvent, IdpSession, SYSTEM, User, UsersService } from '@signoff/core';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { startApp, type TestApp } from '../support/test-app';

let t: TestApp;

beforeAll(async () => {
  t = await startApp({ LOGIN_MAX_FAILURES: '3', LOGIN_LOCKOUT: '15m' });
  const users = t.app.get(UsersService);
  await users.create({ username: 'alice', password: 'correct horse', name: 'Alice Liddell' }, SYSTEM);
  await users.create({ username: 'carol', password: 'carol password' }, SYSTEM);
  await users.create({ username: 'mallory', password: 'mallory password' }, SYSTEM);
});
afterAll(() => t.close());

const sessionCount = () => t.app.get(DataSource).getRepository(IdpSession).count();

describe('login page', () => {
  it('sets a signed, HttpOnly, SameSite=Lax browser cookie and offers a form browsers can fill', async () => {
    const response = await request(t.url).get('/login');
    expect(response.status).toBe(200);
    const cookie = response.headers['set-cookie'][0];
    expect(cookie).toMatch(/^signoff_browser=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(response.text).toMatch(/<input type="text" id="username" name="username" autocomplete="username"/);
    expect(response.text).toMatch(
      /<input type="password" id="password" name="password" autocomplete="current-password"/,
    );
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'"); // within the full policy (security-headers.ts)
  });
});

describe('signing in', () => {
  it('signs in with the right password and shows who is signed in', async () => {
    const browser = new Browser(t.url);
    const response = await browser.login('alice', 'correct horse');
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/');
    expect(await browser.signedInAs()).toBe('Alice Liddell');
  });

  it('accepts the username in any case', async () => {
    const browser = new Browser(t.url);
    expect((await browser.login('ALICE', 'correct horse')).status).toBe(303);
  });

  it('refuses a wrong password, an unknown user and a deactivated user with the same message, and creates no session', async () => {
    const before = await sessionCount();
    await t.app.get(DataSource).getRepository(User).update({ username: 'carol' }, { isActive: false });

    for (const [username, password] of [
      ['alice', 'wrong horse'],
      ['nobody', 'correct horse'],
      ['carol', 'carol password'],
    ]) {
      const browser = new Browser(t.url);
      const response = await browser.login(username, password);
      expect(response.status).toBe(401);
      expect(response.text).toContain('Invalid username or password.');
      expect(await browser.signedInAs()).toBeNull();
    }
    expect(await sessionCount()).toBe(before);
    const events = await t.app.get(DataSource).getRepository(AuditEvent).findBy({ action: 'login.failed' });
    // Issue 8, item 15: a typed name that matches no user is not kept (it may be a password).
    expect(events.map((event) => (event.details as { username: string }).username)).toEqual(
      expect.arrayContaining(['alice', 'carol']),
    );
    expect(JSON.stringify(events)).not.toContain('nobody');
  });

  it('goes back to a local return_to and never to another site', async () => {
    const browser = new Browser(t.url);
    await browser.get('/login?return_to=/accounts');
    const local = await browser.post('/login', {
      username: 'alice',
      password: 'correct horse',
      csrf: browser.csrf,
      return_to: '/accounts',
    });
    expect(local.headers.location).toBe('/accounts');
    for (const target of ['//evil.example/', 'https://evil.example/', '/\\evil.example', '/%0d%0aSet-Cookie:x']) {
      await browser.get('/login'); // each login renews the browser id, and with it the form's CSRF token
      const response = await browser.post('/login', {
        username: 'alice',
        password: 'correct horse',
        csrf: browser.csrf,
        return_to: target,
      });
      expect(response.headers.location).toBe(target.startsWith('/%') ? target : '/');
    }
  });
});

describe('CSRF', () => {
  it("refuses a login without a token, with a forged one, with another browser's, and without the cookie", async () => {
    const victim = new Browser(t.url);
    await victim.get('/login');
    const attacker = new Browser(t.url);
    await attacker.get('/login');

    const missing = await victim.post('/login', { username: 'alice', password: 'correct horse' });
    const forged = await victim.post('/login', { username: 'alice', password: 'correct horse', csrf: 'A'.repeat(43) });
    const foreign = await victim.post('/login', { username: 'alice', password: 'correct horse', csrf: attacker.csrf });
    const noCookie = await request(t.url)
      .post('/login')
      .type('form')
      .send({ username: 'alice', password: 'correct horse', csrf: victim.csrf });
    for (const response of [missing, forged, foreign, noCookie]) {
      expect(response.status).toBe(403);
      expect(response.headers['set-cookie']).toBeUndefined();
    }
    expect(await victim.signedInAs()).toBeNull();
  });

  it('refuses a logout without the token, and the session lives on', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', 'correct horse');
    expect((await browser.post('/logout', {})).status).toBe(403);
    expect(await browser.signedInAs()).toBe('Alice Liddell');
  });
});

describe('cookies', () => {
  it('treats a tampered cookie as no cookie', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', 'correct horse');
    const response = await request(t.url).get('/login');
    const genuine = /signoff_browser=([^;]+)/.exec(response.headers['set-cookie'][0])![1];
    const [id, mac] = genuine.split('.');
    const tampered = `${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}.${mac}`;
    const home = await request(t.url).get('/').set('Cookie', `signoff_browser=${tampered}`);
    expect(home.status).toBe(303);
    expect(home.headers.location).toBe('/login');
    const logout = await request(t.url)
      .post('/logout')
      .type('form')
      .set('Cookie', `signoff_browser=${tampered}`)
      .send({ csrf: browser.csrf });
    expect(logout.status).toBe(403);
  });
});

describe('throttling', () => {
  it('refuses even the right password after LOGIN_MAX_FAILURES failures, with 429', async () => {
    const browser = new Browser(t.url);
    for (let i = 0; i < 3; i++) expect((await browser.login('mallory', `guess ${i}`)).status).toBe(401);
    const blocked = await browser.login('mallory', 'mallory password');
    expect(blocked.status).toBe(429);
    expect(blocked.text).toContain('Too many failed attempts');
    expect(await browser.signedInAs()).toBeNull();
    // Another user from the same address is not locked out by mallory's failures.
    expect((await new Browser(t.url).login('alice', 'correct horse')).status).toBe(303);
  });
});

describe('request limits', () => {
  it('answers an oversized body with 413 and changes nothing', async () => {
    const browser = new Browser(t.url);
    await browser.get('/login');
    const response = await browser.post('/login', {
      username: 'alice',
      password: 'x'.repeat(t.config.bodyLimitBytes + 10),
      csrf: browser.csrf,
    });
    expect(response.status).toBe(413);
    expect(response.text).toContain('too large');
    expect(await browser.signedInAs()).toBeNull();
  });

  it('answers malformed JSON with a 400 JSON error', async () => {
    const response = await request(t.url)
      .post('/api/v1/users')
      .set('Content-Type', 'application/json')
      .send('{"username":');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'invalid_request' });
  });
});

describe('logging out', () => {
  it('asks on GET, signs out on POST, and says so again when already signed out', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', 'correct horse');
    const confirm = await browser.get('/logout');
    expect(confirm.text).toContain('Sign out <strong>alice</strong>');
    expect(await browser.signedInAs()).toBe('Alice Liddell');
    const out = await browser.submit('/logout', { csrf: browser.csrf });
    expect(out.status).toBe(200);
    expect(out.text).toContain('You have signed out');
    expect(await browser.signedInAs()).toBeNull();
    const again = await browser.submit('/logout', { csrf: browser.csrf });
    expect(again.status).toBe(200);
    expect((await browser.get('/logout')).text).toContain('You have signed out');
  });
});

describe('session fixation', () => {
  it('gives the browser a new id at login, so a cookie planted or seen before it grants nothing', async () => {
    const planted = (await request(t.url).get('/login')).headers['set-cookie'][0].split(';')[0];
    const victim = new Browser(t.url);
    victim.agent.jar.setCookie(planted, '127.0.0.1', '/');
    await victim.get('/login');
    const login = await victim.post('/login', { username: 'alice', password: 'correct horse', csrf: victim.csrf });
    expect(login.status).toBe(303);
    expect(login.headers['set-cookie'][0].split(';')[0]).not.toBe(planted);
    expect(await victim.signedInAs()).toBe('Alice Liddell');
    const attacker = await request(t.url).get('/').set('Cookie', planted);
    expect(attacker.status).toBe(303);
    expect(attacker.headers.location).toBe('/login');
  });
});
