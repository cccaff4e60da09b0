import { SYSTEM, UsersService } from '@signoff/core';
import { atHash } from '@signoff/oidc';
import { decodeProtectedHeader } from 'jose';
import * as client from 'openid-client';
import request from 'supertest';
import { Browser } from '../support/browser';
import { authorize, login, registerClient, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

const REGISTRATION_TOKEN = 'r'.repeat(40);
const alice = { username: 'alice', password: 'alice password' };
const bob = { username: 'bob', password: 'bob password' };
let t: TestApp;
let rp: TestClient;
const clients: TestClient[] = [];

beforeAll(async () => {
  t = await startApp({ OIDC_REGISTRATION_TOKEN: REGISTRATION_TOKEN });
  await t.app.get(UsersService).create({ ...alice, email: 'alice@example.com', name: 'Alice' }, SYSTEM);
  await t.app.get(UsersService).create(bob, SYSTEM);
  rp = await registerClient(t);
  clients.push(rp);
});
afterAll(async () => {
  for (const each of clients) await each.rp.stop();
  await t.close();
});

describe('discovery and keys', () => {
  it('advertises the endpoints and every logout capability', async () => {
    const metadata = rp.config.serverMetadata();
    expect(metadata).toMatchObject({
      issuer: t.url,
      end_session_endpoint: `${t.url}/oauth2/end_session`,
      check_session_iframe: `${t.url}/oauth2/check_session`,
      registration_endpoint: `${t.url}/oauth2/register`,
      frontchannel_logout_supported: true,
      frontchannel_logout_session_supported: true,
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      code_challenge_methods_supported: ['S256'],
    });
  });

  it('publishes ES256 and RS256 keys with kids, and no private parts', async () => {
    const { keys } = (await request(t.url).get('/oauth2/jwks')).body;
    expect(keys.map((key: { alg: string }) => key.alg).sort()).toEqual(['ES256', 'ES256', 'RS256', 'RS256']);
    for (const key of keys) {
      expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(key).not.toHaveProperty('d');
    }
  });
});

describe('authorization code flow with PKCE (openid-client as the RP)', () => {
  it('signs in and issues an ID token openid-client verifies against the JWKS, with sid, auth_time, nonce and at_hash', async () => {
    const browser = new Browser(t.url);
    const { tokens, callback } = await login(rp, browser, alice);
    expect(callback.searchParams.get('iss')).toBe(t.url);
    expect(callback.searchParams.get('session_state')).toMatch(/^[0-9a-f]{64}\.[0-9a-f]{16}$/);
    const claims = tokens.claims()!;
    const alice_ = (await t.app.get(UsersService).findByUsername('alice'))!;
    expect(claims).toMatchObject({
      iss: t.url,
      aud: rp.clientId,
      sub: alice_.id,
      sid: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      email: 'alice@example.com',
      name: 'Alice',
    });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(Math.abs(claims.auth_time! - Date.now() / 1000)).toBeLessThan(30);
    expect(claims.at_hash).toBe(atHash(tokens.access_token));
    expect(decodeProtectedHeader(tokens.id_token!)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
  });

  it('gives every ID token of one client in one IdP session the same sid, and another client another sid', async () => {
    const browser = new Browser(t.url);
    const first = await login(rp, browser, alice);
    const second = await login(rp, browser);
    const other = await registerClient(t, {
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_post',
    });
    clients.push(other);
    const third = await login(other, browser);
    expect(second.tokens.claims()!.sid).toBe(first.tokens.claims()!.sid);
    expect(third.tokens.claims()!.sid).not.toBe(first.tokens.claims()!.sid);
    expect(decodeProtectedHeader(third.tokens.id_token!).alg).toBe('ES256');
  });

  it('refreshes with rotation: the used refresh token stops working', async () => {
    const { tokens } = await login(rp, new Browser(t.url), alice);
    const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.claims()!.sid).toBe(tokens.claims()!.sid);
    await expect(client.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('serves userinfo for the access token, and not after the token is revoked (RFC 7009)', async () => {
    const { tokens } = await login(rp, new Browser(t.url), alice);
    const sub = tokens.claims()!.sub;
    expect(await client.fetchUserInfo(rp.config, tokens.access_token, sub)).toMatchObject({
      sub,
      preferred_username: 'alice',
      email: 'alice@example.com',
    });
    await client.tokenRevocation(rp.config, tokens.access_token);
    await expect(client.fetchUserInfo(rp.config, tokens.access_token, sub)).rejects.toThrow();
  });

  it('refuses a replayed code and revokes what the first redemption issued', async () => {
    const browser = new Browser(t.url);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(rp.config, {
      redirect_uri: rp.redirectUri,
      scope: 'openid',
      state: 's1',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await authorize(browser, url, alice);
    const tokens = await client.authorizationCodeGrant(rp.config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: 's1',
    });
    await expect(
      client.authorizationCodeGrant(rp.config, callback, { pkceCodeVerifier: verifier, expectedState: 's1' }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    const introspect = await request(t.url)
      .get('/oauth2/userinfo')
      .set('Authorization', `Bearer ${tokens.access_token}`);
    expect(introspect.status).toBe(401);
  });

  it('refuses a wrong PKCE verifier and a wrong client secret', async () => {
    const browser = new Browser(t.url);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(rp.config, {
      redirect_uri: rp.redirectUri,
      scope: 'openid',
      state: 's',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await authorize(browser, url, alice);
    await expect(
      client.authorizationCodeGrant(rp.config, callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: 's',
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    const wrongSecret = await request(t.url)
      .post('/oauth2/token')
      .auth(rp.clientId, 'wrong')
      .type('form')
      .send({ grant_type: 'authorization_code', code: 'x', redirect_uri: rp.redirectUri });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body.error).toBe('invalid_client');
  });

  it('answers with response_mode=form_post as an auto-posting form', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(rp.config, {
      redirect_uri: rp.redirectUri,
      scope: 'openid',
      state: 'fp',
      response_mode: 'form_post',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const page = await browser.get(url.pathname + url.search);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<form method="post" action="${rp.redirectUri}">`);
    const fields = Object.fromEntries(
      [...page.text.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((match) => [match[1], match[2]]),
    );
    const posted = new Request(rp.redirectUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
    const tokens = await client.authorizationCodeGrant(rp.config, posted, {
      pkceCodeVerifier: verifier,
      expectedState: 'fp',
    });
    expect(tokens.claims()!.sub).toBeDefined();
  });
});

describe('prompt, max_age, login_hint and several accounts', () => {
  const start = async (browser: Browser, extra: Record<string, string>) => {
    const url = client.buildAuthorizationUrl(rp.config, {
      redirect_uri: rp.redirectUri,
      scope: 'openid',
      state: 'p',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      ...extra,
    });
    return browser.get(url.pathname + url.search);
  };

  it('prompt=none: login_required without a session, account_selection_required with two', async () => {
    const browser = new Browser(t.url);
    const none = new URL((await start(browser, { prompt: 'none' })).headers.location);
    expect(none.searchParams.get('error')).toBe('login_required');
    expect(none.searchParams.get('state')).toBe('p');
    await browser.login('alice', 'alice password');
    await browser.login('bob', 'bob password');
    const two = new URL((await start(browser, { prompt: 'none' })).headers.location);
    expect(two.searchParams.get('error')).toBe('account_selection_required');
    const hinted = new URL((await start(browser, { prompt: 'none', login_hint: 'alice' })).headers.location);
    expect(hinted.searchParams.get('code')).toBeTruthy();
  });

  it('shows the account chooser for several accounts, and issues the code for the chosen one', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    await browser.login('bob', 'bob password');
    const chooser = await start(browser, {});
    expect(chooser.text).toContain('Choose an account');
    const [, interaction] = /name="interaction" value="([^"]+)"/.exec(chooser.text)!;
    const aliceSession = [...chooser.text.matchAll(/name="session" value="([^"]+)"/g)].map((match) => match[1]);
    const aliceIndex = chooser.text.indexOf('Alice') < chooser.text.indexOf('bob') ? 0 : 1;
    const chosen = await browser.post('/oauth2/authorize/select', {
      interaction,
      session: aliceSession[aliceIndex],
      csrf: browser.csrf,
    });
    expect(new URL(chosen.headers.location).searchParams.get('code')).toBeTruthy();
    expect(await browser.signedInAs()).toBe('Alice');
  });

  it('prompt=login and an exceeded max_age send the user to the login page again', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    expect((await start(browser, { prompt: 'login' })).headers.location).toMatch(
      /^\/login\?return_to=%2Foauth2%2Fauthorize%2Fresume/,
    );
    t.clock.advance(120_000);
    expect((await start(browser, { max_age: '60' })).headers.location).toMatch(/^\/login\?.*login_hint=alice/);
    expect(new URL((await start(browser, { max_age: '600' })).headers.location).searchParams.get('code')).toBeTruthy();
  });
});

describe('bad authorization requests', () => {
  it('shows an error page, never a redirect, for an unknown client or an unregistered redirect_uri', async () => {
    for (const query of [
      `client_id=nope&redirect_uri=${encodeURIComponent(rp.redirectUri)}&response_type=code&scope=openid`,
      `client_id=${rp.clientId}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&response_type=code&scope=openid`,
    ]) {
      const response = await request(t.url).get(`/oauth2/authorize?${query}`).set('Accept', 'text/html');
      expect(response.status).toBe(400);
      expect(response.headers.location).toBeUndefined();
    }
  });

  it('redirects protocol errors to the registered redirect_uri with state', async () => {
    const response = await request(t.url).get(
      `/oauth2/authorize?client_id=${rp.clientId}&redirect_uri=${encodeURIComponent(rp.redirectUri)}&response_type=code&scope=profile&state=x`,
    );
    const location = new URL(response.headers.location);
    expect(location.origin + location.pathname).toBe(rp.redirectUri);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ error: 'invalid_scope', state: 'x', iss: t.url });
  });
});

describe('dynamic client registration (RFC 7591)', () => {
  it('registers a client with the initial access token, and refuses without it', async () => {
    const metadata = {
      redirect_uris: ['http://127.0.0.1:9/cb'],
      backchannel_logout_uri: 'http://127.0.0.1:9/bcl',
      logout_token_typ: 'JWT',
    };
    const registered = await client.dynamicClientRegistration(new URL(t.url), metadata, client.ClientSecretBasic(), {
      execute: [client.allowInsecureRequests],
      initialAccessToken: REGISTRATION_TOKEN,
    });
    expect(registered.clientMetadata()).toMatchObject({
      client_id: expect.any(String),
      client_secret: expect.any(String),
      logout_token_typ: 'JWT',
      backchannel_logout_uri: 'http://127.0.0.1:9/bcl',
    });
    await expect(
      client.dynamicClientRegistration(new URL(t.url), metadata, client.ClientSecretBasic(), {
        execute: [client.allowInsecureRequests],
      }),
    ).rejects.toThrow();
    const fragment = await request(t.url)
      .post('/oauth2/register')
      .set('Authorization', `Bearer ${REGISTRATION_TOKEN}`)
      .send({ redirect_uris: ['https://rp.example/cb#x'] });
    expect(fragment.status).toBe(400);
    expect(fragment.body.error).toBe('invalid_redirect_uri');
  });
});
