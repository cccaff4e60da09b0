import { AuditEvent, SYSTEM, type User, UsersService } from '@signoff/core';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { startApp, type TestApp } from '../support/test-app';

let t: TestApp;
let admin: User;
let token: string;

beforeAll(async () => {
  t = await startApp({ BOOTSTRAP_ADMIN_USERNAME: 'root', BOOTSTRAP_ADMIN_PASSWORD: 'root password' });
  admin = (await t.app.get(UsersService).findByUsername('root'))!;
  token = (await t.app.get(ApiTokensService).create(admin, 'test', null, SYSTEM)).token;
  await t.app.get(UsersService).create({ username: 'alice', password: 'alice password' }, SYSTEM);
});
afterAll(() => t.close());

const api = () => request(t.url);
const auth = () => ({ Authorization: `Bearer ${token}` });

describe('authentication and authorisation', () => {
  it('created the bootstrap administrator from the environment', () => {
    expect(admin).toMatchObject({ username: 'root', isAdmin: true, isActive: true });
  });

  it('answers 401 with a JSON error and WWW-Authenticate without credentials or with a bad token', async () => {
    for (const headers of [
      {},
      { Authorization: 'Bearer so_not-a-real-token-at-all' },
      { Authorization: 'Basic cm9vdDpyb290' },
    ]) {
      const response = await api().get('/api/v1/users').set(headers);
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(response.body).toMatchObject({ error: 'unauthorized', requestId: expect.any(String) });
    }
  });

  it('answers 403 to a signed-in user who is not an administrator', async () => {
    const browser = new Browser(t.url);
    await browser.login('alice', 'alice password');
    const response = await browser.agent.get('/api/v1/users');
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ error: 'forbidden' });
  });

  it('answers 403 to the token of an administrator who was demoted, and 401 once they are deactivated', async () => {
    const users = t.app.get(UsersService);
    const temp = await users.create({ username: 'temp-admin', password: 'temp password', isAdmin: true }, SYSTEM);
    const { token: tempToken } = await t.app.get(ApiTokensService).create(temp, 'temp', null, SYSTEM);
    expect((await api().get('/api/v1/users').set('Authorization', `Bearer ${tempToken}`)).status).toBe(200);
    await users.update(temp.id, { isAdmin: false }, SYSTEM);
    expect((await api().get('/api/v1/users').set('Authorization', `Bearer ${tempToken}`)).status).toBe(403);
    await api().post(`/api/v1/users/${temp.id}/deactivate`).set(auth());
    expect((await api().get('/api/v1/users').set('Authorization', `Bearer ${tempToken}`)).status).toBe(401);
  });

  it('answers 200 to an administrator with a token', async () => {
    const response = await api().get('/api/v1/users').set(auth());
    expect(response.status).toBe(200);
    expect(response.body.items.map((user: User) => user.username)).toEqual(expect.arrayContaining(['root', 'alice']));
    expect(JSON.stringify(response.body)).not.toMatch(/password|scrypt/i);
  });

  it("lets an administrator's browser session change things only with the CSRF header", async () => {
    const browser = new Browser(t.url);
    await browser.login('root', 'root password');
    const me = await browser.agent.get('/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.body.user.username).toBe('root');
    const without = await browser.agent.post('/api/v1/users').send({ username: 'via-cookie' });
    expect(without.status).toBe(403);
    const withHeader = await browser.agent
      .post('/api/v1/users')
      .set('X-CSRF-Token', me.body.csrfToken)
      .send({ username: 'via-cookie' });
    expect(withHeader.status).toBe(201);
  });
});

