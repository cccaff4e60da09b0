import {
  AuditEvent,
  dataSourceOptions,
  EmbeddedRedis,
  IdpSession,
  loadConfig,
  LogoutDelivery,
  LogoutOperation,
  LogoutOperationUser,
  newId,
  openDatabase,
  prepareSqliteFile,
  ProviderSession,
  SYSTEM,
  User,
  UsersService,
} from '@signoff/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource, In, IsNull, type MigrationInterface } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { testDatabaseUrl } from '../support/databases';
import { eventually } from '../support/eventually';
import { freshUserSignedIn, login, registerClient, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';
import { plainUser } from '../support/seed';

// The admin API's lists and the acts behind the console: live sessions, logout operations, the
// dashboard, retrying deliveries, ending all of a user's sessions, reactivating a user. Real HTTP,
// a real worker, real relying parties on 127.0.0.1. This suite owns its Redis (the last test stops it).
let redisDir: string;
let redis: EmbeddedRedis;
let t: TestApp;
let token: string;
const rps: TestClient[] = [];
let counter = 0;
const onPostgres = /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '');

beforeAll(async () => {
  redisDir = mkdtempSync(join(tmpdir(), 'signoff-lists-'));
  redis = await EmbeddedRedis.start(redisDir);
  t = await startApp(
    {
      REDIS_URL: redis.url,
      DELIVERY_TIMEOUT: '1s',
      DELIVERY_ATTEMPTS: '2',
      BOOTSTRAP_ADMIN_USERNAME: 'root',
      BOOTSTRAP_ADMIN_PASSWORD: 'root password',
    },
    { withWorker: true },
  );
  const root = (await t.app.get(UsersService).findByUsername('root'))!;
  token = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
  await t.app.get(UsersService).create({ username: 'plain', password: 'plain password' }, SYSTEM);
});
afterAll(async () => {
  for (const rp of rps) await rp.rp.stop();
  await t.close();
  await redis.stop();
  rmSync(redisDir, { recursive: true, force: true });
});

const api = () => request(t.url);
const auth = () => ({ Authorization: `Bearer ${token}` });
const db = () => t.app.get(DataSource);

async function rp(options?: { backchannel?: boolean; frontchannel?: boolean }) {
  const created = await registerClient(t, {}, options);
  rps.push(created);
  return created;
}

/** A fresh user signed in, in a browser of their own, to each of `clients`; returns the user and the session. */
async function signedIn(clients: TestClient[], profile: { email?: string; name?: string } = {}) {
  const { user, browser } = await freshUserSignedIn(t, clients, profile);
  const [session] = await db()
    .getRepository(IdpSession)
    .find({ where: { userId: user.id }, order: { createdAt: 'DESC' } });
  return { user, browser, session };
}

const deliveriesOf = (operationId: string) =>
  db()
    .getRepository(LogoutDelivery)
    .find({ where: { operationId }, order: { createdAt: 'ASC' } });

async function completedOperation(operationId: string) {
  const read = async () => (await api().get(`/api/v1/logout-operations/${operationId}`).set(auth())).body;
  await eventually(async () => (await read()).completedAt);
  return read();
}

/** Ends one session as an administrator; returns the operation id. */
async function endSession(sessionId: string): Promise<string> {
  const ended = await api().delete(`/api/v1/sessions/${sessionId}`).set(auth());
  expect(ended.status).toBe(202);
  return ended.body.operationId;
}

const ids = (body: { items: Array<{ id: string }> }) => body.items.map((item) => item.id);

