import { OidcClient, OidcConsent, SYSTEM, UsersService } from '@signoff/core';
import * as client from 'openid-client';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { registerClient, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

const alice = { username: 'alice', password: 'alice password' };
let t: TestApp;
let thirdParty: TestClient;
let firstParty: TestClient;

beforeAll(async () => {
  t = await startApp();
  await t.app.get(UsersService).create({ ...alice, email: 'alice@example.com', name: 'Alice' }, SYSTEM);
  thirdParty = await registerClient(t, { client_name: 'Photo Printer' });
  firstParty = await registerClient(t);
  await t.app
    .get(DataSource)
    .getRepository(OidcClient)
    .update({ providerId: thirdParty.providerId }, { consentRequired: true });
});
afterAll(async () => {
  for (const each of [thirdParty, firstParty]) await each.rp.stop();
  await t.close();
});

/** Starts an authorization request and follows Signoff's redirects until a page or the RP. */
async function start(rp: TestClient, browser: Browser, extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: 'openid profile email',
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  let response = await browser.get(url.pathname + url.search);
  while (response.status === 303 && response.headers.location.startsWith('/'))
    response = await browser.get(response.headers.location);
  return { response, verifier, state };
}

function interactionOf(html: string): string {
  return /name="interaction" value="([^"]+)"/.exec(html)![1];
}

async function exchange(rp: TestClient, location: string, verifier: string, state: string) {
  return client.authorizationCodeGrant(rp.config, new URL(location), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
}

describe('consent for third-party clients', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = new Browser(t.url);
    await browser.login(alice.username, alice.password);
  });

  it('asks once, naming the client, its redirect host and what it may see; "Deny" sends access_denied and issues nothing', async () => {
    const { response } = await start(thirdParty, browser);
    expect(response.status).toBe(200);
    expect(response.text).toContain('Allow access?');
    expect(response.text).toContain('Photo Printer');
    expect(response.text).toContain(new URL(thirdParty.redirectUri).host);
    expect(response.text).toContain('Your email address');
    const denied = await browser.post('/oauth2/authorize/consent', {
      interaction: interactionOf(response.text),
      answer: 'deny',
      csrf: browser.csrf,
    });
    const callback = new URL(denied.headers.location);
    expect(callback.origin + callback.pathname).toBe(thirdParty.redirectUri);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('code')).toBeNull();
    expect(await t.app.get(DataSource).getRepository(OidcConsent).countBy({ providerId: thirdParty.providerId })).toBe(
      0,
    );
  });

  it('"Allow" issues the code and is remembered: the next request goes straight to the client', async () => {
    const first = await start(thirdParty, browser);
    const allowed = await browser.post('/oauth2/authorize/consent', {
      interaction: interactionOf(first.response.text),
      answer: 'allow',
      csrf: browser.csrf,
    });
    const tokens = await exchange(thirdParty, allowed.headers.location, first.verifier, first.state);
    expect(tokens.access_token).toBeTruthy();

    const again = await start(thirdParty, browser);
    expect(again.response.status).toBe(303);
    expect(new URL(again.response.headers.location).searchParams.get('code')).toBeTruthy();
  });

  it('asks again for a scope not yet allowed, and with prompt=consent; prompt=none answers consent_required', async () => {
    const more = await start(thirdParty, browser, { scope: 'openid profile email offline_access' });
    expect(more.response.text).toContain('Stay connected');
    const prompted = await start(thirdParty, browser, { prompt: 'consent' });
    expect(prompted.response.text).toContain('Allow access?');
    // Allowing a prompt=consent request goes on to the code (it does not ask in a loop).
    const answered = await browser.post('/oauth2/authorize/consent', {
      interaction: interactionOf(prompted.response.text),
      answer: 'allow',
      csrf: browser.csrf,
    });
    expect(new URL(answered.headers.location).searchParams.get('code')).toBeTruthy();
    const silent = await start(thirdParty, browser, { scope: 'openid groups', prompt: 'none' });
    expect(new URL(silent.response.headers.location).searchParams.get('error')).toBe('consent_required');
  });

  it('never asks for a first-party client', async () => {
    const { response } = await start(firstParty, browser);
    expect(response.status).toBe(303);
    expect(new URL(response.headers.location).searchParams.get('code')).toBeTruthy();
  });

  it('lists the allowed application on the account page; withdrawing revokes its tokens and the next request asks again', async () => {
    const first = await start(thirdParty, browser);
    const tokens = await exchange(thirdParty, first.response.headers.location, first.verifier, first.state);
    expect(
      (await client.fetchUserInfo(thirdParty.config, tokens.access_token, client.skipSubjectCheck)).sub,
    ).toBeTruthy();

    const page = await browser.get('/account/applications');
    expect(page.text).toContain('Photo Printer');
    const withdrawn = await browser.post('/account/applications/revoke', {
      provider: thirdParty.providerId,
      csrf: browser.csrf,
    });
    expect(withdrawn.status).toBe(303);
    expect((await browser.get('/account/applications')).text).not.toContain('Photo Printer');

    await expect(
      client.fetchUserInfo(thirdParty.config, tokens.access_token, client.skipSubjectCheck),
    ).rejects.toThrow();
    expect((await start(thirdParty, browser)).response.text).toContain('Allow access?');
  });

  it("one user's answer never counts for another who resumes the same request handle (the handle is not proof of consent)", async () => {
    const users = t.app.get(UsersService);
    await users.create({ username: 'mallory', password: 'mallory password' }, SYSTEM);
    await users.create({ username: 'victim', password: 'victim password' }, SYSTEM);
    const mallory = new Browser(t.url);
    await mallory.login('mallory', 'mallory password');
    // max_age=1: the consent page comes up while mallory's sign-in is fresh; by the time she allows,
    // it is too old, so the request (with her answer) waits for a sign-in under a handle she holds.
    const { response } = await start(thirdParty, mallory, { max_age: '1' });
    expect(response.text).toContain('Allow access?');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const allowed = await mallory.post('/oauth2/authorize/consent', {
      interaction: interactionOf(response.text),
      answer: 'allow',
      csrf: mallory.csrf,
    });
    expect(allowed.headers.location).toMatch(/^\/login\?return_to=/);
    const resume = decodeURIComponent(/return_to=([^&]+)/.exec(allowed.headers.location)![1]);

    const victim = new Browser(t.url);
    await victim.login('victim', 'victim password');
    const resumed = await victim.get(resume);
    expect(resumed.status).toBe(200);
    expect(resumed.text).toContain('Allow access?');
    expect(resumed.text).toContain('victim');
  });

  it('refuses a consent answer without the CSRF token, and changes nothing', async () => {
    const { response } = await start(thirdParty, browser);
    const forged = await browser.agent
      .post('/oauth2/authorize/consent')
      .type('form')
      .send({ interaction: interactionOf(response.text), answer: 'allow' });
    expect(forged.status).toBe(403);
    const aliceId = (await t.app.get(UsersService).findByUsername('alice'))!.id;
    const consents = t.app.get(DataSource).getRepository(OidcConsent);
    expect(await consents.countBy({ providerId: thirdParty.providerId, userId: aliceId })).toBe(0);
  });
});
