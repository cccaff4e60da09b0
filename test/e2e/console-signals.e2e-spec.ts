import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { runCli } from '../../apps/idp/src/cli';
import { UserAdminService } from '../../apps/idp/src/admin/user-admin.service';
import { AuditEvent, SYSTEM, type User, UsersService } from '@signoff/core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser as Chromium, Page } from 'playwright-core';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { describeInChromium, launchChromium } from '../support/chromium';
import { pageWidth, signInTo, unlabelledControls } from '../support/pages';
import { startApp, type TestApp } from '../support/test-app';

// Issue 14: Shared Signals receivers, registered by an administrator in the admin API and the console.

const SCREENSHOTS = join(__dirname, '..', '..', 'docs', 'screenshots');
const PUSH = 'urn:ietf:rfc:8935';
const POLL = 'urn:ietf:rfc:8936';
const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';

describe('Shared Signals receivers in the admin API and the console', () => {
  let t: TestApp;
  let root: User;
  let adminToken: string;

  beforeAll(async () => {
    t = await startApp();
    const users = t.app.get(UsersService);
    root = await users.create({ username: 'root', password: 'root password 1', isAdmin: true }, SYSTEM);
    await users.create({ username: 'bob', password: 'bob password 12' }, SYSTEM);
    adminToken = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
  });
  afterAll(() => t?.close());

  const api = () => ({
    get: (path: string) => request(t.url).get(path).set('Authorization', `Bearer ${adminToken}`),
    post: (path: string, body?: object) =>
      request(t.url)
        .post(path)
        .set('Authorization', `Bearer ${adminToken}`)
        .send(body ?? {}),
    delete: (path: string) => request(t.url).delete(path).set('Authorization', `Bearer ${adminToken}`),
  });
  const asReceiver = (token: string) => ({
    create: (body: object) => request(t.url).post('/ssf/streams').set('Authorization', `Bearer ${token}`).send(body),
    read: () => request(t.url).get('/ssf/streams').set('Authorization', `Bearer ${token}`),
  });

  it('registers a receiver: its token once, a default slug and audience, audited; the token manages its stream', async () => {
    const created = await api().post('/api/v1/ssf/receivers', { name: 'Zero Trust Proxy' });
    expect(created.status).toBe(201);
    expect(created.body.receiver).toMatchObject({
      slug: 'zero-trust-proxy',
      name: 'Zero Trust Proxy',
      audience: `${t.url}/ssf/receivers/${created.body.receiver.id}`,
      subjectFormat: 'iss_sub',
      stream: null,
    });
    expect(created.body.token).toMatch(/^ssf_[A-Za-z0-9_-]{43}$/);
    const stream = await asReceiver(created.body.token).create({ events_requested: [SESSION_REVOKED] });
    expect(stream.status).toBe(201);
    const read = await api().get(`/api/v1/ssf/receivers/${created.body.receiver.id}`);
    expect(read.body.token).toBeUndefined();
    expect(read.body.stream).toMatchObject({
      streamId: stream.body.stream_id,
      status: 'enabled',
      deliveryMethod: POLL,
      endpointUrl: null,
      eventsDelivered: [SESSION_REVOKED],
    });
    const audit = await t.app
      .get(DataSource)
      .getRepository(AuditEvent)
      .findOneByOrFail({ action: 'ssf_receiver.created', targetId: created.body.receiver.id });
    expect(audit.actorId).toBe(root.id);
    expect(JSON.stringify(audit)).not.toContain(created.body.token);
  });

  it('refuses a bad name, slug, audience or format, naming each, and a slug that is taken', async () => {
    const bad = await api().post('/api/v1/ssf/receivers', { name: '', slug: 'Not A Slug', subjectFormat: 'phone' });
    expect(bad.status).toBe(400);
    expect(bad.body.details.join('\n')).toMatch(/name[\s\S]*slug[\s\S]*subjectFormat/);
    await api().post('/api/v1/ssf/receivers', { name: 'Gateway', slug: 'gateway' }).expect(201);
    const taken = await api().post('/api/v1/ssf/receivers', { name: 'Another', slug: 'gateway' });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('conflict');
  });

  it('rotates a token (the old one stops working) and deletes a receiver (its token stops working, 404 after)', async () => {
    const { body: created } = await api().post('/api/v1/ssf/receivers', { name: 'Rotated' }).expect(201);
    const body = { ...created.receiver, token: created.token };
    const rotated = await api().post(`/api/v1/ssf/receivers/${body.id}/token`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.token).not.toBe(body.token);
    expect((await asReceiver(body.token).read()).status).toBe(401);
    expect((await asReceiver(rotated.body.token).read()).body).toEqual([]);
    await api().delete(`/api/v1/ssf/receivers/${body.id}`).expect(204);
    expect((await asReceiver(rotated.body.token).read()).status).toBe(401);
    expect((await api().get(`/api/v1/ssf/receivers/${body.id}`)).status).toBe(404);
    expect((await api().get('/api/v1/ssf/receivers')).body.items.map((item: { id: string }) => item.id)).not.toContain(
      body.id,
    );
    // A receiver is no application: the applications list never shows one.
    const applications = await api().get('/api/v1/providers');
    expect(applications.body.items.map((item: { protocol: string }) => item.protocol)).not.toContain('ssf');
  });

  it('registers one with the CLI, which prints its token, and lists it', async () => {
    const output: string[] = [];
    const cli = (...argv: string[]) => runCli(argv, t.config, (line) => output.push(line));
    expect(await cli('create-ssf-receiver', 'From CLI', '--subject-format', 'email', '--audience', 'urn:cli')).toBe(0);
    const token = output.pop()!;
    expect(token).toMatch(/^ssf_[A-Za-z0-9_-]{43}$/);
    expect((await asReceiver(token).read()).status).toBe(200);
    expect(await cli('list-ssf-receivers')).toBe(0);
    expect(output.find((line) => line.includes('from-cli'))).toMatch(/\tFrom CLI\turn:cli\t-\t-\t-$/);
    expect(await cli('create-ssf-receiver', 'x', '--subject-format', 'phone')).toBe(2);
  });

  it('keeps receivers away from a non-administrator, in the API and the console', async () => {
    const bob = new Browser(t.url);
    await bob.login('bob', 'bob password 12');
    for (const path of ['/admin/signals', '/admin/signals/new'])
      expect([path, (await bob.get(path)).status]).toEqual([path, 403]);
    expect((await request(t.url).get('/api/v1/ssf/receivers')).status).toBe(401);
  });

  it('registers from the console form, shows the token once, and deletes only with the box ticked', async () => {
    const browser = new Browser(t.url);
    await browser.login('root', 'root password 1');
    await browser.get('/admin/signals/new');
    const refused = await browser.post('/admin/signals/new', { name: 'x', slug: '-bad', csrf: browser.csrf });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/id="field-slug-error">must match pattern/);
    const created = await browser.post('/admin/signals/new', {
      name: 'SaaS tenant',
      audience: 'https://saas.example.com/ssf',
      subjectFormat: 'email',
      csrf: browser.csrf,
    });
    expect(created.status).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const token = /id="receiver-token">\s*(ssf_[A-Za-z0-9_-]+)/.exec(created.text)![1];
    const receiver = (await api().get('/api/v1/ssf/receivers')).body.items.find(
      (item: { slug: string }) => item.slug === 'saas-tenant',
    );
    expect(receiver).toMatchObject({ audience: 'https://saas.example.com/ssf', subjectFormat: 'email' });
    expect((await asReceiver(token).read()).status).toBe(200);
    const page = await browser.get(`/admin/signals/${receiver.id}`);
    expect(page.text).not.toContain(token);
    const unconfirmed = await browser.post(`/admin/signals/${receiver.id}/delete`, { csrf: browser.csrf });
    expect(unconfirmed.status).toBe(400);
    expect((await api().get(`/api/v1/ssf/receivers/${receiver.id}`)).status).toBe(200);
    const deleted = await browser.post(`/admin/signals/${receiver.id}/delete`, { confirm: 'yes', csrf: browser.csrf });
    expect(deleted.status).toBe(303);
    expect((await api().get(`/api/v1/ssf/receivers/${receiver.id}`)).status).toBe(404);
  });
});