describe('GET /api/v1/sessions', () => {
  let a: TestClient;
  let b: TestClient;
  let both: Awaited<ReturnType<typeof signedIn>>;
  let onlyA: Awaited<ReturnType<typeof signedIn>>;
  let none: Awaited<ReturnType<typeof signedIn>>;

  beforeAll(async () => {
    [a, b] = [await rp(), await rp()];
    both = await signedIn([a, b]);
    onlyA = await signedIn([a]);
    none = await signedIn([]);
  });

  it('lists live sessions, most recently seen first, with the user and the applications in each', async () => {
    const listed = await api().get('/api/v1/sessions?limit=200').set(auth());
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ limit: 200, offset: 0, total: listed.body.items.length });
    expect(ids(listed.body)).toEqual(expect.arrayContaining([both.session.id, onlyA.session.id, none.session.id]));
    const seen = listed.body.items.map((item: { lastSeenAt: string }) => Date.parse(item.lastSeenAt));
    expect(seen).toEqual([...seen].sort((x, y) => y - x));
    const item = listed.body.items.find((session: { id: string }) => session.id === both.session.id);
    expect(item).toMatchObject({
      id: both.session.id,
      userId: both.user.id,
      endedAt: null,
      user: { id: both.user.id, username: both.user.username },
    });
    expect(item.browserId).toBeUndefined();
    const providers = await db().getRepository(ProviderSession).findBy({ idpSessionId: both.session.id });
    expect(providers).toHaveLength(2);
    expect(item.applications).toHaveLength(2);
    expect(item.applications).toEqual(
      expect.arrayContaining(
        [a, b].map((client) => ({
          providerId: client.providerId,
          slug: expect.any(String),
          name: expect.any(String),
          protocol: 'oidc',
        })),
      ),
    );
    expect(listed.body.items.find((session: { id: string }) => session.id === none.session.id).applications).toEqual(
      [],
    );
  });

  it('filters by user_id and provider_id', async () => {
    const mine = await api().get(`/api/v1/sessions?user_id=${both.user.id}`).set(auth());
    expect(mine.body).toMatchObject({ total: 1, items: [{ id: both.session.id }] });
    const atB = await api().get(`/api/v1/sessions?provider_id=${b.providerId}`).set(auth());
    expect(ids(atB.body)).toEqual([both.session.id]);
    const atA = await api().get(`/api/v1/sessions?provider_id=${a.providerId}&limit=200`).set(auth());
    expect(ids(atA.body).sort()).toEqual([both.session.id, onlyA.session.id].sort());
    const nobody = await api().get(`/api/v1/sessions?user_id=${none.user.id}&provider_id=${a.providerId}`).set(auth());
    expect(nobody.body).toMatchObject({ total: 0, items: [] });
  });

  it('leaves out ended and expired sessions, and applications whose provider session ended', async () => {
    await db()
      .getRepository(ProviderSession)
      .update({ idpSessionId: onlyA.session.id }, { endedAt: new Date(), state: 'ended' });
    const [listed] = (await api().get(`/api/v1/sessions?user_id=${onlyA.user.id}`).set(auth())).body.items;
    expect(listed.applications).toEqual([]);
    expect(ids((await api().get(`/api/v1/sessions?provider_id=${a.providerId}`).set(auth())).body)).toEqual([
      both.session.id,
    ]);

    await db()
      .getRepository(IdpSession)
      .update({ id: none.session.id }, { expiresAt: new Date(t.clock.now().getTime() - 1000) });
    expect((await api().get(`/api/v1/sessions?user_id=${none.user.id}`).set(auth())).body.total).toBe(0);
    const idle = await signedIn([]);
    await db()
      .getRepository(IdpSession)
      .update({ id: idle.session.id }, { lastSeenAt: new Date(t.clock.now().getTime() - t.config.session.idleMs) });
    expect((await api().get(`/api/v1/sessions?user_id=${idle.user.id}`).set(auth())).body.total).toBe(0);
    await endSession(onlyA.session.id);
    expect((await api().get(`/api/v1/sessions?user_id=${onlyA.user.id}`).set(auth())).body.total).toBe(0);
  });

  it('pages with limit and offset', async () => {
    await signedIn([]);
    await signedIn([]);
    const all = (await api().get('/api/v1/sessions?limit=200').set(auth())).body;
    expect(all.total).toBeGreaterThanOrEqual(3);
    const second = await api().get('/api/v1/sessions?limit=1&offset=1').set(auth());
    expect(second.body).toMatchObject({ total: all.total, limit: 1, offset: 1 });
    expect(ids(second.body)).toEqual([all.items[1].id]);
    expect((await api().get(`/api/v1/sessions?offset=${all.total}`).set(auth())).body.items).toEqual([]);
  });

  it.each([
    ['user_id=not-a-uuid', /user_id must be an id/],
    ['provider_id=1234', /provider_id must be an id/],
    ['limit=0', /limit must be a whole number from 1 to 200/],
    ['limit=201', /limit/],
    ['offset=-1', /offset/],
    [
      `user_id=${'00000000-0000-4000-8000-000000000000'}&user_id=${'00000000-0000-4000-8000-000000000001'}`,
      /user_id must be given once/,
    ],
  ])('answers 400 to %s', async (query, message) => {
    const response = await api().get(`/api/v1/sessions?${query}`).set(auth());
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(message) });
  });
});