describe('users', () => {
  it('creates a user who can then sign in, and refuses the same username twice', async () => {
    const created = await api()
      .post('/api/v1/users')
      .set(auth())
      .send({ username: 'Dave', password: 'dave password', email: 'dave@example.com', name: 'Dave' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ username: 'dave', email: 'dave@example.com', isAdmin: false, isActive: true });
    expect(created.body.passwordHash).toBeUndefined();
    const browser = new Browser(t.url);
    await browser.login('dave', 'dave password');
    expect(await browser.signedInAs()).toBe('Dave');
    const again = await api().post('/api/v1/users').set(auth()).send({ username: 'dave' });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('conflict');
  });

  it('refuses invalid bodies with every problem listed, and non-JSON bodies with 415', async () => {
    const invalid = await api()
      .post('/api/v1/users')
      .set(auth())
      .send({ username: 'bad name!', password: 'short', email: 'not-an-email', role: 'admin' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^username:/),
        expect.stringMatching(/^password:/),
        expect.stringMatching(/^email:/),
        expect.stringMatching(/additional.*\(role\)/),
      ]),
    );
    const form = await api().post('/api/v1/users').set(auth()).type('form').send({ username: 'formuser' });
    expect(form.status).toBe(415);
    expect(await t.app.get(UsersService).findByUsername('formuser')).toBeNull();
  });

  it('gets, updates and 404s', async () => {
    const alice = (await t.app.get(UsersService).findByUsername('alice'))!;
    expect((await api().get(`/api/v1/users/${alice.id}`).set(auth())).body.username).toBe('alice');
    expect((await api().get('/api/v1/users/00000000-0000-4000-8000-000000000000').set(auth())).status).toBe(404);
    expect((await api().get('/api/v1/users/not-an-id').set(auth())).status).toBe(404);
    const patched = await api().patch(`/api/v1/users/${alice.id}`).set(auth()).send({ name: 'Alice L.', email: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Alice L.', email: null });
    expect((await api().patch(`/api/v1/users/${alice.id}`).set(auth()).send({ isActive: false })).status).toBe(400);
    expect((await api().patch(`/api/v1/users/${alice.id}`).set(auth()).send({})).status).toBe(400);
  });

  it('deactivates a user: every session of theirs ends, and they cannot sign in again', async () => {
    const users = t.app.get(UsersService);
    const erin = await users.create({ username: 'erin', password: 'erin password' }, SYSTEM);
    const laptop = new Browser(t.url);
    const phone = new Browser(t.url);
    await laptop.login('erin', 'erin password');
    await phone.login('erin', 'erin password');
    expect((await api().get(`/api/v1/users/${erin.id}/sessions`).set(auth())).body.items).toHaveLength(2);

    const response = await api().post(`/api/v1/users/${erin.id}/deactivate`).set(auth());
    expect(response.status).toBe(202);
    expect(response.body.operationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.body.user.isActive).toBe(false);
    expect(response.body.endedSessions).toHaveLength(2);
    expect(await laptop.signedInAs()).toBeNull();
    expect(await phone.signedInAs()).toBeNull();
    expect((await laptop.login('erin', 'erin password')).status).toBe(401);
    const all = await api().get(`/api/v1/users/${erin.id}/sessions?include_ended=true`).set(auth());
    expect(all.body.items.map((s: { endReason: string }) => s.endReason)).toEqual([
      'user_deactivated',
      'user_deactivated',
    ]);

    const audit = await t.app
      .get(DataSource)
      .getRepository(AuditEvent)
      .findBy({ targetId: erin.id, action: 'user.deactivated' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorType: 'admin', actorId: admin.id });
  });
});

describe('sessions', () => {
  it("ends one IdP session: that browser is signed out, the user's other browser is not", async () => {
    const users = t.app.get(UsersService);
    const frank = await users.create({ username: 'frank', password: 'frank password' }, SYSTEM);
    const laptop = new Browser(t.url);
    const phone = new Browser(t.url);
    await laptop.login('frank', 'frank password');
    await phone.login('frank', 'frank password');
    const sessions = (await api().get(`/api/v1/users/${frank.id}/sessions`).set(auth())).body.items;
    expect(JSON.stringify(sessions)).not.toContain('browser');
    const newest = sessions[0].id;

    const ended = await api().delete(`/api/v1/sessions/${newest}`).set(auth());
    expect(ended.status).toBe(202);
    expect(ended.body).toMatchObject({
      ended: true,
      operationId: expect.any(String),
      session: { id: newest, endReason: 'admin' },
    });
    expect(await phone.signedInAs()).toBeNull();
    expect(await laptop.signedInAs()).toBe('frank');
    expect((await api().delete(`/api/v1/sessions/${newest}`).set(auth())).body.ended).toBe(false);
    expect((await api().delete('/api/v1/sessions/00000000-0000-4000-8000-000000000000').set(auth())).status).toBe(404);
  });
});

