import { AuditEvent, GroupsService, IdpSession, SYSTEM, type User, UsersService } from '@signoff/core';
import * as client from 'openid-client';
import request from 'supertest';
import { DataSource, IsNull } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { runCli } from '../../apps/idp/src/cli';
import { Browser } from '../support/browser';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

// Issue 10, what OIDC applications consume: claims by scope (profile, email, groups), token
// introspection (RFC 7662) for resource servers, either secret method for a confidential client, and
// an administrator-chosen client_id. openid-client is the RP throughout.
const ada = { username: 'ada', password: 'ada password 1' };
const bo = { username: 'bo', password: 'bo password 12' };
let t: TestApp;
let adaUser: User;
let apiToken: string;
let rp: TestClient;
/** A resource server: a confidential client of its own that introspects the tokens the RP sends it. */
let api: TestClient;
const clients: TestClient[] = [];
/** The JSON log lines the app writes while the suite runs (LOG_LEVEL=warn). */
const logLines: Array<Record<string, unknown>> = [];
let stdoutSpy: jest.SpyInstance;

beforeAll(async () => {
  const write = process.stdout.write.bind(process.stdout);
  stdoutSpy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string' && chunk.startsWith('{"time"')) {
      logLines.push(JSON.parse(chunk));
      return true;
    }
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write);
  t = await startApp({ LOG_LEVEL: 'warn' });
  const users = t.app.get(UsersService);
  adaUser = await users.create(
    {
      ...ada,
      email: 'ada@example.org',
      emailVerified: true,
      name: 'Ada Lovelace',
      givenName: 'Ada',
      familyName: 'Lovelace',
    },
    SYSTEM,
  );
  await users.create(bo, SYSTEM); // no name, no email, no group
  const groups = t.app.get(GroupsService);
  for (const name of ['staff', 'admins']) {
    await groups.create({ name }, SYSTEM);
    await groups.addMember(name, adaUser.id, SYSTEM);
  }
  const root = await users.create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
  apiToken = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
  rp = await registerClient(t, {}, { backchannel: false });
  api = await registerClient(t, { token_endpoint_auth_method: 'client_secret_post' }, { backchannel: false });
  clients.push(rp, api);
});
afterAll(async () => {
  for (const each of clients) await each.rp.stop();
  await t.close();
  stdoutSpy.mockRestore();
});

const admin = () => ({ Authorization: `Bearer ${apiToken}` });
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const introspect = (config: client.Configuration, token: string, hint?: string) =>
  client.tokenIntrospection(config, token, hint ? { token_type_hint: hint } : undefined);
const signIn = (who: TestClient, scope: string, user = ada) =>
  login(who, new Browser(t.url), user, { scope }).then(({ tokens }) => tokens);

const PROFILE = ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'];
const EMAIL = ['email', 'email_verified'];