describe('GET /api/v1/users?q=', () => {
  it('finds users by a part of their username, email or name, ignoring case; % and _ are plain characters', async () => {
    const users = t.app.get(UsersService);
    const zed = await users.create({ username: 'zed-q', email: 'Zed.Quark@Example.ORG', name: 'Zed Quark' }, SYSTEM);
    const pct = await users.create({ username: 'pct-user', name: '100% Real_Name' }, SYSTEM);
    const usernames = async (q: string) =>
      (
        await api()
          .get(`/api/v1/users?q=${encodeURIComponent(q)}&limit=200`)
          .set(auth())
      ).body.items.map((user: { username: string }) => user.username);
    expect(await usernames('ZED-')).toEqual([zed.username]);
    expect(await usernames('example.org')).toEqual([zed.username]);
    expect(await usernames('quark')).toEqual([zed.username]);
    expect(await usernames('%')).toEqual([pct.username]);
    expect(await usernames('l_n')).toEqual([pct.username]);
    expect(await usernames('_')).toEqual([pct.username]);
    expect(await usernames('no such person')).toEqual([]);
    const page = await api().get('/api/v1/users?q=zed&limit=1').set(auth());
    expect(page.body).toMatchObject({ total: 1, limit: 1, offset: 0 });
    const tooLong = await api()
      .get(`/api/v1/users?q=${'x'.repeat(101)}`)
      .set(auth());
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.message).toMatch(/q must be at most 100 characters/);
  });
});

describe('DELETE /api/v1/users/:id/sessions', () => {
  it('ends every session of the user everywhere; the applications are told, the user stays active, the operation names the user', async () => {
    const app = await rp();
    const first = await signedIn([app]);
    const second = new Browser(t.url);
    await second.login(first.user.username, 'user password');
    await login(app, second);
    const other = await signedIn([app]);
    const live = await db().getRepository(IdpSession).findBy({ userId: first.user.id, endedAt: IsNull() });
    expect(live).toHaveLength(2);

    const ended = await api().delete(`/api/v1/users/${first.user.id}/sessions`).set(auth());
    expect(ended.status).toBe(202);
    expect(ended.body.endedSessions.sort()).toEqual(live.map((session) => session.id).sort());
    expect(ended.body.operationId).toEqual(expect.any(String));
    expect((await api().get(`/api/v1/sessions?user_id=${first.user.id}`).set(auth())).body.total).toBe(0);
    expect((await api().get(`/api/v1/sessions?user_id=${other.user.id}`).set(auth())).body.total).toBe(1);

    const operation = await completedOperation(ended.body.operationId);
    expect(operation).toMatchObject({ trigger: 'admin_session', outcome: 'complete', initiatorType: 'admin' });
    expect(operation.deliveries).toHaveLength(2);
    expect(app.rp.logoutTokens).toHaveLength(2);
    const listed = await api().get(`/api/v1/logout-operations?user_id=${first.user.id}`).set(auth());
    expect(listed.body).toMatchObject({
      total: 1,
      items: [{ id: ended.body.operationId, userIds: [first.user.id], deliveryCounts: { succeeded: 2 } }],
    });

    expect((await api().get(`/api/v1/users/${first.user.id}`).set(auth())).body.isActive).toBe(true);
    expect(await new Browser(t.url).login(first.user.username, 'user password')).toMatchObject({ status: 303 });
  });

  it('with no live session starts an operation that ends nothing, completes at once and still names the user', async () => {
    const user = await t.app.get(UsersService).create({ username: `idle${++counter}` }, SYSTEM);
    const ended = await api().delete(`/api/v1/users/${user.id}/sessions`).set(auth());
    expect(ended.status).toBe(202);
    expect(ended.body.endedSessions).toEqual([]);
    expect((await api().get(`/api/v1/logout-operations/${ended.body.operationId}`).set(auth())).body).toMatchObject({
      outcome: 'complete',
      deliveries: [],
      deliveriesWritten: true,
    });
    expect(ids((await api().get(`/api/v1/logout-operations?user_id=${user.id}`).set(auth())).body)).toEqual([
      ended.body.operationId,
    ]);
  });

  it('answers 404 for a user that does not exist', async () => {
    const response = await api().delete(`/api/v1/users/${newId()}/sessions`).set(auth());
    expect(response.status).toBe(404);
  });
});

describe('POST /api/v1/users/:id/activate', () => {
  it('lets a deactivated user sign in again, audited once as user.activated; again: nothing changes', async () => {
    const { user } = await signedIn([]);
    const deactivated = await api().post(`/api/v1/users/${user.id}/deactivate`).set(auth());
    expect(deactivated.status).toBe(202);
    expect((await new Browser(t.url).login(user.username, 'user password')).status).not.toBe(303);
    const operations = await api()
      .get(`/api/v1/logout-operations?user_id=${user.id}&trigger=user_deactivated`)
      .set(auth());
    expect(ids(operations.body)).toEqual([deactivated.body.operationId]);

    const activated = await api().post(`/api/v1/users/${user.id}/activate`).set(auth());
    expect(activated.status).toBe(200);
    expect(activated.body).toMatchObject({ id: user.id, isActive: true, deactivatedAt: null });
    expect(activated.body.passwordHash).toBeUndefined();
    expect((await new Browser(t.url).login(user.username, 'user password')).status).toBe(303);

    const again = await api().post(`/api/v1/users/${user.id}/activate`).set(auth());
    expect(again.status).toBe(200);
    expect(again.body).toEqual(activated.body);
    const events = await db().getRepository(AuditEvent).findBy({ action: 'user.activated', targetId: user.id });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorType: 'admin' });
  });

  it('answers 404 for a user that does not exist', async () => {
    expect((await api().post(`/api/v1/users/${newId()}/activate`).set(auth())).status).toBe(404);
  });
});

