import { IdpSession, LogoutDelivery, SamlServiceProvider, SamlSession, SYSTEM, UsersService } from '@signoff/core';
import { SamlSpsService } from '@signoff/saml';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser as Chromium, Page } from 'playwright-core';
import request from 'supertest';
import { DataSource, IsNull } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { runCli } from '../../apps/idp/src/cli';
import { Browser, SIGNED_OUT_PAGE } from '../support/browser';
import { describeInChromium, launchChromium } from '../support/chromium';
import { eventually } from '../support/eventually';
import { signInAtSignoff } from '../support/pages';
import { freshUserSignedIn, login, registerClient, type TestClient } from '../support/relying-party';
import { SamlSpApp } from '../support/saml-sp-app';
import { spKeys } from '../support/sp-keys';
import { startApp, type TestApp } from '../support/test-app';

// Issue 10, "Logout choices": /logout?return_to= ends an IdP-started logout at an allowed URL, and
// anywhere else on the signed-out page, never a redirect.

const WILDCARD = 'https://*.example.com/bye';
const PORTAL = 'https://portal.example.org/';

let t: TestApp;
let token: string;
let rp: TestClient;
let users = 0;
const auth = () => ({ Authorization: `Bearer ${token}` });

beforeAll(async () => {
  t = await startApp(
    { LOGOUT_RETURN_URLS: `${WILDCARD}, ${PORTAL}`, FRONTCHANNEL_TIMEOUT: '8s' },
    { withWorker: true },
  );
  const root = await t.app
    .get(UsersService)
    .create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
  token = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
  rp = await registerClient(t);
});
afterAll(async () => {
  await rp?.rp.stop();
  await t?.close();
});

async function newUser() {
  const username = `user${++users}`;
  await t.app.get(UsersService).create({ username, password: 'a user password' }, SYSTEM);
  return { username, password: 'a user password' };
}

const signedIn = () => freshUserSignedIn(t);

const liveSessionsOf = (username: string) =>
  t.app
    .get(DataSource)
    .getRepository(IdpSession)
    .count({ where: { user: { username }, endedAt: IsNull() } });

/** GET /logout in a browser nobody is signed in at: nothing to confirm, so the answer is where it ends. */
const withoutSession = (query: Record<string, string>) => request(t.url).get('/logout').query(query);