describe('claims by scope (OIDC Core §5.4)', () => {
  it('puts the profile, email and groups claims in the ID token and userinfo alike', async () => {
    const tokens = await signIn(rp, 'openid profile email groups');
    expect(tokens.scope?.split(' ').sort()).toEqual(['email', 'groups', 'openid', 'profile']);
    const expected = {
      sub: adaUser.id,
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
      preferred_username: 'ada',
      updated_at: Math.floor(adaUser.updatedAt.getTime() / 1000),
      email: 'ada@example.org',
      email_verified: true,
      groups: ['admins', 'staff'],
    };
    expect(tokens.claims()).toMatchObject(expected);
    const userinfo = await client.fetchUserInfo(rp.config, tokens.access_token, adaUser.id);
    expect(userinfo).toEqual(expected);
  });

  it('releases only what the granted scopes cover: none without them, email without profile or groups', async () => {
    const bare = await signIn(rp, 'openid');
    for (const claim of [...PROFILE, ...EMAIL, 'groups']) expect(bare.claims()).not.toHaveProperty(claim);
    expect(await client.fetchUserInfo(rp.config, bare.access_token, adaUser.id)).toEqual({ sub: adaUser.id });

    const emailOnly = await signIn(rp, 'openid email');
    const userinfo = await client.fetchUserInfo(rp.config, emailOnly.access_token, adaUser.id);
    expect(userinfo).toEqual({ sub: adaUser.id, email: 'ada@example.org', email_verified: true });
    expect(Object.keys(emailOnly.claims()!).filter((claim) => [...PROFILE, 'groups'].includes(claim))).toEqual([]);
  });

  it('omits claims that have no value rather than sending null: no name, no email, no groups', async () => {
    const tokens = await signIn(rp, 'openid profile email groups', bo);
    const userinfo = await client.fetchUserInfo(rp.config, tokens.access_token, tokens.claims()!.sub);
    expect(Object.keys(userinfo).sort()).toEqual(['preferred_username', 'sub', 'updated_at']);
    for (const claim of ['name', 'given_name', 'family_name', 'email', 'email_verified', 'groups'])
      expect(tokens.claims()).not.toHaveProperty(claim);
  });

  it('drops scopes it does not support from the grant', async () => {
    const tokens = await signIn(rp, 'openid groups phone address');
    expect(tokens.scope).toBe('openid groups');
  });

  it('lists the scopes, the claims and the introspection endpoint in discovery', () => {
    const metadata = rp.config.serverMetadata();
    expect(metadata.scopes_supported).toEqual(['openid', 'profile', 'email', 'groups', 'offline_access']);
    expect(metadata.claims_supported).toEqual(expect.arrayContaining([...PROFILE, ...EMAIL, 'groups', 'sub', 'sid']));
    expect(metadata).toMatchObject({
      introspection_endpoint: `${t.url}/oauth2/introspect`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      claims_parameter_supported: false,
    });
  });
});

