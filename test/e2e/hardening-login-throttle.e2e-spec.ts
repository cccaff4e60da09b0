import { IdpSession, SYSTEM, UsersService } from '@signoff/core';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { startApp, type TestApp } from '../support/test-app';

// Issue 8, item 4: the login throttle must hold against parallel attempts. LOGIN_MAX_FAILURES=5, so
// the per-address limit is 50. TRUST_PROXY lets each test speak from its own client address
// (X-Forwarded-For), as requests through a reverse proxy do.
let t: TestApp;
const MAX = 5;
let counter = 0;

beforeAll(async () => {
  t = await startApp({ LOGIN_MAX_FAILURES: String(MAX), LOGIN_LOCKOUT: '15m', TRUST_PROXY: 'true' });
});
afterAll(() => t.close());

/** A fresh user, so that tests do not share counters. */
async function newUser() {
  const username = `victim${++counter}`;
  await t.app.get(UsersService).create({ username, password: `${username} password` }, SYSTEM);
  return { username, password: `${username} password` };
}

/** A browser at a client address of its own, with the login form loaded (its CSRF token). */
async function browserAt(address: string) {
  const browser = new Browser(t.url);
  browser.agent.set('X-Forwarded-For', address);
  await browser.get('/login');
  return browser;
}

/** POSTs the login form, all at once, for every [username, password]; the answers' statuses. */
async function burst(browser: Browser, attempts: Array<[string, string]>): Promise<number[]> {
  const csrf = browser.csrf;
  const responses = await Promise.all(
    attempts.map(([username, password]) =>
      browser.agent.post('/login').type('form').set('Accept', 'text/html').send({ username, password, csrf }),
    ),
  );
  return responses.map((response) => response.status);
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;
const sessionsOf = (username: string) =>
  t.app
    .get(DataSource)
    .getRepository(IdpSession)
    .count({ where: { user: { username } } });

describe('login throttle under concurrency', () => {
  it('evaluates at most LOGIN_MAX_FAILURES of 40 concurrent wrong passwords; the rest are refused with 429, and then the right one too', async () => {
    const victim = await newUser();
    const browser = await browserAt('198.51.100.1');
    const statuses = await burst(
      browser,
      Array.from({ length: 40 }, (_, i) => [victim.username, `wrong guess ${i}`] as [string, string]),
    );
    expect(count(statuses, 401)).toBe(MAX);
    expect(count(statuses, 429)).toBe(40 - MAX);

    const after = await browser.post('/login', {
      username: victim.username,
      password: victim.password,
      csrf: browser.csrf,
    });
    expect(after.status).toBe(429);
    expect(after.text).toContain('Too many failed attempts');
    expect(await sessionsOf(victim.username)).toBe(0);
  });

  it('lets no more than LOGIN_MAX_FAILURES passwords be evaluated when the right one is inside a burst of 30 wrong ones', async () => {
    const victim = await newUser();
    const browser = await browserAt('198.51.100.2');
    const attempts = Array.from({ length: 30 }, (_, i) => [victim.username, `wrong guess ${i}`] as [string, string]);
    attempts.splice(15, 0, [victim.username, victim.password]);
    const statuses = await burst(browser, attempts);
    // Whether or not the right password was among the attempts let through, no more than MAX were evaluated…
    expect(count(statuses, 401) + count(statuses, 303)).toBeLessThanOrEqual(MAX);
    expect(count(statuses, 429)).toBeGreaterThanOrEqual(31 - MAX);
    // …and a success did not reset the counter for the attempts still in flight.
    expect(count(statuses, 401)).toBeLessThanOrEqual(MAX);
  });

  it('refuses the right password once the limit is reached, whatever order the burst ends in, and creates no session', async () => {
    const victim = await newUser();
    const browser = await browserAt('198.51.100.3');
    await burst(
      browser,
      Array.from({ length: 30 }, (_, i) => [victim.username, `wrong guess ${i}`] as [string, string]),
    );
    const statuses = await burst(browser, [
      [victim.username, victim.password],
      [victim.username, victim.password],
    ]);
    expect(statuses).toEqual([429, 429]);
    expect(await sessionsOf(victim.username)).toBe(0);
  });

  it('does not let a successful login reset the failures counted before it', async () => {
    const victim = await newUser();
    const browser = await browserAt('198.51.100.4');
    for (let i = 0; i < MAX - 1; i++)
      expect(
        (await browser.post('/login', { username: victim.username, password: `wrong ${i}`, csrf: browser.csrf }))
          .status,
      ).toBe(401);
    expect(
      (await browser.post('/login', { username: victim.username, password: victim.password, csrf: browser.csrf }))
        .status,
    ).toBe(303);
    await browser.get('/login');
    // One more failure reaches the limit: the earlier ones still count.
    expect(
      (await browser.post('/login', { username: victim.username, password: 'wrong again', csrf: browser.csrf })).status,
    ).toBe(401);
    expect(
      (await browser.post('/login', { username: victim.username, password: victim.password, csrf: browser.csrf }))
        .status,
    ).toBe(429);
  });
});

describe('per-address limit', () => {
  it('counts an address across usernames, also in parallel, independently of each username', async () => {
    const browser = await browserAt('203.0.113.7');
    // 80 concurrent attempts at 80 different (unknown) usernames: each username is far under its limit,
    // the address is not: only 10 × LOGIN_MAX_FAILURES are evaluated.
    const statuses = await burst(
      browser,
      Array.from({ length: 80 }, (_, i) => [`sprayed${i}`, 'Spring2025!'] as [string, string]),
    );
    expect(count(statuses, 401)).toBe(MAX * 10);
    expect(count(statuses, 429)).toBe(80 - MAX * 10);

    // From that address even a real user with the right password is refused…
    const victim = await newUser();
    expect(
      (await browser.post('/login', { username: victim.username, password: victim.password, csrf: browser.csrf }))
        .status,
    ).toBe(429);
    // …while the same user from another address signs in.
    const elsewhere = await browserAt('203.0.113.8');
    expect(
      (await elsewhere.post('/login', { username: victim.username, password: victim.password, csrf: elsewhere.csrf }))
        .status,
    ).toBe(303);
  });

  it('counts an IPv6 client by its /64: a fresh address of the same network draws no fresh counter', async () => {
    const browser = await browserAt('2001:db8:5:6::1');
    const csrf = browser.csrf;
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        browser.agent
          .post('/login')
          .type('form')
          .set('Accept', 'text/html')
          .set('X-Forwarded-For', `2001:db8:5:6:${(i + 1).toString(16)}::${(i + 7).toString(16)}`)
          .send({ username: `rotating${i}`, password: 'guess', csrf }),
      ),
    );
    const statuses = responses.map((response) => response.status);
    expect(count(statuses, 401)).toBe(MAX * 10);
    expect(count(statuses, 429)).toBe(60 - MAX * 10);
  });

  it('does not let a success from an address reset its count', async () => {
    const browser = await browserAt('203.0.113.9');
    for (let i = 0; i < MAX * 10 - 1; i++)
      expect(
        (await browser.post('/login', { username: `nobody${i}`, password: 'guess', csrf: browser.csrf })).status,
      ).toBe(401);
    const victim = await newUser();
    expect(
      (await browser.post('/login', { username: victim.username, password: victim.password, csrf: browser.csrf }))
        .status,
    ).toBe(303);
    await browser.get('/login');
    expect(
      (await browser.post('/login', { username: 'nobody-last', password: 'guess', csrf: browser.csrf })).status,
    ).toBe(401);
    expect(
      (await browser.post('/login', { username: victim.username, password: victim.password, csrf: browser.csrf }))
        .status,
    ).toBe(429);
  });
});
