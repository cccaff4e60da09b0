import { GroupsService, SYSTEM, User, UsersService } from '@signoff/core';
import { FlowsService } from '@signoff/flows';
import { ProvidersAdminService } from '@signoff/providers';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as client from 'openid-client';
import type { Browser as Chromium, Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { Browser } from '../support/browser';
import { codeFlowInBrowser, submitLogin, unlabelledControls } from '../support/pages';
import { describeInChromium, launchChromium } from '../support/chromium';
import { login, RecordingRp, registerClient, type TestClient } from '../support/relying-party';
import { SamlSpApp } from '../support/saml-sp-app';
import { startApp, type TestApp } from '../support/test-app';

/** Where the suite leaves a picture of every console page (the README links them). */
const SCREENSHOTS = join(__dirname, '..', '..', 'docs', 'screenshots');

describe('the admin console: who may use it, and what bad input does', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
    const users = t.app.get(UsersService);
    await users.create({ username: 'root', password: 'root password 1', isAdmin: true }, SYSTEM);
    await users.create({ username: 'bob', password: 'bob password 12' }, SYSTEM);
  });
  afterAll(() => t?.close());

  const userCount = () => t.app.get(DataSource).getRepository(User).count();

  it('sends nobody-signed-in to the login page, which brings them back', async () => {
    const browser = new Browser(t.url);
    const response = await browser.get('/admin/logouts?outcome=failed');
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/login?return_to=${encodeURIComponent('/admin/logouts?outcome=failed')}`);
    const login = await browser.post('/login', {
      username: 'root',
      password: 'root password 1',
      csrf: (await browser.get(response.headers.location), browser.csrf),
      return_to: '/admin/logouts?outcome=failed',
    });
    expect(login.headers.location).toBe('/admin/logouts?outcome=failed');
    expect((await browser.get('/admin/logouts?outcome=failed')).status).toBe(200);
  });

  it('refuses a signed-in user who is not an administrator, on every page and form', async () => {
    const browser = new Browser(t.url);
    await browser.login('bob', 'bob password 12');
    for (const path of ['/admin', '/admin/users', '/admin/sessions', '/admin/logouts', '/admin/users/new']) {
      const response = await browser.get(path);
      expect([path, response.status]).toEqual([path, 403]);
      expect(response.text).toContain('Only administrators may use the console.');
    }
    await browser.get('/');
    const before = await userCount();
    const post = await browser.post('/admin/users/new', {
      username: 'mallory',
      password: 'x'.repeat(16),
      csrf: browser.csrf,
    });
    expect(post.status).toBe(403);
    expect(await userCount()).toBe(before);
  });

  it('refuses a form without its CSRF token (another site posting with the admin cookie) and changes nothing', async () => {
    const browser = new Browser(t.url);
    await browser.login('root', 'root password 1');
    const before = await userCount();
    for (const csrf of [undefined, 'forged']) {
      const response = await browser.post('/admin/users/new', {
        username: 'csrf-victim',
        password: 'long enough password',
        ...(csrf ? { csrf } : {}),
      });
      expect(response.status).toBe(403);
      expect(response.text).toContain('did not come from Signoff');
    }
    expect(await userCount()).toBe(before);
  });

  it('answers bad input with the form again, the problem beside the field, and creates nothing', async () => {
    const browser = new Browser(t.url);
    await browser.login('root', 'root password 1');
    await browser.get('/admin/users/new');
    const before = await userCount();
    const bad = await browser.post('/admin/users/new', {
      username: 'carol',
      email: 'not an address',
      csrf: browser.csrf,
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/id="field-email-error"[^>]*>[^<]*email/);
    expect(bad.text).toContain('aria-invalid="true"');
    expect(bad.text).toContain('value="carol"'); // what was typed stays
    const duplicate = await browser.post('/admin/users/new', { username: 'bob', csrf: browser.csrf });
    expect(duplicate.status).toBe(409);
    expect(duplicate.text).toContain('already exists');
    expect(await userCount()).toBe(before);
  });

  it('keeps the last administrator: neither demoted nor deactivated, from the console or the API', async () => {
    const browser = new Browser(t.url);
    await browser.login('root', 'root password 1');
    const root = (await t.app.get(UsersService).findByUsername('root'))!;
    await browser.get(`/admin/users/${root.id}`);
    const demoted = await browser.post(`/admin/users/${root.id}`, { name: 'Root', csrf: browser.csrf }); // isAdmin unticked
    expect(demoted.status).toBe(409);
    expect(demoted.text).toContain('the last active administrator');
    const deactivated = await browser.post(`/admin/users/${root.id}/deactivate`, { csrf: browser.csrf });
    expect(deactivated.status).toBe(409);
    expect(await t.app.get(UsersService).get(root.id)).toMatchObject({ isAdmin: true, isActive: true, name: null });
  });

  it('edits a user: profile, admin flag, a new group and membership, password; a bad group name changes nothing', async () => {
    const browser = new Browser(t.url);
    await browser.login('root', 'root password 1');
    const erin = await t.app.get(UsersService).create({ username: 'erin', password: 'erin password 12' }, SYSTEM);
    await browser.get(`/admin/users/${erin.id}`);
    const profile = await browser.post(`/admin/users/${erin.id}`, {
      email: 'erin@example.org',
      name: 'Erin Example',
      isAdmin: 'on',
      csrf: browser.csrf,
    });
    expect(profile.status).toBe(303);
    const user = await t.app.get(UsersService).get(erin.id);
    expect([user.email, user.name, user.isAdmin]).toEqual(['erin@example.org', 'Erin Example', true]);

    const bad = await browser.post(`/admin/users/${erin.id}/groups/new`, {
      groupName: 'Not A Name!',
      csrf: browser.csrf,
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('A group name is');
    expect(await t.app.get(GroupsService).groupsOf(erin.id)).toEqual([]);
    await browser.submit(`/admin/users/${erin.id}/groups/new`, { groupName: 'staff', csrf: browser.csrf });
    expect((await t.app.get(GroupsService).groupsOf(erin.id)).map((group) => group.name)).toEqual(['staff']);
    await browser.submit(`/admin/users/${erin.id}/groups`, { csrf: browser.csrf }); // every box unticked
    expect(await t.app.get(GroupsService).groupsOf(erin.id)).toEqual([]);

    const weak = await browser.post(`/admin/users/${erin.id}/password`, { password: 'short', csrf: browser.csrf });
    expect(weak.status).toBe(400);
    expect(weak.text).toMatch(/id="field-password-error"/);
    await browser.submit(`/admin/users/${erin.id}/password`, { password: 'a brand new password', csrf: browser.csrf });
    const signIn = new Browser(t.url);
    expect((await signIn.login('erin', 'a brand new password')).status).toBe(303);
  });

  it('escapes what users typed: a name with markup is text on every page', async () => {
    const browser = new Browser(t.url);
    await browser.login('root', 'root password 1');
    const created = await browser.submit('/admin/users/new', {
      username: 'markup',
      name: '<img src=x onerror=alert(1)>',
      csrf: (await browser.get('/admin/users/new'), browser.csrf),
    });
    expect(created.status).toBe(200);
    expect(created.text).not.toContain('<img src=x');
    expect(created.text).toContain('value="&lt;img src=x onerror=alert(1)>"'); // in an attribute, < and " are what must be escaped
    expect((await browser.get('/admin/users?q=markup')).text).not.toContain('<img src=x');
  });
});

describe('the admin console: applications and flows', () => {
  let t: TestApp;
  let browser: Browser;
  let rp: TestClient;
  let sp: SamlSpApp;

  beforeAll(async () => {
    t = await startApp();
    await t.app.get(UsersService).create({ username: 'root', password: 'root password 1', isAdmin: true }, SYSTEM);
    rp = await registerClient(t, { client_name: 'Wiki' });
    sp = await SamlSpApp.start(t, 'crm', 'HTTP-POST', 'backchannel');
    browser = new Browser(t.url);
    await browser.login('root', 'root password 1');
  });
  afterAll(async () => {
    await rp?.rp.stop();
    await sp?.close();
    await t?.close();
  });

  const providers = () => t.app.get(ProvidersAdminService);
  const oidcForm = (fields: Record<string, string>) => ({
    name: 'Notes',
    redirect_uris: 'https://notes.example/callback',
    token_endpoint_auth_method: 'client_secret_basic',
    csrf: browser.csrf,
    ...fields,
  });

  it('refuses a duplicate client id and an invalid redirect URI with the form again, and registers nothing', async () => {
    await browser.get('/admin/applications/new/oidc');
    const before = (await providers().list()).length;
    const duplicate = await browser.post('/admin/applications/new/oidc', oidcForm({ client_id: rp.clientId }));
    expect(duplicate.status).toBe(409);
    expect(duplicate.text).toContain('role="alert"');
    expect(duplicate.text).toContain('value="Notes"');
    const badUri = await browser.post(
      '/admin/applications/new/oidc',
      oidcForm({ redirect_uris: 'https://notes.example/cb#frag' }),
    );
    expect(badUri.status).toBe(400);
    expect(badUri.text).toMatch(/id="field-redirect_uris-error"[^>]*>[^<]*fragment/); // said beside the field
    expect((await providers().list()).length).toBe(before);
  });

  it('shows a new client secret once, with no-store, and never puts it in a URL', async () => {
    await browser.get('/admin/applications/new/oidc');
    const created = await browser.post('/admin/applications/new/oidc', oidcForm({ client_id: 'notes-app' }));
    expect(created.status).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const secret = /id="client-secret">([^<]+)</.exec(created.text)![1];
    expect(secret.length).toBeGreaterThan(20);
    const app = (await providers().list()).find((provider) => provider.oidc?.client_id === 'notes-app')!;
    expect((await browser.get(`/admin/applications/${app.id}`)).text).not.toContain(secret);
    // Rotating: a new secret, shown once; the old one no longer authenticates the client.
    const rotated = await browser.post(`/admin/applications/${app.id}/rotate-secret`, { csrf: browser.csrf });
    const second = /id="client-secret">([^<]+)</.exec(rotated.text)![1];
    expect(second).not.toBe(secret);
    const token = (secretValue: string) =>
      fetch(`${t.url}/oauth2/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`notes-app:${secretValue}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fnotes.example%2Fcallback',
      }).then(async (response) => (await response.json()).error);
    expect(await token(secret)).toBe('invalid_client');
    expect(await token(second)).toBe('invalid_grant');
  });

  it('saves an application form sent back unchanged without changing the registration', async () => {
    for (const id of [rp.providerId, (await providers().list()).find((app) => app.protocol === 'saml')!.id]) {
      const before = await providers().get(id);
      const page = await browser.get(`/admin/applications/${id}`);
      const form = formFields(page.text, `/admin/applications/${id}`);
      const saved = await browser.post(`/admin/applications/${id}`, form);
      expect([id, saved.status, saved.headers.location]).toEqual([id, 303, `/admin/applications/${id}?done=saved`]);
      const after = await providers().get(id);
      expect({ ...after, updatedAt: null }).toEqual({ ...before, updatedAt: null });
    }
  });

  it('says what is wrong with attribute mappings beside the field, and keeps the SP as it was', async () => {
    const id = (await providers().list()).find((app) => app.protocol === 'saml')!.id;
    const before = await providers().get(id);
    const page = await browser.get(`/admin/applications/${id}`);
    const form = formFields(page.text, `/admin/applications/${id}`);
    const notJson = await browser.post(`/admin/applications/${id}`, { ...form, attributeMappings: '[{' });
    expect(notJson.status).toBe(400);
    expect(notJson.text).toMatch(/id="field-attributeMappings-error"[^>]*>[^<]*JSON/);
    const badMapping = await browser.post(`/admin/applications/${id}`, {
      ...form,
      attributeMappings: '[{"name": "mail"}]',
    });
    expect(badMapping.status).toBe(400);
    expect(await providers().get(id)).toEqual(before);
  });

  it('asks before binding a flow that ends no session, and before deleting a flow applications run', async () => {
    await browser.get('/admin/flows');
    const created = await browser.submit('/admin/flows', {
      name: 'Only a message',
      slug: 'only-a-message',
      csrf: browser.csrf,
    });
    const flowId = /\/admin\/flows\/([0-9a-f-]{36})\/rename/.exec(created.text)![1];
    expect(created.text).toContain('role="note"'); // flagged: it ends no session
    const unconfirmed = await browser.post(`/admin/flows/${flowId}/applications`, {
      application: rp.providerId,
      csrf: browser.csrf,
    });
    expect(unconfirmed.status).toBe(409);
    expect(unconfirmed.text).toContain('name="confirmEndsNoSession"');
    expect((await providers().get(rp.providerId)).invalidationFlowId).toBeNull();
    const confirmed = await browser.post(`/admin/flows/${flowId}/applications`, {
      application: rp.providerId,
      confirmEndsNoSession: 'on',
      csrf: browser.csrf,
    });
    expect(confirmed.status).toBe(303);
    expect((await providers().get(rp.providerId)).invalidationFlowId).toBe(flowId);

    const ask = await browser.get(`/admin/flows/${flowId}/delete`);
    expect(ask.text).toContain('fall back to default-provider-invalidation-flow');
    expect(ask.text).toContain('Wiki');
    await browser.post(`/admin/flows/${flowId}/delete`, { csrf: browser.csrf });
    expect((await providers().get(rp.providerId)).invalidationFlowId).toBeNull();
  });

  it('keeps the logout stage of the default flows, and asks before taking it out of a flow applications run', async () => {
    const flows = t.app.get(FlowsService);
    const byDefault = (await flows.listFlows()).find((flow) => flow.slug === 'default-invalidation-flow')!;
    const logoutStage = byDefault.stages.find((bound) => bound.stage.kind === 'user_logout')!;
    await browser.get(`/admin/flows/${byDefault.id}`);
    const refused = await browser.post(`/admin/flows/${byDefault.id}/unbind`, {
      binding: logoutStage.bindingId,
      confirmEndsNoSession: 'on',
      csrf: browser.csrf,
    });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('must keep its logout stage');
    expect((await flows.getFlow(byDefault.id)).stages).toHaveLength(byDefault.stages.length);

    const flow = await flows.createFlow({ slug: 'sign-out-here', name: 'Sign out here' }, SYSTEM);
    await flows.bind(flow.id, { stageId: logoutStage.stage.id, order: 10 }, SYSTEM);
    await providers().update(rp.providerId, { invalidationFlowId: flow.id }, SYSTEM);
    const bindingId = (await flows.getFlow(flow.id)).stages[0].bindingId;
    const asked = await browser.post(`/admin/flows/${flow.id}/unbind`, { binding: bindingId, csrf: browser.csrf });
    expect(asked.status).toBe(409);
    expect(asked.text).toContain('name="confirmEndsNoSession"');
    expect((await flows.getFlow(flow.id)).stages).toHaveLength(1);
    const confirmed = await browser.post(`/admin/flows/${flow.id}/unbind`, {
      binding: bindingId,
      confirmEndsNoSession: 'on',
      csrf: browser.csrf,
    });
    expect(confirmed.status).toBe(303);
    expect((await flows.getFlow(flow.id)).endsNoSession).toBe(true);
    await providers().update(rp.providerId, { invalidationFlowId: null }, SYSTEM);
  });

  it('creates flows and stages only with valid names, as the API does', async () => {
    await browser.get('/admin/flows');
    const before = (await t.app.get(FlowsService).listFlows()).length;
    const badSlug = await browser.post('/admin/flows', { name: 'x', slug: 'Bad Slug/..', csrf: browser.csrf });
    expect(badSlug.status).toBe(400);
    const noName = await browser.post('/admin/flows/stages', { name: ' ', kind: 'message', csrf: browser.csrf });
    expect(noName.status).toBe(400);
    expect((await t.app.get(FlowsService).listFlows()).length).toBe(before);
  });

  it('asks before deleting an application with live sessions, then signs them out of it through the engine', async () => {
    const user = new Browser(t.url);
    await t.app.get(UsersService).create({ username: 'dave', password: 'dave password 12' }, SYSTEM);
    await login(rp, user, { username: 'dave', password: 'dave password 12' });
    // Asked when nobody was signed in: a session that began since is not ended without asking again.
    const stale = await browser.post(`/admin/applications/${rp.providerId}/delete`, {
      liveSessions: '0',
      csrf: browser.csrf,
    });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('Nothing was deleted');
    expect((await providers().get(rp.providerId)).liveSessions).toBe(1);
    const ask = await browser.get(`/admin/applications/${rp.providerId}/delete`);
    expect(ask.text).toContain('One user is signed in to Wiki right now');
    const deleted = await browser.post(`/admin/applications/${rp.providerId}/delete`, {
      liveSessions: /name="liveSessions" value="(\d+)"/.exec(ask.text)![1],
      csrf: browser.csrf,
    });
    expect(deleted.headers.location).toMatch(/^\/admin\/logouts\/[0-9a-f-]{36}$/);
    const operation = await browser.get(deleted.headers.location);
    expect(operation.text).toContain('Wiki');
    expect(await user.signedInAs()).toBe('dave'); // signed out of the application, not of Signoff
  });
});

/** The fields a page's form with `action` would send, as a browser sends them (checked boxes, selected options, text areas). */
function formFields(html: string, action: string): Record<string, string> {
  const form = new RegExp(`<form method="post" action="${action}">([\\s\\S]*?)</form>`).exec(html)![1];
  const decode = (text: string) =>
    text
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  const fields: Record<string, string> = {};
  for (const [input] of form.matchAll(/<input[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(input)?.[1];
    const value = decode(/value="([^"]*)"/.exec(input)?.[1] ?? '');
    const type = /type="([^"]+)"/.exec(input)?.[1];
    if (!name || ((type === 'checkbox' || type === 'radio') && !/ checked/.test(input))) continue;
    fields[name] = type === 'checkbox' ? 'on' : value;
  }
  for (const [, name, body] of form.matchAll(/<textarea[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/textarea>/g))
    fields[name] = decode(body);
  for (const [, name, options] of form.matchAll(/<select[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    // Preact writes an empty value as a bare `value` attribute.
    const choices = [...options.matchAll(/<option value(?:="([^"]*)")?([^>]*)>/g)];
    const selected = choices.find((choice) => /\bselected\b/.test(choice[2])) ?? choices[0];
    fields[name] = decode(selected?.[1] ?? '');
  }
  return fields;
}

describeInChromium('the admin console in Chromium', () => {
  let t: TestApp;
  let chromium: Chromium;
  let rp: RecordingRp;
  let rpConfig: client.Configuration;
  let clientId = '';
  let sp: SamlSpApp;
  let admin: Page;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // Two attempts, one second each: an application that refuses or never answers is dead within seconds.
    t = await startApp({ DELIVERY_ATTEMPTS: '2', DELIVERY_TIMEOUT: '1s' }, { withWorker: true });
    await t.app.get(UsersService).create({ username: 'root', password: 'root password 1', isAdmin: true }, SYSTEM);
    rp = await new RecordingRp(t.url, () => clientId).start();
    // The SP is not registered here: the administrator imports its metadata through the console.
    sp = await SamlSpApp.start(t, 'crm', 'HTTP-POST', 'backchannel', { register: false });
    chromium = await launchChromium();
    admin = await (await chromium.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  });
  afterAll(async () => {
    await chromium?.close();
    await rp?.stop();
    await sp?.close();
    await t?.close();
  });

  const shoot = (page: Page, name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /** The user signs in to the RP in their own browser: the code flow, redeemed with openid-client; its `sid`. */
  async function signInToRp(page: Page, signInWith?: { username: string; password: string }): Promise<string> {
    const rpAt = { config: rpConfig, redirectUri: `${rp.url}/callback` };
    const { tokens } = await codeFlowInBrowser(page, rpAt, { signInWith });
    return tokens.claims()!.sid as string;
  }

  const signIn = (page: Page, { username, password }: { username: string; password: string }) =>
    submitLogin(page, username, password);

  async function signInToSp(page: Page, credentials?: { username: string; password: string }) {
    await page.goto(`${sp.url}/login`);
    if (credentials) await signIn(page, credentials);
    await page.waitForURL(`${sp.url}/acs`);
    expect(await page.textContent('h1')).toBe('crm: signed in');
  }

  /** Waits on the logout's own page (it follows itself, live-region.js: no reload) until the application's delivery is `status`. */
  const deliveryTo = (name: string, status: string) =>
    admin
      .locator(
        `#deliveries tbody tr:has(td[data-label=Application]:text-is("${name}")) td[data-label=Status] .badge-${status}`,
      )
      .waitFor({ timeout: 20_000 });

  it('a new administrator registers two applications, builds a flow, deactivates a user and watches every application told; a dead delivery is retried', async () => {
    await admin.goto(`${t.url}/admin`);
    await admin.waitForURL(/\/login\?return_to=%2Fadmin$/);
    await signIn(admin, { username: 'root', password: 'root password 1' });
    await admin.waitForURL(`${t.url}/admin`);
    expect(await admin.textContent('h1')).toBe('Dashboard');

    // An OIDC application: registered with the form; its secret is shown once.
    await admin.click('nav >> text=Applications');
    await admin.click('text=New OIDC application');
    await admin.fill('#field-name', 'Wiki');
    await admin.fill('#field-redirect_uris', 'not a url');
    await admin.click('button:has-text("Register application")');
    expect(await admin.textContent('[role=alert]')).toMatch(/redirect_uri/i);
    expect(await admin.getAttribute('#field-name', 'value')).toBe('Wiki'); // what was typed stays
    await admin.fill('#field-redirect_uris', `${rp.url}/callback`);
    await admin.fill('#field-backchannel_logout_uri', `${rp.url}/backchannel`);
    await shoot(admin, 'console-application-new-oidc');
    await admin.click('button:has-text("Register application")');
    expect(await admin.textContent('h1')).toBe('Application registered');
    await shoot(admin, 'console-application-secret');
    clientId = (await admin.textContent('dl.facts dd:nth-of-type(2) code'))!.trim();
    const secret = (await admin.textContent('#client-secret'))!.trim();
    rpConfig = await client.discovery(new URL(t.url), clientId, {}, client.ClientSecretBasic(secret), {
      execute: [client.allowInsecureRequests],
    });

    // A SAML application: its metadata pasted, the back channel chosen.
    await admin.goto(`${t.url}/admin/applications/new/saml`);
    await admin.fill('#field-name', 'CRM');
    await admin.fill('#field-metadata', '<md:EntityDescriptor broken');
    await admin.click('button:has-text("Import application")');
    expect(await admin.locator('[role=alert]').count()).toBe(1);
    await admin.fill('#field-metadata', sp.metadata);
    await admin.check('#logout-backchannel');
    await shoot(admin, 'console-application-new-saml');
    await admin.click('button:has-text("Import application")');
    await admin.waitForURL(/\/admin\/applications\/[0-9a-f-]{36}\?done=imported$/);
    await shoot(admin, 'console-application');
    await admin.goto(`${t.url}/admin/applications`);
    await shoot(admin, 'console-applications');

    // A flow that asks first, then signs out everywhere, bound to the wiki.
    await admin.goto(`${t.url}/admin/flows`);
    await admin.fill('#stage-name', 'Are you sure?');
    await admin.check('#kind-confirm');
    await admin.fill('#stage-text', 'Sign out of every application?');
    await admin.click('button:has-text("Create stage")');
    await admin.fill('#flow-name', 'Ask, then sign out');
    await admin.fill('#flow-slug', 'ask-then-sign-out');
    await admin.click('button:has-text("Create flow")');
    await admin.waitForURL(/\/admin\/flows\/[0-9a-f-]{36}\?done=created/);
    expect(await admin.textContent('[role=note]')).toMatch(/no .*logout/i); // no logout stage yet: flagged
    await admin.selectOption('#field-stage', { label: 'Are you sure? (confirm)' });
    await admin.click('button:has-text("Add stage")');
    const fullLogout = await admin.locator('#field-stage option', { hasText: '(user_logout)' }).getAttribute('value');
    await admin.selectOption('#field-stage', fullLogout!);
    await admin.click('button:has-text("Add stage")');
    expect(await admin.locator('[role=note]').count()).toBe(0);
    await admin.selectOption('#field-application', { label: 'Wiki (OIDC)' });
    await admin.click('button:has-text("Bind")');
    expect(await admin.textContent('#applications ~ ul')).toContain('Wiki');
    await shoot(admin, 'console-flow');
    await admin.goto(`${t.url}/admin/flows`);
    await shoot(admin, 'console-flows');

    // A user, created with the form, signs in to both applications in their own browser.
    await admin.goto(`${t.url}/admin/users/new`);
    await shoot(admin, 'console-user-new');
    await admin.fill('#field-username', 'carol');
    await admin.fill('#field-password', 'carol password 1');
    await admin.fill('#field-email', 'carol@example.org');
    await admin.fill('#field-name', 'Carol Example');
    await admin.click('button:has-text("Create user")');
    await admin.waitForURL(/\/admin\/users\/[0-9a-f-]{36}\?done=created/);
    expect(await admin.textContent('[role=status]')).toContain('The user was created.');
    const carolPage = admin.url().split('?')[0];

    const carol = await (await chromium.newContext()).newPage();
    const sid = await signInToRp(carol, { username: 'carol', password: 'carol password 1' });
    await signInToSp(carol);

    await admin.goto(`${t.url}/admin/sessions?user=carol`);
    expect(await admin.textContent('tbody')).toContain('CRM, Wiki');
    await shoot(admin, 'console-sessions');
    await admin.goto(`${t.url}/admin`);
    await shoot(admin, 'console-dashboard');

    // Deactivated: the operation's page follows both deliveries until they are confirmed.
    await admin.goto(carolPage);
    await shoot(admin, 'console-user');
    await admin.click('button:has-text("Deactivate")');
    await admin.waitForURL(/\/admin\/logouts\/[0-9a-f-]{36}$/);
    expect(await admin.textContent('dl.facts')).toContain('user deactivated');
    await deliveryTo('Wiki', 'succeeded');
    await deliveryTo('CRM', 'succeeded');
    await admin.locator('#deliveries .badge-complete').waitFor({ timeout: 10_000 });
    expect(rp.logoutTokens.map((token) => token.claims.sid)).toEqual([sid]);
    expect(sp.sessionEnded).toBe(true);
    await shoot(admin, 'console-logout');

    // Back again, signed in to the SP once more; now the SP never answers: its delivery dies.
    await admin.goto(carolPage);
    await admin.click('button:has-text("Activate")');
    await signInToSp(carol, { username: 'carol', password: 'carol password 1' });
    sp.hang = true;
    await admin.goto(carolPage);
    await admin.click('button:has-text("Deactivate")');
    await admin.waitForURL(/\/admin\/logouts\/[0-9a-f-]{36}$/);
    await deliveryTo('CRM', 'dead');
    await shoot(admin, 'console-logout-dead');

    // The SP is fixed; the administrator retries from the page and watches it succeed.
    sp.hang = false;
    const requestsBefore = sp.logoutRequests.length;
    await admin.click('button:has-text("Retry")');
    await deliveryTo('CRM', 'succeeded');
    await admin.locator('#deliveries .badge-complete').waitFor({ timeout: 10_000 });
    expect(sp.logoutRequests.length).toBeGreaterThan(requestsBefore);
    expect(sp.sessionEnded).toBe(true);

    await admin.goto(`${t.url}/admin/logouts?trigger=user_deactivated`);
    expect(await admin.locator('tbody tr').count()).toBe(2);
    await shoot(admin, 'console-logouts');
    await admin.goto(`${t.url}/admin/users`);
    await shoot(admin, 'console-users');
  }, 120_000);

  it('reads well at 375 px: nothing wider than the screen, tables become labelled cards', async () => {
    const narrow = await (await chromium.newContext({ viewport: { width: 375, height: 800 } })).newPage();
    await narrow.goto(`${t.url}/login?return_to=%2Fadmin%2Flogouts`);
    await narrow.fill('#username', 'root');
    await narrow.fill('#password', 'root password 1');
    await narrow.click('button[type=submit]');
    await narrow.waitForURL(`${t.url}/admin/logouts`);
    for (const path of [
      '/admin',
      '/admin/users',
      '/admin/sessions',
      '/admin/logouts',
      '/admin/applications',
      '/admin/flows',
    ]) {
      await narrow.goto(`${t.url}${path}`);
      const width = await narrow.evaluate(() => document.documentElement.scrollWidth);
      expect([path, width]).toEqual([path, 375]);
    }
    await narrow.goto(`${t.url}/admin/logouts`);
    await narrow.click('tbody a');
    await shoot(narrow, 'console-logout-375px');
  });

  it('is usable from the keyboard: a skip link first, every control labelled', async () => {
    await admin.goto(`${t.url}/admin/users/new`);
    await admin.keyboard.press('Tab');
    expect(await admin.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    for (const path of [
      '/admin',
      '/admin/users',
      '/admin/users/new',
      '/admin/sessions',
      '/admin/logouts',
      '/admin/applications',
      '/admin/applications/new/oidc',
      '/admin/applications/new/saml',
      '/admin/flows',
    ]) {
      await admin.goto(`${t.url}${path}`);
      expect([path, await unlabelledControls(admin)]).toEqual([path, []]);
    }
  });
});