describe('providers', () => {
  it('registers an OIDC client with front- and back-channel URIs, shows its secret once, and validates metadata', async () => {
    const oidc = {
      client_name: 'Wiki',
      redirect_uris: ['https://wiki.example/cb'],
      post_logout_redirect_uris: ['https://wiki.example/bye'],
      frontchannel_logout_uri: 'https://wiki.example/fc',
      frontchannel_logout_session_required: true,
      backchannel_logout_uri: 'https://wiki.example/bc',
      logout_token_typ: 'JWT',
    };
    const created = await api().post('/api/v1/providers').set(auth()).send({ protocol: 'oidc', slug: 'wiki', oidc });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      slug: 'wiki',
      name: 'Wiki',
      protocol: 'oidc',
      enabled: true,
      clientSecret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      oidc: { ...oidc, client_id: expect.any(String), token_endpoint_auth_method: 'client_secret_basic' },
    });
    const fetched = await api().get(`/api/v1/providers/${created.body.id}`).set(auth());
    expect(fetched.body.clientSecret).toBeUndefined();
    expect(JSON.stringify(fetched.body)).not.toContain(created.body.clientSecret);

    const foreignFrontchannel = await api()
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'oidc', oidc: { ...oidc, frontchannel_logout_uri: 'https://other.example/fc' } });
    expect(foreignFrontchannel.status).toBe(400);
    expect(foreignFrontchannel.body.details[0]).toMatch(/^invalid_client_metadata: frontchannel_logout_uri/);
    // Every refusal has the status's generic `error` and its own stable `code` (SignoffError).
    expect(foreignFrontchannel.body).toMatchObject({ error: 'invalid_request', code: 'invalid_client_metadata' });
    const plainHttp = await api()
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'oidc', oidc: { redirect_uris: ['http://wiki.example/cb'] } });
    expect(plainHttp.status).toBe(400);
    const taken = await api().post('/api/v1/providers').set(auth()).send({ protocol: 'oidc', slug: 'wiki', oidc });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ error: 'conflict', code: 'conflict' });
    expect(
      (await api().patch(`/api/v1/providers/${created.body.id}`).set(auth()).send({ enabled: false })).body.enabled,
    ).toBe(false);
    expect((await api().delete(`/api/v1/providers/${created.body.id}`).set(auth())).status).toBe(204);
    const gone = await api().get(`/api/v1/providers/${created.body.id}`).set(auth());
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ error: 'not_found', code: 'not_found', message: 'No such provider.' });
  });
});

describe('audit events and the API document', () => {
  it('lists audit events newest first, filtered by action', async () => {
    const response = await api().get('/api/v1/audit-events?action=user.created&limit=2').set(auth());
    expect(response.status).toBe(200);
    expect(response.body.items).toHaveLength(2);
    expect(response.body.total).toBeGreaterThan(2);
    expect(new Date(response.body.items[0].at) >= new Date(response.body.items[1].at)).toBe(true);
    expect((await api().get('/api/v1/audit-events?limit=0').set(auth())).status).toBe(400);
  });

  it('serves an OpenAPI 3.1 document that names every route', async () => {
    const response = await api().get('/api/docs');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    expect(Object.keys(response.body.paths)).toEqual(
      expect.arrayContaining([
        '/users',
        '/users/{id}',
        '/users/{id}/deactivate',
        '/users/{id}/sessions',
        '/sessions/{id}',
        '/audit-events',
        '/me',
        '/providers',
        '/providers/{id}',
        '/flows',
        '/flows/{id}/bindings',
        '/stages',
        '/logout-operations/{id}',
      ]),
    );
  });
});