describe('GET /api/v1/logout-operations', () => {
  let app: TestClient;
  let userOne: Awaited<ReturnType<typeof signedIn>>;
  let userTwo: Awaited<ReturnType<typeof signedIn>>;
  let first: string;
  let second: string;

  beforeAll(async () => {
    app = await rp();
    userOne = await signedIn([app]);
    userTwo = await signedIn([]);
    first = await endSession(userOne.session.id);
    await completedOperation(first);
    t.clock.advance(1000);
    second = await endSession(userTwo.session.id);
    await completedOperation(second);
  });

  it('lists operations newest first, with their users and deliveries counted by status', async () => {
    const listed = await api().get('/api/v1/logout-operations?limit=200').set(auth());
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ limit: 200, offset: 0, total: listed.body.items.length });
    const created = listed.body.items.map((item: { createdAt: string }) => Date.parse(item.createdAt));
    expect(created).toEqual([...created].sort((x, y) => y - x));
    expect(ids(listed.body).indexOf(second)).toBeLessThan(ids(listed.body).indexOf(first));
    expect(listed.body.items.find((item: { id: string }) => item.id === first)).toEqual({
      id: first,
      trigger: 'admin_session',
      initiatorType: 'admin',
      initiatorId: expect.any(String),
      initiatingProviderId: null,
      idpSessionIds: [userOne.session.id],
      createdAt: expect.any(String),
      completedAt: expect.any(String),
      outcome: 'complete',
      userIds: [userOne.user.id],
      deliveryCounts: { succeeded: 1 },
    });
    expect(listed.body.items.find((item: { id: string }) => item.id === second)).toMatchObject({
      userIds: [userTwo.user.id],
      deliveryCounts: {},
    });
  });

  it('filters by trigger, outcome, delivery_status, user_id, provider_id, since and until', async () => {
    const query = async (q: string) =>
      ids((await api().get(`/api/v1/logout-operations?limit=200&${q}`).set(auth())).body);
    expect(await query(`user_id=${userOne.user.id}`)).toEqual([first]);
    expect(await query(`provider_id=${app.providerId}`)).toEqual([first]);
    expect(await query(`trigger=admin_session&user_id=${userTwo.user.id}`)).toEqual([second]);
    expect(await query(`trigger=expiry&user_id=${userTwo.user.id}`)).toEqual([]);
    expect(await query(`outcome=complete`)).toEqual(expect.arrayContaining([first, second]));
    expect(await query(`outcome=open`)).not.toContain(first);
    expect(await query(`outcome=failed`)).not.toContain(first);
    expect(await query(`delivery_status=succeeded`)).toContain(first);
    expect(await query(`delivery_status=succeeded`)).not.toContain(second);
    const secondAt = (await api().get(`/api/v1/logout-operations/${second}`).set(auth())).body.createdAt;
    const since = await query(`since=${encodeURIComponent(secondAt)}`);
    expect(since).toContain(second);
    expect(since).not.toContain(first);
    const until = await query(`until=${encodeURIComponent(secondAt)}`);
    expect(until).toContain(first);
    expect(until).not.toContain(second);
    expect(await query('since=2999-01-01')).toEqual([]);
    expect(await query('until=2000-01-01T00:00:00%2B01:00')).toEqual([]);
  });

  it('pages with limit and offset', async () => {
    const all = (await api().get('/api/v1/logout-operations?limit=200').set(auth())).body;
    const page = (await api().get('/api/v1/logout-operations?limit=1&offset=1').set(auth())).body;
    expect(page).toMatchObject({ total: all.total, limit: 1, offset: 1 });
    expect(ids(page)).toEqual([all.items[1].id]);
  });

  it.each([
    ['trigger=logout', /trigger must be one of: user_logout, rp_initiated, .*api, user_activated, ssf_verification\./],
    ['outcome=done', /outcome must be one of: complete, partial, failed, open\./],
    ['delivery_status=ok', /delivery_status must be one of/],
    ['user_id=alice', /user_id must be an id/],
    ['provider_id=x', /provider_id must be an id/],
    ['since=yesterday', /since must be an ISO 8601/],
    ['since=2025-02-30', /since must be an ISO 8601/],
    ['until=2025-01-31T12:00:00', /until must be an ISO 8601/],
    ['since=2025-02-01&until=2025-01-01', /since must be before until/],
    ['trigger=expiry&trigger=api', /trigger must be given once/],
    ['limit=abc', /limit must be a whole number/],
  ])('answers 400 to %s', async (query, message) => {
    const response = await api().get(`/api/v1/logout-operations?${query}`).set(auth());
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(message) });
  });
});