describe('/logout?return_to= with LOGOUT_RETURN_URLS', () => {
  it('asks first, keeps return_to through the form, then runs the logout and ends at return_to', async () => {
    const { browser, username } = await signedIn();
    const asked = await browser.get(`/logout?${new URLSearchParams({ return_to: 'https://a.example.com/bye' })}`);
    expect(asked.status).toBe(200);
    expect(asked.text).toContain('<input type="hidden" name="return_to" value="https://a.example.com/bye"/>');
    expect(await liveSessionsOf(username)).toBe(1); // a GET signs nobody out

    const done = await browser.post('/logout', { csrf: browser.csrf, return_to: 'https://a.example.com/bye' });
    expect([done.status, done.headers.location]).toEqual([303, 'https://a.example.com/bye']);
    expect(await liveSessionsOf(username)).toBe(0);
    expect(await browser.signedInAs()).toBeNull();
  });

  it('runs the logout for a return_to on no list, and ends on the signed-out page, not there', async () => {
    const { browser, username } = await signedIn();
    const asked = await browser.get(`/logout?${new URLSearchParams({ return_to: 'https://evil.test/bye' })}`);
    expect(asked.text).not.toContain('name="return_to"');
    const done = await browser.post('/logout', { csrf: browser.csrf, return_to: 'https://evil.test/bye' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toMatch(SIGNED_OUT_PAGE);
    expect(await liveSessionsOf(username)).toBe(0);
  });

  it('needs the CSRF token to sign out, return_to or not', async () => {
    const { browser, username } = await signedIn();
    const forged = await browser.post('/logout', { return_to: 'https://a.example.com/bye' });
    expect(forged.status).toBe(403);
    expect(forged.headers.location).toBeUndefined();
    expect(await liveSessionsOf(username)).toBe(1);
  });

  it('goes to an allowed return_to at once when nobody is signed in (nothing to end), as the URL standard writes it', async () => {
    for (const [asked, location] of [
      ['https://a.example.com/bye', 'https://a.example.com/bye'],
      ['https://A.Example.COM/bye', 'https://a.example.com/bye'],
      ['https://xn--bcher-kva.example.com/bye', 'https://xn--bcher-kva.example.com/bye'],
      [PORTAL, PORTAL],
    ]) {
      const response = await withoutSession({ return_to: asked });
      expect([asked, response.status, response.headers.location]).toEqual([asked, 303, location]);
    }
  });

  it.each([
    ['a URL on no list', 'https://evil.test/bye'],
    ['a fragment that looks like the domain', 'https://evil.com#.example.com/bye'],
    ['a query that looks like the domain', 'https://evil.com/?.example.com/bye'],
    ['two labels for the one-label wildcard', 'https://a.b.example.com/bye'],
    ['no label for the wildcard', 'https://example.com/bye'],
    ['userinfo', 'https://a.example.com@evil.com/bye'],
    ['a backslash', 'https://evil.com\\@a.example.com/bye'],
    ['backslashes for slashes', 'https:\\\\a.example.com/bye'],
    ['an encoded dot', 'https://a%2Eexample.com/bye'],
    ['a trailing dot', 'https://a.example.com./bye'],
    ['another port', 'https://a.example.com:8443/bye'],
    ['http for https', 'http://a.example.com/bye'],
    ['an IDN host in Unicode', 'https://bücher.example.com/bye'],
    ['a dot segment', 'https://a.example.com/x/../bye'],
    ['another path', 'https://a.example.com/bye/more'],
    ['a scheme-relative URL', '//a.example.com/bye'],
    ['a path of ours', '/account'],
    ['javascript:', 'javascript:alert(1)//.example.com/bye'],
  ])('answers %s with the signed-out page, never a redirect', async (_name, returnTo) => {
    const response = await withoutSession({ return_to: returnTo });
    expect(response.status).toBe(200);
    expect(response.headers.location).toBeUndefined();
    expect(response.text).toContain('You have signed out of Signoff.');
  });

  it('refuses a return_to given twice', async () => {
    const response = await request(t.url).get(
      `/logout?return_to=${encodeURIComponent(PORTAL)}&return_to=${encodeURIComponent(PORTAL)}`,
    );
    expect([response.status, response.headers.location]).toEqual([200, undefined]);
  });
});

describe("/logout?return_to=&client_id= with an application's own list", () => {
  const loggedOut = () => `${rp.rp.url}/logged-out`;

  it("ends at an OIDC client's registered post_logout_redirect_uri when client_id names it, after its back channel", async () => {
    const user = await newUser();
    const browser = new Browser(t.url);
    const { tokens } = await login(rp, browser, user);
    const sid = tokens.claims()!.sid as string;
    const query = new URLSearchParams({ return_to: loggedOut(), client_id: rp.clientId });
    const asked = await browser.get(`/logout?${query}`);
    expect(asked.text).toContain(`name="client_id" value="${rp.clientId}"`);
    const done = await browser.post('/logout', { csrf: browser.csrf, return_to: loggedOut(), client_id: rp.clientId });
    expect([done.status, done.headers.location]).toEqual([303, loggedOut()]);
    expect(await liveSessionsOf(user.username)).toBe(0);
    // The normal logout ran: the RP was told over its back channel.
    expect(await eventually(async () => rp.rp.logoutTokens.some((received) => received.claims.sid === sid))).toBe(true);
  });

  it("does not take an application's URL without its client_id, nor with another's", async () => {
    const other = await registerClient(t);
    try {
      for (const query of [
        { return_to: loggedOut() } as Record<string, string>,
        { return_to: loggedOut(), client_id: other.clientId },
        { return_to: loggedOut(), client_id: 'no-such-client' },
        { return_to: `${loggedOut()}/more`, client_id: rp.clientId },
      ]) {
        const response = await withoutSession(query);
        expect([query, response.status, response.headers.location]).toEqual([query, 200, undefined]);
      }
      const own = await withoutSession({ return_to: loggedOut(), client_id: rp.clientId });
      expect([own.status, own.headers.location]).toEqual([303, loggedOut()]);
    } finally {
      await other.rp.stop();
    }
  });

  it("takes a SAML SP's logoutReturnUrls (admin API), by entityID, while the SP is enabled", async () => {
    const { certificate } = await spKeys('wiki.example');
    const entityId = 'https://wiki.example/metadata';
    const created = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({
        protocol: 'saml',
        saml: {
          entityId,
          acsUrls: ['https://wiki.example/acs'],
          certificates: [certificate],
          logoutReturnUrls: ['https://*.wiki.example/bye', 'http://127.0.0.1:8080/bye'],
        },
      });
    expect(created.status).toBe(201);
    expect(created.body.saml.logoutReturnUrls).toEqual(['https://*.wiki.example/bye', 'http://127.0.0.1:8080/bye']);

    const ask = (returnTo: string) => withoutSession({ return_to: returnTo, client_id: entityId });
    expect((await ask('https://team.wiki.example/bye')).headers.location).toBe('https://team.wiki.example/bye');
    expect((await ask('http://127.0.0.1:8080/bye')).headers.location).toBe('http://127.0.0.1:8080/bye');
    expect((await ask('https://a.team.wiki.example/bye')).headers.location).toBeUndefined();

    // A change replaces the list.
    const changed = await request(t.url)
      .patch(`/api/v1/providers/${created.body.id}`)
      .set(auth())
      .send({ saml: { logoutReturnUrls: ['https://wiki.example/signed-out'] } });
    expect(changed.body.saml.logoutReturnUrls).toEqual(['https://wiki.example/signed-out']);
    expect((await ask('https://team.wiki.example/bye')).headers.location).toBeUndefined();
    expect((await ask('https://wiki.example/signed-out')).headers.location).toBe('https://wiki.example/signed-out');

    await request(t.url).patch(`/api/v1/providers/${created.body.id}`).set(auth()).send({ enabled: false });
    expect((await ask('https://wiki.example/signed-out')).headers.location).toBeUndefined();
  });

  it('refuses bad logoutReturnUrls with a 400 naming each, and registers nothing', async () => {
    const before = await t.app.get(DataSource).getRepository(SamlServiceProvider).count();
    const response = await request(t.url)
      .post('/api/v1/providers')
      .set(auth())
      .send({
        protocol: 'saml',
        saml: {
          entityId: 'https://bad.example/metadata',
          acsUrls: ['https://bad.example/acs'],
          logoutReturnUrls: [
            'https://ok.example/bye',
            'http://bad.example/bye',
            'https://*.com/bye',
            'https://a.*.example/bye',
            'https://bad.example/bye#top',
          ],
        },
      });
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual([
      'http://bad.example/bye must use https (http only for localhost and 127.0.0.0/8)',
      'https://*.com/bye a wildcard needs at least two labels after it (https://*.example.com/…)',
      'https://a.*.example/bye may have one wildcard, as the whole first label of the host only (https://*.example.com/…)',
      expect.stringMatching(/^https:\/\/bad\.example\/bye#top must be an absolute URL written plainly/),
    ]);
    expect(await t.app.get(DataSource).getRepository(SamlServiceProvider).count()).toBe(before);
  });

  it('takes them from the CLI too: import-saml-sp --logout-return-url, repeatable, with the same checks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signoff-return-to-'));
    const metadata = (host: string) =>
      `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://${host}/sp"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
      `<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://${host}/acs" index="0"/></SPSSODescriptor></EntityDescriptor>`;
    const stderr: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });
    try {
      writeFileSync(join(dir, 'crm.xml'), metadata('crm.example'));
      const output: string[] = [];
      const args = ['--logout-return-url', 'https://crm.example/bye', '--logout-return-url', 'https://*.crm.example/'];
      expect(
        await runCli(['import-saml-sp', join(dir, 'crm.xml'), ...args], t.config, (line) => output.push(line)),
      ).toBe(0);
      expect(output).toContain('logout return URLs: https://crm.example/bye, https://*.crm.example/');
      expect((await t.app.get(SamlSpsService).byEntityId('https://crm.example/sp'))!.logoutReturnUrls).toEqual([
        'https://crm.example/bye',
        'https://*.crm.example/',
      ]);

      writeFileSync(join(dir, 'erp.xml'), metadata('erp.example'));
      const bad = ['import-saml-sp', join(dir, 'erp.xml'), '--logout-return-url', 'https://erp.example/bye#x'];
      expect(await runCli(bad, t.config, () => undefined)).toBe(1);
      expect(stderr.join('')).toMatch(
        /^signoff: logoutReturnUrls: https:\/\/erp\.example\/bye#x must be an absolute URL/,
      );
      expect(await t.app.get(SamlSpsService).byEntityId('https://erp.example/sp')).toBeNull();
    } finally {
      write.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeInChromium('return_to in a real browser (headless Chromium)', () => {
  let chromium: Chromium;
  const apps: SamlSpApp[] = [];
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    for (const app of apps) await app.close();
  });

  /** A node-saml web application registered for front-channel logout (Redirect, in an iframe), whose /bye page is on its list. */
  async function spApp(name: string) {
    const app = await SamlSpApp.start(t, name, 'HTTP-Redirect', 'frontchannel_iframe');
    apps.push(app);
    const sps = t.app.get(SamlSpsService);
    const { providerId } = (await sps.byEntityId(`${app.url}/metadata`))!;
    await sps.update(providerId, null, { logoutReturnUrls: [`${app.url}/bye`] }, SYSTEM);
    return { app, entityId: `${app.url}/metadata`, providerId };
  }

  async function signIn(sp: SamlSpApp): Promise<Page> {
    const user = await newUser();
    const page = await (await chromium.newContext()).newPage();
    await signInAtSignoff(page, t.url, user.username, user.password);
    await page.goto(`${sp.url}/login`);
    await page.waitForURL(`${sp.url}/acs`);
    expect(await page.textContent('h1')).toBe(`${sp.name}: signed in`);
    return page;
  }

  it("ends at the SP's page, after the logout page logged the SP out (its session gone)", async () => {
    const { app, entityId, providerId } = await spApp('shop');
    const page = await signIn(app);
    const query = new URLSearchParams({ return_to: `${app.url}/bye`, client_id: entityId });
    await page.goto(`${t.url}/logout?${query}`);
    expect(await page.textContent('p')).toContain('Sign out');
    await page.click('button[type=submit]');
    await page.waitForURL(`${app.url}/bye`, { timeout: 20_000 });
    expect(await page.textContent('h1')).toBe('shop: session ended');
    expect(app.logoutRequests).toEqual([{ nameID: app.profile!.nameID, sessionIndex: app.profile!.sessionIndex }]);
    const db = t.app.get(DataSource);
    expect(
      (await db.getRepository(SamlSession).findOneByOrFail({ sessionIndex: app.profile!.sessionIndex })).endedAt,
    ).toBeInstanceOf(Date);
    expect(await db.getRepository(LogoutDelivery).findOneByOrFail({ providerId })).toMatchObject({
      channel: 'frontchannel_saml_iframe',
      status: 'succeeded',
    });
    await page.goto(`${t.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
  });

  it("ends on Signoff's signed-out page for a return_to on no list, the SP logged out all the same", async () => {
    const { app, entityId } = await spApp('books');
    const page = await signIn(app);
    const query = new URLSearchParams({ return_to: 'https://a.b.example.com/bye', client_id: entityId });
    await page.goto(`${t.url}/logout?${query}`);
    await page.click('button[type=submit]');
    await page.waitForURL(SIGNED_OUT_PAGE, { timeout: 20_000 });
    expect(app.sessionEnded).toBe(true);
  });
});
