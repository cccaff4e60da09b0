import { LogoutDelivery, SYSTEM, UsersService } from '@signoff/core';
import * as client from 'openid-client';
import type { Browser as Chromium, BrowserContext } from 'playwright-core';
import request from 'supertest';
import { DataSource, In } from 'typeorm';
import { Browser, SIGNED_OUT_PAGE } from '../support/browser';
import { describeInChromium, launchChromium } from '../support/chromium';
import { eventually } from '../support/eventually';
import { signInAtSignoff } from '../support/pages';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { SamlSpApp } from '../support/saml-sp-app';
import { startApp, type TestApp } from '../support/test-app';

/**
 * Issue 8, item 16: every response carries a real Content-Security-Policy (scripts from our own
 * /static/ files only, no inline script or handler), X-Content-Type-Options, Referrer-Policy, and
 * Strict-Transport-Security under https; the logout page may frame exactly the applications it signs
 * out of; pages framed on purpose relax only frame-ancestors.
 */
const PASSWORD = 'a long enough password';
const POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'";
const INLINE_SCRIPT = /<script(?![^>]*\ssrc=)|\son[a-z]+\s*=/i;

let t: TestApp;
const rps: TestClient[] = [];
const sps: SamlSpApp[] = [];

beforeAll(async () => {
  t = await startApp({ FRONTCHANNEL_TIMEOUT: '8s' }, { withWorker: true });
  await t.app.get(UsersService).create({ username: 'alice', password: PASSWORD }, SYSTEM);
  for (let i = 0; i < 2; i++) rps.push(await registerClient(t, {}, { backchannel: false, frontchannel: true }));
});
afterAll(async () => {
  for (const rp of rps) await rp.rp.stop();
  for (const sp of sps) await sp.close();
  await t?.close();
});

const directive = (policy: string, name: string) =>
  policy
    .split('; ')
    .find((part) => part.startsWith(`${name} `))
    ?.slice(name.length + 1);

