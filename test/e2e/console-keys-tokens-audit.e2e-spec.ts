import { ApiToken, KeysService, SYSTEM, type User, UsersService } from '@signoff/core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser as Chromium, Page } from 'playwright-core';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { describeInChromium, launchChromium } from '../support/chromium';
import { pageWidth, signInTo, unlabelledControls } from '../support/pages';
import { startApp, type TestApp } from '../support/test-app';

// Issue 11: the console's Keys, API tokens and Audit log pages, and the audit filters of the admin API.

/** Where the suite leaves a picture of every console page (the README links them). */
const SCREENSHOTS = join(__dirname, '..', '..', 'docs', 'screenshots');

/** The text of a page without its markup, whitespace collapsed: what a reader sees. */
const visible = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

describe('the console pages for keys, API tokens and the audit log', () => {
  let t: TestApp;
  let root: User;
  let bob: User;

  beforeAll(async () => {
    t = await startApp();
    const users = t.app.get(UsersService);
    root = await users.create({ username: 'root', password: 'root password 1', isAdmin: true }, SYSTEM);
    bob = await users.create({ username: 'bob', password: 'bob password 12' }, SYSTEM);
  });
  afterAll(() => t?.close());

  const signedIn = async (username = 'root', password = 'root password 1') => {
    const browser = new Browser(t.url);
    await browser.login(username, password);
    return browser;
  };
  const activeKids = async () => {
    const keys = t.app.get(KeysService);
    return Promise.all([keys.active('oidc', 'ES256'), keys.active('oidc', 'RS256'), keys.active('saml', 'RS256')]).then(
      (active) => active.map((key) => key.kid),
    );
  };
  const tokens = () => t.app.get(DataSource).getRepository(ApiToken);

  describe('who may use them', () => {
    it('refuses a signed-in user who is not an administrator, on every page and form, and changes nothing', async () => {
      const browser = await signedIn('bob', 'bob password 12');
      for (const path of [
        '/admin/keys',
        '/admin/keys/rotate',
        '/admin/api-tokens',
        '/admin/api-tokens/new',
        '/admin/audit',
      ]) {
        const response = await browser.get(path);
        expect([path, response.status]).toEqual([path, 403]);
        expect(response.text).toContain('Only administrators may use the console.');
      }
      await browser.get('/');
      const kids = await activeKids();
      const count = await tokens().count();
      expect((await browser.post('/admin/keys/rotate', { csrf: browser.csrf })).status).toBe(403);
      expect(
        (await browser.post('/admin/api-tokens/new', { name: 'mine', days: '30', scope: 'admin', csrf: browser.csrf }))
          .status,
      ).toBe(403);
      expect(await activeKids()).toEqual(kids);
      expect(await tokens().count()).toBe(count);
    });

    it('sends nobody-signed-in to the login page, which brings them back', async () => {
      const response = await new Browser(t.url).get('/admin/audit?actor=system');
      expect(response.status).toBe(303);
      expect(response.headers.location).toBe(`/login?return_to=${encodeURIComponent('/admin/audit?actor=system')}`);
    });

    it('refuses every form without its CSRF token (another site posting with the admin cookie) and changes nothing', async () => {
      const browser = await signedIn();
      const { token, record } = await t.app.get(ApiTokensService).create(root, 'csrf-target', null, SYSTEM);
      const kids = await activeKids();
      const count = await tokens().count();
      for (const csrf of [undefined, 'forged']) {
        const extra: Record<string, string> = csrf ? { csrf } : {};
        for (const [path, form] of [
          ['/admin/keys/rotate', {}],
          ['/admin/api-tokens/new', { name: 'forged', days: '30' }],
          [`/admin/api-tokens/${record.id}/revoke`, {}],
        ] as const) {
          const response = await browser.post(path, { ...form, ...extra });
          expect([path, response.status]).toEqual([path, 403]);
          expect(response.text).toContain('did not come from Signoff');
        }
      }
      expect(await activeKids()).toEqual(kids);
      expect(await tokens().count()).toBe(count);
      expect((await request(t.url).get('/api/v1/me').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    });
  });

  describe('Keys', () => {
    it('lists every key set with its states and dates, and the addresses applications are configured with', async () => {
      const browser = await signedIn();
      const page = await browser.get('/admin/keys');
      expect(page.status).toBe(200);
      for (const set of ['OIDC ES256', 'OIDC RS256', 'SAML RS256']) expect(page.text).toContain(`>${set}</h2>`);
      const listed = await t.app.get(KeysService).list();
      for (const key of listed) expect(page.text).toContain(`<code class="copy">${key.kid}</code>`);
      expect(page.text.match(/class="badge badge-active"/g)).toHaveLength(3);
      expect(page.text.match(/class="badge badge-next"/g)).toHaveLength(3);
      const text = visible(page.text);
      expect(text).toContain(`Issuer ${t.url} `);
      expect(text).toContain(`Discovery URL ${t.url}/.well-known/openid-configuration`);
      expect(text).toContain(`JWKS URL ${t.url}/oauth2/jwks`);
      expect(text).toContain(`IdP entityID ${t.config.saml.entityId}`);
      expect(text).toContain(`Metadata URL ${t.url}/saml/metadata`);
      // The same addresses as the API's, from the same function.
      const token = (await t.app.get(ApiTokensService).create(root, 'endpoints', null, SYSTEM)).token;
      const endpoints = (await request(t.url).get('/api/v1/endpoints').set('Authorization', `Bearer ${token}`)).body;
      for (const url of [...Object.values(endpoints.oidc), ...Object.values(endpoints.saml)])
        expect(page.text).toContain(`<code class="copy">${url as string}</code>`);
    });

    it('asks before rotating, says what rotation does, and rotates: the next key signs, the active one is retired but published', async () => {
      const browser = await signedIn();
      const keys = t.app.get(KeysService);
      const before = await keys.list();
      const nextOf = (use: string, alg: string) =>
        before.find((key) => key.use === use && key.alg === alg && key.state === 'next')!.kid;
      const activeBefore = await activeKids();

      const confirm = await browser.get('/admin/keys/rotate');
      expect(confirm.status).toBe(200);
      const words = visible(confirm.text);
      expect(words).toContain('The next key becomes active');
      expect(words).toContain('The active key is retired');
      expect(words).toMatch(/stays published until \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC \(7 days\)/);
      expect(words).toContain('A new next key is made');
      for (const kid of activeBefore) expect(confirm.text).toContain(kid);
      // Looking is not rotating.
      expect(await activeKids()).toEqual(activeBefore);

      const rotated = await browser.post('/admin/keys/rotate', { csrf: browser.csrf });
      expect(rotated.status).toBe(303);
      expect(rotated.headers.location).toBe('/admin/keys?done=rotated');
      expect(await activeKids()).toEqual([nextOf('oidc', 'ES256'), nextOf('oidc', 'RS256'), nextOf('saml', 'RS256')]);

      const after = await browser.get(rotated.headers.location);
      expect(after.text).toContain('The keys were rotated');
      expect(after.text.match(/class="badge badge-retired"/g)).toHaveLength(3);
      // The retired keys are still in the JWKS (what they signed keeps verifying), and so is the new next key.
      const jwks = (await request(t.url).get('/oauth2/jwks')).body.keys.map((key: { kid: string }) => key.kid);
      expect(jwks).toEqual(expect.arrayContaining([...activeBefore.slice(0, 2), ...(await activeKids()).slice(0, 2)]));
      const audit = await browser.get('/admin/audit?action=keys.rotated&actor=root');
      expect(audit.text).toContain('<code>keys.rotated</code>');
    });
  });

  describe('API tokens', () => {
    it('refuses a lifetime out of bounds or a missing name with the problem beside the field, and creates nothing', async () => {
      const browser = await signedIn();
      await browser.get('/admin/api-tokens/new');
      const count = await tokens().count();
      for (const days of ['0', '366', 'soon', '', '-5', '1.5']) {
        const response = await browser.post('/admin/api-tokens/new', {
          name: 'ci',
          days,
          scope: 'admin',
          csrf: browser.csrf,
        });
        expect([days, response.status]).toEqual([days, 400]);
        expect(response.text).toMatch(/id="field-days-error"[^>]*>must be a whole number of days from 1 to 365</);
        expect(response.text).toContain('value="ci"'); // what was typed stays
        expect(response.headers['cache-control']).toBe('no-store');
      }
      const nameless = await browser.post('/admin/api-tokens/new', {
        name: ' ',
        days: '30',
        scope: 'admin',
        csrf: browser.csrf,
      });
      expect(nameless.status).toBe(400);
      expect(nameless.text).toMatch(/id="field-name-error"/);
      expect(nameless.text).not.toContain('id="field-days-error"');
      const long = await browser.post('/admin/api-tokens/new', {
        name: 'x'.repeat(101),
        days: '30',
        scope: 'admin',
        csrf: browser.csrf,
      });
      expect(long.status).toBe(400);
      expect(long.text).toMatch(/id="field-name-error"[^>]*>must NOT have more than 100 characters</);
      expect(await tokens().count()).toBe(count);
    });

    it('shows a new token once (no-store, no redirect), which then works as a Bearer until it is revoked from the page', async () => {
      const browser = await signedIn();
      await browser.get('/admin/api-tokens/new');
      const created = await browser.post('/admin/api-tokens/new', {
        name: 'deploy pipeline',
        days: '30',
        scope: 'admin',
        csrf: browser.csrf,
      });
      expect(created.status).toBe(201);
      expect(created.headers.location).toBeUndefined();
      expect(created.headers['cache-control']).toBe('no-store');
      const token = /<code class="copy secret" id="api-token">(so_[A-Za-z0-9_-]+)<\/code>/.exec(created.text)?.[1];
      expect(token).toMatch(/^so_[A-Za-z0-9_-]{43}$/);
      expect(visible(created.text)).toContain('this is the only time Signoff shows it');
      const record = await tokens().findOneByOrFail({ name: 'deploy pipeline' });
      expect(record.userId).toBe(root.id);
      // 30 days from now, to the second.
      expect(Math.abs(record.expiresAt!.getTime() - (t.clock.now().getTime() + 30 * 86_400_000))).toBeLessThan(5000);

      const me = await request(t.url).get('/api/v1/me').set('Authorization', `Bearer ${token}`);
      expect(me.status).toBe(200);
      expect(me.body.user.username).toBe('root');

      // The list shows it, active and used, but never the token again.
      const list = await browser.get('/admin/api-tokens');
      expect(list.text).not.toContain(token!);
      const row = new RegExp(`<tr data-token="${record.id}">.*?</tr>`, 's').exec(list.text)?.[0] ?? '';
      expect(row).toContain('deploy pipeline');
      expect(row).toContain('badge-active');
      expect(row).toContain('>root</a>');
      expect(/data-label="Last used">(.*?)<\/td>/.exec(row)?.[1]).toMatch(/^<time datetime=/); // it was just used
      expect(row).toContain('aria-label="Revoke the token deploy pipeline of root"');

      const revoked = await browser.post(`/admin/api-tokens/${record.id}/revoke`, { csrf: browser.csrf });
      expect(revoked.status).toBe(303);
      expect(revoked.headers.location).toBe('/admin/api-tokens?done=revoked');
      expect((await request(t.url).get('/api/v1/me').set('Authorization', `Bearer ${token}`)).status).toBe(401);
      const after = await browser.get(revoked.headers.location);
      expect(after.text).toContain('The token was revoked');
      const revokedRow = new RegExp(`<tr data-token="${record.id}">.*?</tr>`, 's').exec(after.text)?.[0] ?? '';
      expect(revokedRow).toContain('badge-revoked');
      expect(revokedRow).not.toContain('Revoke</button>');
    });

    it('makes a token for global token revocation alone when asked, and refuses a scope it does not offer', async () => {
      const browser = await signedIn();
      await browser.get('/admin/api-tokens/new');
      const forged = await browser.post('/admin/api-tokens/new', {
        name: 'everything',
        days: '30',
        scope: 'superuser',
        csrf: browser.csrf,
      });
      expect(forged.status).toBe(400);
      expect(await tokens().countBy({ name: 'everything' })).toBe(0);

      const created = await browser.post('/admin/api-tokens/new', {
        name: 'security tool',
        days: '30',
        scope: 'global_token_revocation',
        csrf: browser.csrf,
      });
      expect(created.status).toBe(201);
      const token = /<code class="copy secret" id="api-token">(so_[A-Za-z0-9_-]+)<\/code>/.exec(created.text)![1];
      expect(visible(created.text)).toContain('/oauth2/global-token-revocation');
      expect((await tokens().findOneByOrFail({ name: 'security tool' })).scopes).toEqual(['global_token_revocation']);
      // It cannot use the admin API, and can make the one call it is for (a user with nothing to end: 204 all the same).
      expect((await request(t.url).get('/api/v1/me').set('Authorization', `Bearer ${token}`)).status).toBe(403);
      const someone = await t.app
        .get(UsersService)
        .create({ username: 'gtr-target', password: 'a password 1' }, SYSTEM);
      const revocation = await request(t.url)
        .post('/oauth2/global-token-revocation')
        .set('Authorization', `Bearer ${token}`)
        .send({ sub_id: { format: 'iss_sub', iss: t.url, sub: someone.id } });
      expect(revocation.status).toBe(204);
      const list = await browser.get('/admin/api-tokens');
      expect(list.text).toMatch(/data-label="May use">Global token revocation only</);
    });

    it('says a token expired, and answers an unknown token id with 404', async () => {
      const browser = await signedIn();
      const { record } = await t.app.get(ApiTokensService).create(root, 'short-lived', 60_000, SYSTEM);
      t.clock.advance(61_000);
      const list = await browser.get('/admin/api-tokens');
      const row = new RegExp(`<tr data-token="${record.id}">.*?</tr>`, 's').exec(list.text)?.[0] ?? '';
      expect(row).toContain('badge-expired');
      const missing = await browser.post('/admin/api-tokens/00000000-0000-4000-8000-000000000000/revoke', {
        csrf: browser.csrf,
      });
      expect(missing.status).toBe(404);
    });
  });

  describe('Audit log', () => {
    let dave: string;
    let erin: string;
    let between: Date;

    beforeAll(async () => {
      // dave is created by root, from the console; then, later, erin.
      const browser = await signedIn();
      await browser.get('/admin/users/new');
      const first = await browser.post('/admin/users/new', { username: 'dave', csrf: browser.csrf });
      dave = /\/admin\/users\/([0-9a-f-]{36})/.exec(first.headers.location)![1];
      t.clock.advance(5000);
      between = t.clock.now();
      t.clock.advance(5000);
      const second = await browser.post('/admin/users/new', { username: 'erin', csrf: browser.csrf });
      erin = /\/admin\/users\/([0-9a-f-]{36})/.exec(second.headers.location)![1];
    });

    const rows = (html: string) => [...html.matchAll(/<tr data-event="[^"]+">.*?<\/tr>/gs)].map((match) => match[0]);
    /** The user ids in the Target cells of the listed events. */
    const targets = (html: string) =>
      rows(html).map((row) => /data-label="Target">user <a href="\/admin\/users\/([0-9a-f-]{36})"/.exec(row)?.[1]);

    it('finds what an administrator did by the actor filter, and shows who, what, to whom, from where', async () => {
      const browser = await signedIn();
      const page = await browser.get('/admin/audit?actor=root&action=user.created');
      expect(page.status).toBe(200);
      const found = rows(page.text);
      expect(found).toHaveLength(2);
      // Newest first: erin, then dave.
      expect(found[0]).toContain(`user <a href="/admin/users/${erin}">erin</a>`);
      expect(found[1]).toContain(`user <a href="/admin/users/${dave}">dave</a>`);
      expect(found[1]).toContain(`<a href="/admin/users/${root.id}">root</a><span class="muted"> (admin)</span>`);
      expect(found[1]).toContain('<code>user.created</code>');
      expect(found[1]).toMatch(/data-label="Address">(::ffff:)?127\.0\.0\.1</);
      expect(found[1]).toMatch(/data-label="Request id"><code class="copy">[A-Za-z0-9._:-]{8,64}</);
      expect(found[1]).toContain('<code class="details">{&quot;username&quot;:&quot;dave&quot;');
      // Another actor did not create them: bob did nothing; the system created root and bob.
      expect(rows((await browser.get('/admin/audit?actor=bob&action=user.created')).text)).toHaveLength(0);
      const bySystem = (await browser.get('/admin/audit?actor=system&action=user.created')).text;
      expect(rows(bySystem).join('')).toContain(`user <a href="/admin/users/${bob.id}">bob</a>`);
      expect(rows(bySystem).join('')).not.toContain('dave');
      expect(bySystem).toContain('Signoff (system)');
    });

    it('narrows by time: since is inclusive, until exclusive, in ISO 8601 as the API reads them', async () => {
      const browser = await signedIn();
      const at = encodeURIComponent(between.toISOString());
      const later = (await browser.get(`/admin/audit?actor=root&action=user.created&since=${at}`)).text;
      expect(rows(later).join('')).toContain('erin');
      expect(rows(later).join('')).not.toContain('dave');
      const earlier = (await browser.get(`/admin/audit?actor=root&action=user.created&until=${at}`)).text;
      expect(rows(earlier).join('')).toContain('dave');
      expect(rows(earlier).join('')).not.toContain('erin');
      // The filter form keeps what was asked, and so do the pager's links.
      const paged = (await browser.get(`/admin/audit?actor=root&action=user.created&limit=1`)).text;
      expect(rows(paged)).toHaveLength(1);
      expect(paged).toContain('href="/admin/audit?actor=root&amp;action=user.created&amp;offset=1" rel="next"');
      expect(paged).toContain('<option value="user.created" selected>user.created</option>');
      expect(paged).toContain('id="filter-actor" type="search" name="actor" value="root"');
    });

    it('says clearly what is wrong with a filter, and lists nothing', async () => {
      const browser = await signedIn();
      for (const [query, message] of [
        ['since=yesterday', 'since must be an ISO 8601 date or date-time with an offset'],
        ['until=2026-02-30', 'until must be an ISO 8601 date or date-time with an offset'],
        ['since=2026-01-02&until=2026-01-01', 'since must be before until.'],
        ['actor=nobody-here', 'No user is named nobody-here.'],
      ]) {
        const response = await browser.get(`/admin/audit?${query}`);
        expect([query, response.status]).toEqual([query, 400]);
        expect(response.text).toMatch(new RegExp(`<p class="error" role="alert">${message.replace(/[.]/g, '\\.')}`));
        expect(rows(response.text)).toHaveLength(0);
      }
    });

    it("links each target to its page, filters by target (the user page's link), and escapes what events carry", async () => {
      const browser = await signedIn();
      const userPage = (await browser.get(`/admin/users/${dave}`)).text;
      expect(userPage).toContain(`href="/admin/audit?target=${dave}"`);
      const aboutDave = (await browser.get(`/admin/audit?target=${dave}`)).text;
      expect(rows(aboutDave).length).toBeGreaterThan(0);
      expect(new Set(targets(aboutDave))).toEqual(new Set([dave]));

      await t.app
        .get(ApiTokensService)
        .create(root, '<img src=x onerror=alert(1)>', null, { type: 'admin', id: root.id });
      const created = (await browser.get('/admin/audit?action=api_token.created')).text;
      expect(created).not.toContain('<img src=x');
      expect(created).toContain('&lt;img src=x onerror=alert(1)>');
    });

    it("follows the dashboard's link to the logins of the last 24 hours", async () => {
      const browser = await signedIn();
      const dashboard = (await browser.get('/admin')).text;
      const href = /href="(\/admin\/audit\?action=session\.started&amp;since=[^"]+)"/.exec(dashboard)?.[1];
      expect(href).toBeDefined();
      const logins = await browser.get(href!.replace(/&amp;/g, '&'));
      expect(logins.status).toBe(200);
      const found = rows(logins.text);
      expect(found.length).toBeGreaterThan(0);
      for (const row of found) expect(row).toContain('<code>session.started</code>');
      expect(found.join('')).toContain(`<a href="/admin/users/${root.id}">root</a>`);
    });
  });

  describe('GET /api/v1/audit-events filters', () => {
    let token: string;
    beforeAll(async () => {
      token = (await t.app.get(ApiTokensService).create(root, 'audit reader', null, SYSTEM)).token;
    });
    const get = (query: string) =>
      request(t.url).get(`/api/v1/audit-events?${query}`).set('Authorization', `Bearer ${token}`);

    it('filters by actor_id, actor_type and the period', async () => {
      const byRoot = await get(`actor_id=${root.id}&action=user.created`);
      expect(byRoot.status).toBe(200);
      expect(byRoot.body.items.map((event: { details: { username: string } }) => event.details.username)).toEqual([
        'erin',
        'dave',
      ]);
      for (const event of byRoot.body.items) expect(event).toMatchObject({ actorType: 'admin', actorId: root.id });
      const bySystem = await get('actor_type=system&action=user.created');
      expect(bySystem.body.items.map((event: { targetId: string }) => event.targetId)).toEqual(
        expect.arrayContaining([root.id, bob.id]),
      );
      expect(bySystem.body.items.every((event: { actorType: string }) => event.actorType === 'system')).toBe(true);
      const created = (await get(`actor_id=${root.id}&action=user.created`)).body.items as Array<{ at: string }>;
      const until = (await get(`actor_id=${root.id}&action=user.created&until=${encodeURIComponent(created[0].at)}`))
        .body;
      expect(until.total).toBe(1); // exclusive: erin's own instant is not before itself
      const since = (await get(`actor_id=${root.id}&action=user.created&since=${encodeURIComponent(created[0].at)}`))
        .body;
      expect(since.total).toBe(1);
      expect(since.items[0].details.username).toBe('erin');
    });

    it('answers 400 to values that cannot be meant', async () => {
      for (const query of [
        'actor_id=root',
        'actor_type=robot',
        'since=yesterday',
        'since=2026-01-02&until=2026-01-01',
        `action=${'a'.repeat(65)}`,
        'target_id=a&target_id=b',
      ]) {
        const response = await get(query);
        expect([query, response.status]).toEqual([query, 400]);
        expect(response.body.message).toEqual(expect.any(String));
      }
    });

    it('documents the filters and a typed event in OpenAPI', async () => {
      const doc = (await request(t.url).get('/api/docs/openapi.json')).body?.paths
        ? (await request(t.url).get('/api/docs/openapi.json')).body
        : (await request(t.url).get('/api/docs')).body;
      const names = doc.paths['/audit-events'].get.parameters.map((parameter: { name: string }) => parameter.name);
      expect(names).toEqual(
        expect.arrayContaining(['action', 'target_id', 'actor_id', 'actor_type', 'since', 'until', 'limit']),
      );
      expect(doc.components.schemas.AuditEvent.properties.actorType.enum).toEqual([
        'user',
        'admin',
        'system',
        'provider',
        'anonymous',
      ]);
    });
  });
});

describeInChromium('keys, API tokens and the audit log in Chromium', () => {
  let t: TestApp;
  let chromium: Chromium;
  let admin: Page;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    t = await startApp();
    const users = t.app.get(UsersService);
    const root = await users.create({ username: 'root', password: 'root password 1', isAdmin: true }, SYSTEM);
    await users.create(
      { username: 'carol', password: 'carol password 1', email: 'carol@example.org' },
      {
        type: 'admin',
        id: root.id,
      },
    );
    await t.app.get(ApiTokensService).create(root, 'nightly backup', 90 * 86_400_000, SYSTEM);
    chromium = await launchChromium();
    admin = await (await chromium.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signInTo(admin, t.url, '/admin/keys', 'root', 'root password 1');
  });
  afterAll(async () => {
    await chromium?.close();
    await t?.close();
  });

  const shoot = (page: Page, name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  const PAGES = [
    '/admin/keys',
    '/admin/keys/rotate',
    '/admin/api-tokens',
    '/admin/api-tokens/new',
    '/admin/audit',
    '/admin/audit?actor=root&since=2020-01-01',
  ];

  it('rotates the keys from the keyboard, after the confirmation page', async () => {
    const kid = (await t.app.get(KeysService).active('oidc', 'ES256')).kid;
    await admin.goto(`${t.url}/admin/keys`);
    await shoot(admin, 'console-keys');
    await admin.click('text=Rotate keys');
    await admin.waitForURL(`${t.url}/admin/keys/rotate`);
    // Tab to the button (past the skip link, the navigation, the page), then Enter.
    for (let presses = 0; presses < 40; presses++) {
      await admin.keyboard.press('Tab');
      if ((await admin.evaluate(() => document.activeElement?.textContent?.trim())) === 'Rotate every key set now')
        break;
    }
    await admin.keyboard.press('Enter');
    await admin.waitForURL(`${t.url}/admin/keys?done=rotated`);
    expect(await admin.textContent('[role=status]')).toContain('The keys were rotated');
    expect((await t.app.get(KeysService).active('oidc', 'ES256')).kid).not.toBe(kid);
  });

  it('creates an API token, shows it once, and revokes it', async () => {
    await admin.goto(`${t.url}/admin/api-tokens`);
    await admin.click('text=New token');
    await admin.fill('#field-name', 'deploy pipeline');
    await admin.fill('#field-days', '30');
    await admin.click('button:has-text("Create token")');
    await admin.locator('#api-token').waitFor();
    expect(await admin.textContent('#api-token')).toMatch(/^so_/);
    expect(admin.url()).toBe(`${t.url}/admin/api-tokens/new`);
    await shoot(admin, 'console-api-token-created');
    await admin.click('text=Back to the API tokens');
    expect(await admin.locator('tbody tr').count()).toBe(2);
    await shoot(admin, 'console-api-tokens');
    await admin.click('button[aria-label="Revoke the token deploy pipeline of root"]');
    await admin.waitForURL(`${t.url}/admin/api-tokens?done=revoked`);
    expect(await admin.locator('tbody .badge-revoked').count()).toBe(1);
  });

  it('creates a token for global token revocation alone, choosing it with the keyboard', async () => {
    await admin.goto(`${t.url}/admin/api-tokens/new`);
    await admin.fill('#field-name', 'security tool');
    await admin.focus('#scope-admin');
    await admin.keyboard.press('ArrowDown'); // radio buttons: the arrow keys move the choice
    expect(await admin.isChecked('#scope-global_token_revocation')).toBe(true);
    await shoot(admin, 'console-api-token-new');
    await admin.click('button:has-text("Create token")');
    await admin.locator('#api-token').waitFor();
    expect(await admin.textContent('main')).toContain('Global token revocation only');
    await shoot(admin, 'console-api-token-revocation-created');
  });

  it('filters the audit log', async () => {
    await admin.goto(`${t.url}/admin/audit`);
    await admin.fill('#filter-actor', 'root');
    await admin.selectOption('#filter-action', 'user.created');
    await admin.click('button:has-text("Filter")');
    await admin.waitForURL(/actor=root&action=user\.created/);
    expect(await admin.locator('tbody tr').count()).toBe(1);
    expect(await admin.textContent('tbody')).toContain('carol');
    await admin.goto(`${t.url}/admin/audit`);
    await shoot(admin, 'console-audit');
  });

  it('reads well at 375 px: nothing wider than the screen, tables become labelled cards', async () => {
    const narrow = await (await chromium.newContext({ viewport: { width: 375, height: 800 } })).newPage();
    await signInTo(narrow, t.url, '/admin/audit', 'root', 'root password 1');
    for (const path of PAGES) {
      await narrow.goto(`${t.url}${path}`);
      expect([path, await pageWidth(narrow)]).toEqual([path, 375]);
    }
    await narrow.goto(`${t.url}/admin/audit`);
    expect(await narrow.evaluate(() => getComputedStyle(document.querySelector('tbody td')!, '::before').content)).toBe(
      '"When: "',
    );
  });

  it('labels every control', async () => {
    for (const path of PAGES) {
      await admin.goto(`${t.url}${path}`);
      expect([path, await unlabelledControls(admin)]).toEqual([path, []]);
    }
  });
});