describe('retrying deliveries', () => {
  it('sends a dead back-channel delivery again once the application is fixed: it succeeds and the operation is complete', async () => {
    const app = await rp();
    app.rp.backchannelReplies = [500, 500]; // then 200: the application is fixed
    const { session } = await signedIn([app]);
    const operationId = await endSession(session.id);
    const failed = await completedOperation(operationId);
    expect(failed.outcome).toBe('failed');
    const [dead] = failed.deliveries;
    expect(dead).toMatchObject({ status: 'dead', attempts: 2, lastHttpStatus: 500, channel: 'backchannel_oidc' });
    const dashboard = (await api().get('/api/v1/dashboard').set(auth())).body;
    expect(dashboard.deliveriesDead).toBeGreaterThanOrEqual(1);
    expect(
      ids((await api().get(`/api/v1/logout-operations?delivery_status=dead&limit=200`).set(auth())).body),
    ).toContain(operationId);

    const retried = await api().post(`/api/v1/logout-deliveries/${dead.id}/retry`).set(auth());
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({
      id: dead.id,
      operationId,
      provider: { id: app.providerId },
      channel: 'backchannel_oidc',
      completedAt: null,
    });
    expect(retried.body.attemptLog.slice(0, 2)).toEqual(dead.attemptLog);

    const settled = await completedOperation(operationId);
    expect(settled.outcome).toBe('complete');
    expect(settled.deliveries[0]).toMatchObject({ status: 'succeeded', attempts: 1, lastHttpStatus: 200 });
    expect(
      settled.deliveries[0].attemptLog.map(
        (attempt: { httpStatus: number; result: string }) => `${attempt.httpStatus} ${attempt.result}`,
      ),
    ).toEqual(['500 queued', '500 dead', '200 succeeded']);
    expect(app.rp.backchannelRequests).toBe(3);
    expect(app.rp.logoutTokens).toHaveLength(3); // each attempt a fresh token, each verified by the RP
    expect(settled.deliveries[0].messageId).toBe(app.rp.logoutTokens[2].claims.jti);
    const audit = await db().getRepository(AuditEvent).findBy({ action: 'logout.delivery_retried', targetId: dead.id });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actorType: 'admin',
      details: expect.objectContaining({ operationId, was: 'dead' }),
    });

    // Succeeded now: a second retry is refused and changes nothing.
    const again = await api().post(`/api/v1/logout-deliveries/${dead.id}/retry`).set(auth());
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      error: 'conflict',
      code: 'delivery_not_retryable',
      message: expect.stringMatching(/succeeded/),
    });
    expect((await api().get(`/api/v1/logout-operations/${operationId}`).set(auth())).body).toEqual(settled);
    expect(app.rp.backchannelRequests).toBe(3);
  });

  it('refuses a front-channel delivery, even a failed one: only the browser can run it; nothing changes', async () => {
    const app = await rp({ backchannel: false, frontchannel: true });
    const { session } = await signedIn([app]);
    const operationId = await endSession(session.id);
    const operation = await completedOperation(operationId);
    const [skipped] = operation.deliveries;
    expect(skipped).toMatchObject({ channel: 'frontchannel_oidc', status: 'skipped' });
    const refused = await api().post(`/api/v1/logout-deliveries/${skipped.id}/retry`).set(auth());
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'delivery_not_retryable', message: expect.stringMatching(/browser/) });

    await db().getRepository(LogoutDelivery).update({ id: skipped.id }, { status: 'failed' });
    const before = (await api().get(`/api/v1/logout-operations/${operationId}`).set(auth())).body;
    const failed = await api().post(`/api/v1/logout-deliveries/${skipped.id}/retry`).set(auth());
    expect(failed.status).toBe(409);
    expect(failed.body.message).toMatch(/browser/);
    expect((await api().get(`/api/v1/logout-operations/${operationId}`).set(auth())).body).toEqual(before);
    expect(
      await db().getRepository(AuditEvent).countBy({ action: 'logout.delivery_retried', targetId: skipped.id }),
    ).toBe(0);
  });

  it('retries every failed or dead back-channel delivery of an operation', async () => {
    const [refusing, down, fine] = [await rp(), await rp(), await rp()];
    refusing.rp.backchannelReplies = [400];
    down.rp.backchannelReplies = [503, 503];
    const { session } = await signedIn([refusing, down, fine]);
    const operationId = await endSession(session.id);
    const partial = await completedOperation(operationId);
    expect(partial.outcome).toBe('partial');
    const status = (providerId: string) =>
      partial.deliveries.find((delivery: { provider: { id: string } }) => delivery.provider.id === providerId);
    expect(status(refusing.providerId)).toMatchObject({ status: 'failed' });
    expect(status(down.providerId)).toMatchObject({ status: 'dead' });
    expect(status(fine.providerId)).toMatchObject({ status: 'succeeded' });

    const retried = await api().post(`/api/v1/logout-operations/${operationId}/retry`).set(auth());
    expect(retried.status).toBe(200);
    expect(retried.body.retried.sort()).toEqual([status(refusing.providerId).id, status(down.providerId).id].sort());
    const complete = await completedOperation(operationId);
    expect(complete.outcome).toBe('complete');
    expect(complete.deliveries.map((delivery: { status: string }) => delivery.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    expect(fine.rp.backchannelRequests).toBe(1); // the one that had succeeded was not sent again

    expect((await api().post(`/api/v1/logout-operations/${operationId}/retry`).set(auth())).body).toEqual({
      retried: [],
    });
    expect((await api().post(`/api/v1/logout-operations/${newId()}/retry`).set(auth())).status).toBe(404);
    expect((await api().post(`/api/v1/logout-deliveries/${newId()}/retry`).set(auth())).status).toBe(404);
  });

  it("pages an operation's deliveries, those not confirmed first, in the API and on the console page", async () => {
    const [refusing, down, fine] = [await rp(), await rp(), await rp()];
    refusing.rp.backchannelReplies = [400];
    down.rp.backchannelReplies = [503, 503];
    const { session } = await signedIn([fine, refusing, down]);
    const operationId = await endSession(session.id);
    expect((await completedOperation(operationId)).outcome).toBe('partial');

    const page = async (query: string) =>
      (await api().get(`/api/v1/logout-operations/${operationId}/deliveries?${query}`).set(auth())).body;
    const first = await page('limit=2');
    expect(first).toMatchObject({ total: 3, limit: 2, offset: 0 });
    // The failed and the dead one first, though the confirmed one was written before them (the three
    // rows share one commit, so their order among themselves is not asserted).
    expect(first.items.map((delivery: { status: string }) => delivery.status).sort()).toEqual(['dead', 'failed']);
    expect(first.items.map((delivery: { provider: { id: string } }) => delivery.provider.id).sort()).toEqual(
      [refusing.providerId, down.providerId].sort(),
    );
    const second = await page('limit=2&offset=2');
    expect(second.items.map((delivery: { provider: { id: string } }) => delivery.provider.id)).toEqual([
      fine.providerId,
    ]);
    expect((await api().get(`/api/v1/logout-operations/${newId()}/deliveries`).set(auth())).status).toBe(404);
    expect((await page('limit=0')).error).toBe('invalid_request');

    const admin = new Browser(t.url);
    await admin.login('root', 'root password');
    const html = (await admin.get(`/admin/logouts/${operationId}?limit=2`)).text;
    expect(html).toMatch(/id="delivery-counts">3 deliveries: 1 confirmed, 2 failed or dead\./);
    expect(html.match(/data-delivery="/g)).toHaveLength(2);
    expect(html).toContain('Retry all 2 failed deliveries');
    expect(html).toContain(`href="/admin/logouts/${operationId}?limit=2&amp;offset=2" rel="next"`);
    const rest = (await admin.get(`/admin/logouts/${operationId}?limit=2&offset=2`)).text;
    expect(rest.match(/data-delivery="/g)).toHaveLength(1);
    expect(rest).toContain('rel="prev"');
  });

  (onPostgres ? it : it.skip)(
    'lets only one of two simultaneous retries of a delivery through (PostgreSQL)',
    async () => {
      const app = await rp();
      app.rp.backchannelReplies = [400];
      const { session } = await signedIn([app]);
      const operationId = await endSession(session.id);
      const [failed] = (await completedOperation(operationId)).deliveries;
      expect(failed.status).toBe('failed');
      const answers = await Promise.all([
        api().post(`/api/v1/logout-deliveries/${failed.id}/retry`).set(auth()),
        api().post(`/api/v1/logout-deliveries/${failed.id}/retry`).set(auth()),
      ]);
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
      expect(
        await db().getRepository(AuditEvent).countBy({ action: 'logout.delivery_retried', targetId: failed.id }),
      ).toBe(1);
      await eventually(async () => (await deliveriesOf(operationId))[0].status === 'succeeded');
      expect(app.rp.backchannelRequests).toBe(2); // the refused attempt, and one for the retry
    },
  );
});

describe('GET /api/v1/dashboard', () => {
  it('counts live sessions, logins, logouts by outcome, failing and dead deliveries, and the outbox', async () => {
    const hanging = await rp();
    hanging.rp.backchannelReplies = ['hang', 'hang'];
    const { session } = await signedIn([hanging]);
    const before = (await api().get('/api/v1/dashboard').set(auth())).body;
    const operationId = await endSession(session.id);

    const dashboard = await api().get('/api/v1/dashboard').set(auth());
    expect(dashboard.status).toBe(200);
    const now = Date.parse(dashboard.body.at);
    expect(dashboard.body).toEqual({
      at: expect.any(String),
      sessions: { live: expect.any(Number), loginsLast24h: expect.any(Number) },
      operationsLast24h: {
        complete: expect.any(Number),
        partial: expect.any(Number),
        failed: expect.any(Number),
        open: expect.any(Number),
      },
      deliveriesFailing: expect.any(Number),
      deliveriesDead: expect.any(Number),
      outbox: { pending: expect.any(Number), oldestPendingAt: expect.any(String) },
      queue: { reachable: true },
    });
    expect(dashboard.body.sessions.live).toBe(before.sessions.live - 1);
    expect(dashboard.body.sessions.live).toBe((await api().get('/api/v1/sessions').set(auth())).body.total);
    const logins = await db()
      .getRepository(AuditEvent)
      .countBy({ action: In(['session.started', 'session.reauthenticated']) });
    expect(dashboard.body.sessions.loginsLast24h).toBe(logins);
    // The hanging application holds its delivery open for two attempts of a second each.
    expect(dashboard.body.outbox.pending).toBeGreaterThanOrEqual(1);
    expect(Date.parse(dashboard.body.outbox.oldestPendingAt)).toBeLessThanOrEqual(now);
    expect(dashboard.body.operationsLast24h.open).toBeGreaterThanOrEqual(1);
    const byOutcome = dashboard.body.operationsLast24h;
    const total = (
      await api()
        .get(`/api/v1/logout-operations?limit=1&since=${new Date(now - 86_400_000).toISOString()}`)
        .set(auth())
    ).body.total;
    expect(byOutcome.complete + byOutcome.partial + byOutcome.failed + byOutcome.open).toBe(total);
    const opens = (await api().get(`/api/v1/logout-operations?limit=1&outcome=open`).set(auth())).body.total;
    expect(byOutcome.open).toBe(opens);

    const dead = await completedOperation(operationId);
    expect(dead.deliveries[0].status).toBe('dead');
    const after = (await api().get('/api/v1/dashboard').set(auth())).body;
    expect(after.outbox).toEqual({ pending: 0, oldestPendingAt: null });
    expect(after.deliveriesDead).toBe(dashboard.body.deliveriesDead + 1);
    expect(after.operationsLast24h.failed).toBe(byOutcome.failed + 1);
    expect(after.operationsLast24h.open).toBe(byOutcome.open - 1);
  });
});

describe('access', () => {
  const someId = '00000000-0000-4000-8000-000000000000';
  const endpoints: Array<['get' | 'post' | 'delete', string]> = [
    ['get', '/api/v1/sessions'],
    ['get', '/api/v1/logout-operations'],
    ['get', '/api/v1/dashboard'],
    ['post', `/api/v1/logout-operations/${someId}/retry`],
    ['post', `/api/v1/logout-deliveries/${someId}/retry`],
    ['delete', `/api/v1/users/${someId}/sessions`],
    ['post', `/api/v1/users/${someId}/activate`],
  ];

  it.each(endpoints)(
    '%s %s: 401 without credentials, 403 for a user who is not an administrator',
    async (method, path) => {
      const anonymous = await api()[method](path);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error).toBe('unauthorized');
      const browser = new Browser(t.url);
      await browser.login('plain', 'plain password');
      const plain = await browser.agent[method](path);
      expect(plain.status).toBe(403);
    },
  );

  it("refuses an administrator's browser session without the CSRF header for changes", async () => {
    const { user } = await signedIn([]);
    const browser = new Browser(t.url);
    await browser.login('root', 'root password');
    const without = await browser.agent.delete(`/api/v1/users/${user.id}/sessions`);
    expect(without.status).toBe(403);
    expect((await api().get(`/api/v1/sessions?user_id=${user.id}`).set(auth())).body.total).toBe(1);
    const csrf = (await browser.agent.get('/api/v1/me')).body.csrfToken;
    const withHeader = await browser.agent.delete(`/api/v1/users/${user.id}/sessions`).set('X-CSRF-Token', csrf);
    expect(withHeader.status).toBe(202);
  });
});

describe('the OpenAPI document', () => {
  it('describes the new endpoints with typed responses', async () => {
    // The JSON is at /api/docs/openapi.json (and, until the browsable UI takes its place, at /api/docs).
    const json = await api().get('/api/docs/openapi.json');
    const doc = json.status === 200 ? json.body : (await api().get('/api/docs')).body;
    const response = (path: string, method: string, status: number) =>
      doc.paths[path][method].responses[status].content['application/json'].schema;
    expect(response('/sessions', 'get', 200).properties.items.items).toEqual({
      $ref: '#/components/schemas/LiveSession',
    });
    expect(response('/logout-operations', 'get', 200).properties.items.items).toEqual({
      $ref: '#/components/schemas/LogoutOperationSummary',
    });
    expect(response('/logout-operations/{id}', 'get', 200)).toEqual({ $ref: '#/components/schemas/LogoutOperation' });
    expect(response('/logout-operations/{id}/retry', 'post', 200)).toEqual({ $ref: '#/components/schemas/Retried' });
    expect(response('/logout-deliveries/{id}/retry', 'post', 200)).toEqual({
      $ref: '#/components/schemas/LogoutDelivery',
    });
    expect(response('/dashboard', 'get', 200)).toEqual({ $ref: '#/components/schemas/Dashboard' });
    expect(response('/users/{id}/sessions', 'delete', 202)).toEqual({ $ref: '#/components/schemas/EndedSessions' });
    expect(response('/users/{id}/activate', 'post', 200)).toEqual({ $ref: '#/components/schemas/User' });
    const names = (path: string) => doc.paths[path].get.parameters.map((parameter: { name: string }) => parameter.name);
    expect(names('/logout-operations')).toEqual(
      expect.arrayContaining(['limit', 'offset', 'trigger', 'outcome', 'user_id', 'provider_id', 'since', 'until']),
    );
    expect(names('/sessions')).toEqual(expect.arrayContaining(['limit', 'offset', 'user_id', 'provider_id']));
    expect(names('/users')).toContain('q');
  });
});

describe('queue reachability', () => {
  it('says the queue is unreachable, within a short bound, once Redis is gone', async () => {
    await redis.stop();
    const started = Date.now();
    const dashboard = await api().get('/api/v1/dashboard').set(auth());
    expect(dashboard.status).toBe(200);
    expect(dashboard.body.queue).toEqual({ reachable: false });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('the logout_operation_users migration', () => {
  it('fills in the users of operations written before it, from the IdP sessions they name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signoff-migration-'));
    const database = await testDatabaseUrl(dir);
    const config = loadConfig({ DATA_DIR: dir, DATABASE_URL: database.url });
    const options = dataSourceOptions(config);
    if (config.database.type === 'sqlite') prepareSqliteFile(config.database.path);
    const before = await new DataSource({
      ...options,
      migrations: (options.migrations as Array<{ name: string }>).filter(
        (migration) => migration.name !== 'LogoutOperationUsers1764400000000',
      ) as never,
    }).initialize();
    try {
      await before.runMigrations();
      const now = new Date();
      const user = (name: string) => before.getRepository(User).save(plainUser(name, now));
      const [ann, bob] = [await user('ann'), await user('bob')];
      const session = (userId: string) =>
        before.getRepository(IdpSession).save({
          id: newId(),
          userId,
          browserId: newId(),
          authTime: now,
          lastSeenAt: now,
          expiresAt: now,
          createdAt: now,
          endedAt: now,
          endReason: 'logout' as const,
          ip: null,
          userAgent: null,
        });
      const [annOne, annTwo, bobOne] = [await session(ann.id), await session(ann.id), await session(bob.id)];
      const operation = async (idpSessionIds: string[]) => {
        const id = newId();
        await before.getRepository(LogoutOperation).insert({
          id,
          trigger: 'user_logout',
          initiatorType: 'user',
          initiatorId: null,
          initiatingProviderId: null,
          idpSessionIds,
          createdAt: now,
          completedAt: now,
          outcome: 'complete',
        });
        return id;
      };
      const both = await operation([annOne.id, bobOne.id, annTwo.id]);
      const onlyAnn = await operation([annTwo.id]);
      const nobody = await operation([]);
      const gone = await operation([newId()]);
      await before.destroy();

      const after = await openDatabase(config);
      try {
        const rows = await after.getRepository(LogoutOperationUser).find();
        const of = (operationId: string) =>
          rows
            .filter((row) => row.operationId === operationId)
            .map((row) => row.userId)
            .sort();
        expect(of(both)).toEqual([ann.id, bob.id].sort());
        expect(of(onlyAnn)).toEqual([ann.id]);
        expect(of(nobody)).toEqual([]);
        expect(of(gone)).toEqual([]);
        expect(rows).toHaveLength(3);
        // down, then up again: the table goes and comes back filled the same way
        const Migration = after.migrations.find((migration) => migration.name === 'LogoutOperationUsers1764400000000')!
          .constructor as new () => MigrationInterface;
        const runner = after.createQueryRunner();
        try {
          await new Migration().down(runner);
          expect(await runner.hasTable('logout_operation_users')).toBe(false);
          await new Migration().up(runner);
        } finally {
          await runner.release();
        }
        expect(await after.getRepository(LogoutOperationUser).count()).toBe(3);
      } finally {
        await after.destroy();
      }
    } finally {
      if (before.isInitialized) await before.destroy();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