describe('security headers', () => {
  it('are on every kind of response: pages, JSON, errors, static files', async () => {
    for (const path of [
      '/login',
      '/.well-known/openid-configuration',
      '/no-such-page',
      '/static/signoff.css',
      '/api/v1/users',
    ]) {
      const response = await request(t.url).get(path);
      expect({ path, csp: response.headers['content-security-policy'] }).toEqual({ path, csp: POLICY });
      expect(response.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
      });
      expect(response.headers['strict-transport-security']).toBeUndefined(); // http: RFC 6797 §7.2
    }
  });

  it("serve the pages' scripts as static JavaScript files, and nothing else from /static/", async () => {
    for (const file of ['auto-post.js', 'logout-page.js', 'chain-step.js', 'check-session.js']) {
      const response = await request(t.url).get(`/static/${file}`);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8'); // RFC 9239
    }
    for (const file of ['nope.js', '__proto__', 'constructor', '..%2Fpackage.json'])
      expect((await request(t.url).get(`/static/${file}`)).status).toBe(404);
  });

  it('include Strict-Transport-Security when PUBLIC_URL is https', async () => {
    const https = await startApp({ PUBLIC_URL: 'https://idp.example.test' });
    try {
      for (const path of ['/login', '/.well-known/openid-configuration']) {
        expect((await request(https.url).get(path)).headers['strict-transport-security']).toBe('max-age=31536000');
      }
    } finally {
      await https.close();
    }
  });

  it("no page carries an inline script or handler: login, form_post, logout page; the logout page frames exactly the RPs' origins", async () => {
    const browser = new Browser(t.url);
    expect((await browser.get('/login')).text).not.toMatch(INLINE_SCRIPT);
    for (const rp of rps)
      await login(rp, browser, rp === rps[0] ? { username: 'alice', password: PASSWORD } : undefined);

    // OAuth 2.0 Form Post Response Mode: the auto-submitting page.
    const url = client.buildAuthorizationUrl(rps[0].config, {
      redirect_uri: rps[0].redirectUri,
      scope: 'openid',
      state: 'st',
      response_mode: 'form_post',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const formPost = await browser.get(url.pathname + url.search);
    expect(formPost.text).toContain(`action="${rps[0].redirectUri}"`);
    expect(formPost.text).toContain('<script src="/static/auto-post.js" defer></script>');
    expect(formPost.text).not.toMatch(INLINE_SCRIPT);
    expect(formPost.headers['content-security-policy']).toBe(POLICY);

    await browser.get('/logout');
    const logoutPage = await browser.post('/logout', { csrf: browser.csrf });
    expect(logoutPage.status).toBe(200);
    expect(logoutPage.text).toContain('<iframe src=');
    expect(logoutPage.text).not.toMatch(INLINE_SCRIPT);
    const policy = logoutPage.headers['content-security-policy'];
    expect(directive(policy, 'frame-src')!.split(' ').sort()).toEqual(["'self'", ...rps.map((rp) => rp.rp.url)].sort());
    expect(directive(policy, 'script-src')).toBe("'self'");
    expect(directive(policy, 'frame-ancestors')).toBe("'none'");
  });
});

describeInChromium('the Content-Security-Policy in a real browser (headless Chromium)', () => {
  let chromium: Chromium;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });

  /** A context that records every CSP violation of every frame, and CSP errors on the console. */
  async function watched(): Promise<{ context: BrowserContext; violations: string[] }> {
    const violations: string[] = [];
    const context = await chromium.newContext();
    await context.exposeBinding('reportCspViolation', (_source, text: string) => void violations.push(text));
    await context.addInitScript(
      `document.addEventListener('securitypolicyviolation', (e) => window.reportCspViolation(e.violatedDirective + ' ' + e.blockedURI + ' on ' + e.documentURI));`,
    );
    context.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(`console: ${message.text()}`);
    });
    return { context, violations };
  }

  it('signs in over SAML POST and OIDC, and signs out of OIDC and SAML iframes, with no CSP violation', async () => {
    const sp = await SamlSpApp.start(t, 'csp-post', 'HTTP-POST', 'frontchannel_iframe');
    sps.push(sp);
    const { context, violations } = await watched();
    const page = await context.newPage();
    await signInAtSignoff(page, t.url, 'alice', PASSWORD);
    await page.goto(`${sp.url}/login`); // SSO: the Response goes to the ACS through our auto-posting page
    await page.waitForURL(`${sp.url}/acs`);
    for (const rp of rps) {
      // A form_post response (our auto-posting page) first, then a query response whose code openid-client redeems.
      for (const mode of ['form_post', 'query']) {
        const verifier = client.randomPKCECodeVerifier();
        const url = client.buildAuthorizationUrl(rp.config, {
          redirect_uri: rp.redirectUri,
          scope: 'openid',
          state: 'st',
          response_mode: mode,
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        });
        await page.goto(url.href);
        await page.waitForURL((current) => current.href.startsWith(rp.redirectUri));
        if (mode === 'query')
          await client.authorizationCodeGrant(rp.config, new URL(page.url()), {
            pkceCodeVerifier: verifier,
            expectedState: 'st',
          });
      }
    }
    const frontchannelBefore = rps.map((rp) => rp.rp.frontchannel.length);
    const frontchannelRows = () =>
      t.app
        .get(DataSource)
        .getRepository(LogoutDelivery)
        .find({ where: { channel: In(['frontchannel_oidc', 'frontchannel_saml_iframe']) } });
    const earlier = new Set((await frontchannelRows()).map((row) => row.id));

    await page.goto(`${t.url}/logout`);
    const logoutPage = page.waitForResponse(
      (response) => response.url() === `${t.url}/logout` && response.request().method() === 'POST',
    );
    await page.click('button[type=submit]');
    const policy = (await logoutPage).headers()['content-security-policy'];
    expect(directive(policy, 'frame-src')!.split(' ').sort()).toEqual(
      ["'self'", sp.url, ...rps.map((rp) => rp.rp.url)].sort(),
    );
    await page.waitForURL(SIGNED_OUT_PAGE, { timeout: 20_000 });

    expect(rps.map((rp) => rp.rp.frontchannel.length)).toEqual(frontchannelBefore.map((n) => n + 1));
    expect(sp.logoutRequests).toHaveLength(1);
    const deliveries = await eventually(async () => {
      const rows = (await frontchannelRows()).filter((row) => !earlier.has(row.id));
      return rows.length === 3 && rows.every((row) => row.status === 'succeeded') ? rows : null;
    });
    expect(deliveries).toBeTruthy();
    expect(violations).toEqual([]);
    await context.close();
  });

  it('blocks what the policy forbids: an injected inline script, and a frame of an origin not being signed out', async () => {
    const { context, violations } = await watched();
    const page = await context.newPage();
    await page.goto(`${t.url}/login`);
    const ran = await page.evaluate(`new Promise((resolve) => {
      window.injected = false;
      const script = document.createElement('script');
      script.textContent = 'window.injected = true';
      document.head.appendChild(script);
      const frame = document.createElement('iframe');
      frame.src = ${JSON.stringify(`${rps[0].rp.url}/anything`)};
      document.body.appendChild(frame);
      setTimeout(() => resolve(window.injected), 500);
    })`);
    expect(ran).toBe(false);
    await eventually(async () => violations.length >= 2, 5000);
    expect(violations.join('\n')).toMatch(/script-src-elem inline/);
    expect(violations.join('\n')).toMatch(new RegExp(`frame-src ${rps[0].rp.url.replace(/\./g, '\\.')}`));
    await context.close();
  });
});
