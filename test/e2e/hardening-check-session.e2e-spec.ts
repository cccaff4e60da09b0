import { SYSTEM, UsersService } from '@signoff/core';
import { OidcClientsService } from '@signoff/oidc';
import * as client from 'openid-client';
import type { Browser as Chromium } from 'playwright-core';
import request from 'supertest';
import { Browser } from '../support/browser';
import { describeInChromium, launchChromium } from '../support/chromium';
import { signInAtSignoff } from '../support/pages';
import { authorize, RecordingRp } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

/**
 * Issue 8, item 13: check_session answered "changed" to the opaque origin "null" (a sandboxed frame,
 * a data: page), which is also the "origin" of a private-use redirect URI. An opaque origin identifies
 * no relying party: it gets "error", and session_state is never computed for it.
 */
const NATIVE_REDIRECT = 'com.example.app:/callback';
const PASSWORD = 'a long enough password';
let t: TestApp;
let rp: RecordingRp;
let clientId: string;
let config: client.Configuration;

beforeAll(async () => {
  t = await startApp();
  await t.app.get(UsersService).create({ username: 'alice', password: PASSWORD }, SYSTEM);
  rp = await new RecordingRp(
    t.url,
    () => clientId,
    () => t.clock.now(),
  ).start();
  // A public client with a web redirect (its page frames check_session) and a native app's private-use one.
  const clients = t.app.get(OidcClientsService);
  const { client: registered } = await clients.register(
    clients.parse({
      redirect_uris: [`${rp.url}/callback`, NATIVE_REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
    }),
    {},
    SYSTEM,
  );
  clientId = registered.clientId;
  config = await client.discovery(new URL(t.url), clientId, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
});
afterAll(async () => {
  await rp?.stop();
  await t?.close();
});

async function authorizationResponse(
  browser: Browser,
  redirectUri: string,
  credentials?: { username: string; password: string },
): Promise<URL> {
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    state: 'st',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  return authorize(browser, url, credentials);
}

describe('check_session and the opaque origin "null"', () => {
  it('answers "error" to origin "null", for a client whose redirect URIs include a private-use one', async () => {
    const browser = new Browser(t.url);
    const web = await authorizationResponse(browser, `${rp.url}/callback`, { username: 'alice', password: PASSWORD });
    const state = web.searchParams.get('session_state')!;
    const ask = (origin: string, value: string) =>
      browser.agent.post('/oauth2/check_session/state').send({ client_id: clientId, origin, session_state: value });

    // The real relying party's origin still gets its answers.
    expect((await ask(rp.url, state)).body).toEqual({ result: 'unchanged' });
    expect((await ask(rp.url, `${'f'.repeat(64)}.00`)).body).toEqual({ result: 'changed' });
    // Any opaque or malformed origin gets "error", whatever the state.
    for (const origin of ['null', 'com.example.app:', `${rp.url}/`, `${rp.url} `]) {
      expect((await ask(origin, `${'f'.repeat(64)}.00`)).body).toEqual({ result: 'error' });
      expect((await ask(origin, state)).body).toEqual({ result: 'error' });
    }
  });

  it('gives no session_state to a private-use redirect URI (it has no origin an iframe could check)', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', PASSWORD);
    const native = await authorizationResponse(browser, NATIVE_REDIRECT);
    expect(native.protocol).toBe('com.example.app:');
    expect(native.searchParams.get('code')).toBeTruthy();
    expect(native.searchParams.has('session_state')).toBe(false);
    const web = await authorizationResponse(browser, `${rp.url}/callback`);
    expect(web.searchParams.get('session_state')).toMatch(/^[0-9a-f]{64}\.[0-9a-f]+$/);
  });

  it('the check_session page carries no inline script and may be framed by any site', async () => {
    const response = await request(t.url).get('/oauth2/check_session');
    expect(response.text).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(response.headers['content-security-policy']).toContain('frame-ancestors *');
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
    expect(response.headers['x-frame-options']).toBeUndefined();
  });
});

describeInChromium('check_session in a real browser (headless Chromium)', () => {
  let chromium: Chromium;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });

  it('answers the relying party\'s own page, and "error" (never "changed") to a sandboxed frame of that page', async () => {
    const page = await (await chromium.newContext()).newPage();
    await signInAtSignoff(page, t.url, 'alice', PASSWORD);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: `${rp.url}/callback`,
      scope: 'openid',
      state: 'st',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    await page.goto(url.href);
    await page.waitForURL((current) => current.href.startsWith(`${rp.url}/callback`));
    const state = new URL(page.url()).searchParams.get('session_state')!;

    // The RP page of Session Management 1.0 §4.1.
    await page.goto(`${rp.url}/session-check`);
    await page.frameLocator('#op').locator('body').waitFor({ state: 'attached' });
    expect(await page.evaluate(`window.check(${JSON.stringify(`${clientId} ${state}`)})`)).toBe('unchanged');

    // The same page hosts a sandboxed frame (origin "null") that posts to the page's check_session frame
    // about the same client with a stale state: it must learn nothing but "error". (A check_session
    // frame nested inside the sandbox is refused by Chromium already: "*" in frame-ancestors does not
    // match an opaque ancestor.)
    const opaque = await page.evaluate(`new Promise((resolve) => {
      const issuer = ${JSON.stringify(t.url)};
      const message = ${JSON.stringify(`${clientId} ${'f'.repeat(64)}.00`)};
      window.addEventListener('message', (event) => { if (event.data && event.data.fromSandbox) resolve(event.data.origin + ' ' + event.data.answer); });
      setTimeout(() => resolve('no answer'), 5000);
      const sandbox = document.createElement('iframe');
      sandbox.setAttribute('sandbox', 'allow-scripts');
      sandbox.srcdoc = '<script>'
        + 'window.addEventListener("message", function (e) { parent.postMessage({ fromSandbox: true, origin: String(window.origin), answer: e.data }, "*"); });'
        + 'parent.frames[0].postMessage(' + JSON.stringify(message) + ', ' + JSON.stringify(issuer) + ');'
        + '<' + '/script>';
      document.body.appendChild(sandbox);
    })`);
    expect(opaque).toBe('null error');
  });
});