describeInChromium('Shared Signals receivers in Chromium', () => {
  let t: TestApp;
  let chromium: Chromium;
  let admin: Page;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    t = await startApp();
    await t.app.get(UsersService).create({ username: 'root', password: 'root password 1', isAdmin: true }, SYSTEM);
    chromium = await launchChromium();
    admin = await (await chromium.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signInTo(admin, t.url, '/admin/signals', 'root', 'root password 1');
  });
  afterAll(async () => {
    await chromium?.close();
    await t?.close();
  });

  const shoot = (page: Page, name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  let receiverPath = '';

  it('registers a receiver with the keyboard, shows its token, and its stream once it made one', async () => {
    await admin.goto(`${t.url}/admin/signals/new`);
    await admin.fill('#field-name', 'Zero-trust proxy');
    await admin.focus('#subject-format-iss_sub');
    await admin.keyboard.press('ArrowDown');
    expect(await admin.isChecked('#subject-format-email')).toBe(true);
    await shoot(admin, 'console-signals-new');
    await admin.click('button:has-text("Register receiver")');
    await admin.locator('#receiver-token').waitFor();
    const token = (await admin.textContent('#receiver-token'))!.trim();
    await shoot(admin, 'console-signals-created');
    const stream = await request(t.url)
      .post('/ssf/streams')
      .set('Authorization', `Bearer ${token}`)
      .send({
        events_requested: [SESSION_REVOKED],
        delivery: { method: PUSH, endpoint_url: 'http://127.0.0.1:9/events' },
        description: 'the proxy in front of the wiki',
      });
    expect(stream.status).toBe(201);
    await admin.click('text=Zero-trust proxy');
    receiverPath = new URL(admin.url()).pathname;
    expect(await admin.textContent('main')).toContain(stream.body.stream_id);
    expect(await admin.textContent('main')).toContain('session-revoked');
    await shoot(admin, 'console-signals-receiver');
    await admin.goto(`${t.url}/admin/signals`);
    expect(await admin.locator('tbody tr').count()).toBe(1);
    await shoot(admin, 'console-signals');
  });

  it("shows a receiver's events on the logout operation that owes them, beside the applications' deliveries", async () => {
    const users = t.app.get(UsersService);
    const dora = await users.create({ username: 'dora', password: 'dora password 12' }, SYSTEM);
    await new Browser(t.url).login('dora', 'dora password 12');
    const { operation } = await t.app.get(UserAdminService).deactivate(dora.id, SYSTEM);
    await admin.goto(`${t.url}/admin/logouts/${operation.id}`);
    const main = (await admin.textContent('main'))!;
    expect(main).toContain('Zero-trust proxy');
    expect(main).toContain('Shared Signals push (security event)');
    expect(main).toContain('session-revoked');
    await shoot(admin, 'console-logout-ssf');
  });

  it('reads well at 375 px, and labels every control', async () => {
    const narrow = await (await chromium.newContext({ viewport: { width: 375, height: 800 } })).newPage();
    await signInTo(narrow, t.url, '/admin/signals', 'root', 'root password 1');
    for (const path of ['/admin/signals', '/admin/signals/new', receiverPath]) {
      await narrow.goto(`${t.url}${path}`);
      expect([path, await pageWidth(narrow)]).toEqual([path, 375]);
      expect([path, await unlabelledControls(narrow)]).toEqual([path, []]);
    }
    await shoot(narrow, 'console-signals-receiver-narrow');
  });
});