describe('token introspection (RFC 7662)', () => {
  it('describes an active access token to a resource server, and to the client it was issued to', async () => {
    const tokens = await signIn(rp, 'openid profile');
    const claims = tokens.claims()!;
    const expected = {
      active: true,
      scope: 'openid profile',
      client_id: rp.clientId,
      username: 'ada',
      token_type: 'Bearer',
      sub: adaUser.id,
      aud: rp.clientId,
      iss: t.url,
      sid: claims.sid,
    };
    const seen = await introspect(api.config, tokens.access_token);
    expect(seen).toMatchObject(expected);
    expect(seen.exp! - seen.iat!).toBe(tokens.expires_in);
    expect(await introspect(rp.config, tokens.access_token, 'refresh_token')).toMatchObject(expected); // the hint only orders the search
  });

  it('answers active: false for the same access token once the user logs out (end_session)', async () => {
    const browser = new Browser(t.url);
    const { tokens } = await login(rp, browser, ada, { scope: 'openid' });
    expect((await introspect(api.config, tokens.access_token)).active).toBe(true);
    const ended = await browser.get(
      `/oauth2/end_session?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${rp.rp.url}/logged-out` })}`,
    );
    expect(ended.status).toBe(303);
    expect(await introspect(api.config, tokens.access_token)).toEqual({ active: false });
    expect(await introspect(rp.config, tokens.refresh_token!)).toEqual({ active: false });
  });

  it('answers active: false once an administrator ends the session', async () => {
    const { tokens } = await login(rp, new Browser(t.url), ada, { scope: 'openid' });
    const sessions = await t.app
      .get(DataSource)
      .getRepository(IdpSession)
      .find({ where: { userId: adaUser.id, endedAt: IsNull() } });
    for (const session of sessions)
      expect((await request(t.url).delete(`/api/v1/sessions/${session.id}`).set(admin())).status).toBe(202);
    expect(await introspect(api.config, tokens.access_token)).toEqual({ active: false });
  });

  it('answers active: false for an unknown, revoked or expired token, and 400 without a token', async () => {
    expect(await introspect(api.config, 'not-a-token-signoff-issued')).toEqual({ active: false });
    expect(await introspect(api.config, 'x'.repeat(5000))).toEqual({ active: false });
    const revoked = await signIn(rp, 'openid');
    await client.tokenRevocation(rp.config, revoked.access_token);
    expect(await introspect(api.config, revoked.access_token)).toEqual({ active: false });
    const expiring = await signIn(rp, 'openid');
    t.clock.advance(3_601_000);
    try {
      expect(await introspect(api.config, expiring.access_token)).toEqual({ active: false });
    } finally {
      t.clock.advance(-3_601_000);
    }
    const missing = await request(t.url)
      .post('/oauth2/introspect')
      .set('Authorization', basic(rp.clientId, rp.clientSecret!))
      .type('form')
      .send({});
    expect([missing.status, missing.body.error]).toEqual([400, 'invalid_request']);
  });

  it('lets only the client a refresh token was issued to introspect it', async () => {
    const tokens = await signIn(rp, 'openid offline_access');
    const own = await introspect(rp.config, tokens.refresh_token!, 'refresh_token');
    expect(own).toMatchObject({
      active: true,
      client_id: rp.clientId,
      sub: adaUser.id,
      scope: 'openid offline_access',
    });
    expect(own).not.toHaveProperty('token_type');
    expect(await introspect(api.config, tokens.refresh_token!, 'refresh_token')).toEqual({ active: false });
  });

  it("keeps a pairwise client's users apart: its sub, and no username for other clients", async () => {
    const pairwise = await registerClient(t, { subject_type: 'pairwise' }, { backchannel: false });
    clients.push(pairwise);
    const tokens = await signIn(pairwise, 'openid profile');
    const sub = tokens.claims()!.sub;
    expect(sub).not.toBe(adaUser.id);
    expect(await introspect(pairwise.config, tokens.access_token)).toMatchObject({
      active: true,
      sub,
      username: 'ada',
    });
    const toOthers = await introspect(api.config, tokens.access_token);
    expect(toOthers).toMatchObject({ active: true, sub, client_id: pairwise.clientId });
    expect(toOthers).not.toHaveProperty('username');
  });

  it('refuses callers without client authentication, with a wrong secret, or public clients: 401 invalid_client', async () => {
    const { access_token } = await signIn(rp, 'openid');
    const publicClient = await registerClient(
      t,
      { token_endpoint_auth_method: 'none', grant_types: ['authorization_code'] },
      { backchannel: false },
    );
    clients.push(publicClient);
    const attempts = [
      { token: access_token },
      { token: access_token, client_id: rp.clientId },
      { token: access_token, client_id: publicClient.clientId },
      { token: access_token, client_id: api.clientId, client_secret: 'wrong' },
    ];
    for (const form of attempts) {
      const response = await request(t.url).post('/oauth2/introspect').type('form').send(form);
      expect([form, response.status, response.body.error]).toEqual([form, 401, 'invalid_client']);
      expect(response.headers['www-authenticate']).toMatch(/^Basic/);
      expect(response.body).not.toHaveProperty('active');
    }
    const wrongBasic = await request(t.url)
      .post('/oauth2/introspect')
      .set('Authorization', basic(rp.clientId, 'wrong secret'))
      .type('form')
      .send({ token: access_token });
    expect([wrongBasic.status, wrongBasic.body.error]).toEqual([401, 'invalid_client']);
  });
});

describe('client authentication (RFC 6749 §2.3.1)', () => {
  it('accepts client_secret_post from a client registered with client_secret_basic, at the token endpoint', async () => {
    const post = await client.discovery(
      new URL(t.url),
      rp.clientId,
      { id_token_signed_response_alg: 'RS256' },
      client.ClientSecretPost(rp.clientSecret!),
      { execute: [client.allowInsecureRequests] },
    );
    const viaPost = { ...rp, config: post };
    const { tokens } = await login(viaPost, new Browser(t.url), ada, { scope: 'openid' });
    expect(tokens.claims()!.sub).toBe(adaUser.id);
    const refreshed = await client.refreshTokenGrant(post, tokens.refresh_token!);
    expect(await introspect(post, refreshed.access_token)).toMatchObject({ active: true, client_id: rp.clientId });
    await client.tokenRevocation(post, refreshed.access_token);
    expect(await introspect(post, refreshed.access_token)).toEqual({ active: false });
  });

  it('accepts client_secret_basic from a client registered with client_secret_post, at introspection and revocation', async () => {
    const tokens = await signIn(api, 'openid');
    const viaBasic = await request(t.url)
      .post('/oauth2/introspect')
      .set('Authorization', basic(api.clientId, api.clientSecret!))
      .type('form')
      .send({ token: tokens.access_token });
    expect(viaBasic.status).toBe(200);
    expect(viaBasic.body).toMatchObject({ active: true, client_id: api.clientId });
    const revoked = await request(t.url)
      .post('/oauth2/revoke')
      .set('Authorization', basic(api.clientId, api.clientSecret!))
      .type('form')
      .send({ token: tokens.access_token });
    expect(revoked.status).toBe(200);
    expect(await introspect(api.config, tokens.access_token)).toEqual({ active: false });
  });

  it('refuses two methods at once with invalid_request', async () => {
    for (const path of ['/oauth2/token', '/oauth2/introspect', '/oauth2/revoke']) {
      const response = await request(t.url)
        .post(path)
        .set('Authorization', basic(rp.clientId, rp.clientSecret!))
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: 'x', token: 'x', client_secret: rp.clientSecret! });
      expect([path, response.status, response.body.error]).toEqual([path, 400, 'invalid_request']);
    }
  });

  it('logs and audits every refusal with its reason, and never the secret', async () => {
    const secret = 'a-wrong-secret-that-must-not-be-logged';
    const before = logLines.length;
    const response = await request(t.url)
      .post('/oauth2/token')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: 'x', client_id: rp.clientId, client_secret: secret });
    expect(response.status).toBe(401);
    const lines = logLines.slice(before).filter((line) => line.msg === 'client authentication refused');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        endpoint: 'token',
        reason: 'wrong client secret',
        clientId: rp.clientId,
        method: 'client_secret_post',
      }),
    ]);
    // Logged, not audited: unauthenticated callers must not be able to grow the audit table.
    expect(
      await t.app.get(DataSource).getRepository(AuditEvent).countBy({ action: 'oidc_client.authentication_failed' }),
    ).toBe(0);
    expect(JSON.stringify(logLines)).not.toContain(secret);
    expect(JSON.stringify(await t.app.get(DataSource).getRepository(AuditEvent).find())).not.toContain(secret);
    expect(JSON.stringify(logLines)).not.toContain(rp.clientSecret!);
  });
});

describe('administrator-chosen client_id', () => {
  const metadata = { redirect_uris: ['http://127.0.0.1:9/callback'] };

  it('registers a client under the chosen client_id (admin API), which signs in and shows in the view', async () => {
    const created = await request(t.url)
      .post('/api/v1/providers')
      .set(admin())
      .send({ protocol: 'oidc', oidc: { ...metadata, client_id: 'grafana.prod' }, name: 'Grafana' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      slug: 'oidc-grafana-prod',
      oidc: { client_id: 'grafana.prod' },
      consentRequired: false,
      clientSecret: expect.any(String),
    });
    const shown = await request(t.url).get(`/api/v1/providers/${created.body.id}`).set(admin());
    expect(shown.body).toMatchObject({ oidc: { client_id: 'grafana.prod' }, consentRequired: false });

    const config = await client.discovery(
      new URL(t.url),
      'grafana.prod',
      {},
      client.ClientSecretBasic(created.body.clientSecret),
      { execute: [client.allowInsecureRequests] },
    );
    const grafana = { ...rp, clientId: 'grafana.prod', config, redirectUri: metadata.redirect_uris[0] };
    const { tokens } = await login(grafana, new Browser(t.url), ada, { scope: 'openid' });
    expect(tokens.claims()).toMatchObject({ aud: 'grafana.prod', sub: adaUser.id });
  });

  it('refuses a taken client_id with 409 and a malformed one with 400, registering nothing', async () => {
    const count = async () => (await request(t.url).get('/api/v1/providers').set(admin())).body.items.length;
    const before = await count();
    const taken = await request(t.url)
      .post('/api/v1/providers')
      .set(admin())
      .send({ protocol: 'oidc', oidc: { ...metadata, client_id: 'grafana.prod' }, slug: 'another' });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ code: 'conflict', message: expect.stringContaining('grafana.prod') });
    for (const clientId of ['', 'has space', 'a/b', 'x'.repeat(129), 42, 'ünïcode']) {
      const bad = await request(t.url)
        .post('/api/v1/providers')
        .set(admin())
        .send({ protocol: 'oidc', oidc: { ...metadata, client_id: clientId } });
      expect([clientId, bad.status, bad.body.code]).toEqual([clientId, 400, 'invalid_client_metadata']);
      expect(bad.body.details[0]).toMatch(/^invalid_client_metadata: client_id: /);
    }
    expect(await count()).toBe(before);
  });

  it('keeps the client_id on update, and lets an administrator set consentRequired', async () => {
    const created = await request(t.url)
      .post('/api/v1/providers')
      .set(admin())
      .send({ protocol: 'oidc', oidc: { ...metadata, client_id: 'wiki' }, consentRequired: true });
    expect(created.body.consentRequired).toBe(true);
    const id = created.body.id;
    const same = await request(t.url)
      .patch(`/api/v1/providers/${id}`)
      .set(admin())
      .send({ oidc: created.body.oidc, consentRequired: false });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ oidc: { client_id: 'wiki' }, consentRequired: false });
    const renamed = await request(t.url)
      .patch(`/api/v1/providers/${id}`)
      .set(admin())
      .send({ oidc: { ...created.body.oidc, client_id: 'wiki2' } });
    expect(renamed.status).toBe(400);
    expect(renamed.body.details[0]).toMatch(/client_id: cannot be changed/);
    expect((await request(t.url).get(`/api/v1/providers/${id}`).set(admin())).body.oidc.client_id).toBe('wiki');
    const bad = await request(t.url).patch(`/api/v1/providers/${id}`).set(admin()).send({ consentRequired: 'yes' });
    expect(bad.status).toBe(400);
  });

  it('takes --client-id on the CLI, and refuses a taken one', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'signoff-cli-')), 'client.json');
    writeFileSync(file, JSON.stringify(metadata));
    const cli = async (...argv: string[]) => {
      const output: string[] = [];
      const code = await runCli(argv, t.config, (line) => output.push(line));
      return { code, output };
    };
    const created = await cli('create-oidc-client', '--json', file, '--client-id', 'nextcloud');
    expect(created.code).toBe(0);
    expect(created.output[0]).toBe('client_id=nextcloud');
    expect(created.output[2]).toMatch(/^provider=oidc-nextcloud \(/);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect((await cli('create-oidc-client', '--json', file, '--client-id', 'nextcloud', '--slug', 'nc2')).code).toBe(
        1,
      );
      expect(stderr.mock.calls.join('')).toContain('client_id "nextcloud" already exists');
      expect((await cli('create-oidc-client', '--json', file, '--client-id', 'next cloud')).code).toBe(2);
    } finally {
      stderr.mockRestore();
    }
  });

  it('gives clients registered through /oauth2/register a random client_id and consentRequired', async () => {
    const token = 'r'.repeat(40);
    const app = await startApp({ OIDC_REGISTRATION_TOKEN: token });
    try {
      const registered = await request(app.url)
        .post('/oauth2/register')
        .set('Authorization', `Bearer ${token}`)
        .send({ ...metadata, client_id: 'i-choose-myself' });
      expect(registered.status).toBe(201);
      expect(registered.body.client_id).toMatch(/^[A-Za-z0-9_-]{24}$/);
      const root = await app.app
        .get(UsersService)
        .create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
      const key = (await app.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
      const { items } = (await request(app.url).get('/api/v1/providers').set('Authorization', `Bearer ${key}`)).body;
      expect(items).toEqual([
        expect.objectContaining({
          oidc: expect.objectContaining({ client_id: registered.body.client_id }),
          consentRequired: true,
        }),
      ]);
    } finally {
      await app.close();
    }
  });
});
