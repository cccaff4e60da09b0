import { EmbeddedRedis, IdpSession, LogoutDelivery, SYSTEM, UsersService } from '@signoff/core';
import { SignJWT, generateKeyPair, decodeJwt } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import request from 'supertest';
import { DataSource, IsNull } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser, SIGNED_OUT_PAGE } from '../support/browser';
import { eventually } from '../support/eventually';
import {
  freshUserSignedIn,
  login,
  registerClient,
  silentAuthorizationError,
  type TestClient,
} from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

// This suite owns its Redis, so that it can stop it and start it again.
let redisDir: string;
let redis: EmbeddedRedis;
let t: TestApp;
let token: string;
const rps: TestClient[] = [];
let counter = 0;

beforeAll(async () => {
  redisDir = mkdtempSync(join(tmpdir(), 'signoff-slo-'));
  redis = await EmbeddedRedis.start(redisDir);
  t = await startApp(
    {
      REDIS_URL: redis.url,
      DELIVERY_TIMEOUT: '1s',
      DELIVERY_ATTEMPTS: '2',
      SESSION_SWEEP_INTERVAL: '1s',
      BOOTSTRAP_ADMIN_USERNAME: 'root',
      BOOTSTRAP_ADMIN_PASSWORD: 'root password',
    },
    { withWorker: true },
  );
  const root = (await t.app.get(UsersService).findByUsername('root'))!;
  token = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
});
afterAll(async () => {
  for (const rp of rps) await rp.rp.stop();
  await t.close();
  await redis.stop();
  rmSync(redisDir, { recursive: true, force: true });
});

const signedIn = (...clients: TestClient[]) => freshUserSignedIn(t, clients);

async function rp(metadata: Record<string, unknown> = {}, options?: { backchannel?: boolean; frontchannel?: boolean }) {
  const created = await registerClient(t, metadata, options);
  rps.push(created);
  return created;
}

/** The conformance suite's check after each logout: a silent authorization request needs a login. */
async function expectLoginRequired(browser: Browser, app: TestClient) {
  expect(await silentAuthorizationError(app, browser)).toBe('login_required');
}

const deliveriesOf = (providerId: string) =>
  t.app
    .get(DataSource)
    .getRepository(LogoutDelivery)
    .find({ where: { providerId }, order: { createdAt: 'ASC' } });
const api = () => request(t.url);
const auth = () => ({ Authorization: `Bearer ${token}` });

/**
 * The operation as the admin API shows it, once it has completed: it is settled after its last
 * delivery's outcome is recorded, not with it, so a final delivery does not mean a completed operation yet.
 */
async function completedOperation(operationId: string) {
  const read = async () => (await api().get(`/api/v1/logout-operations/${operationId}`).set(auth())).body;
  await eventually(async () => (await read()).completedAt);
  return read();
}

describe('back-channel logout', () => {
  it('tells the RP when the user logs out at Signoff, with a token the RP verifies; its refresh token stops working', async () => {
    const app = await rp();
    const {
      browser,
      logins: [{ tokens }],
    } = await signedIn(app);
    await browser.submit('/logout', { csrf: (await browser.get('/logout')) && browser.csrf });
    const [received] = (await eventually(async () => (app.rp.logoutTokens.length ? app.rp.logoutTokens : null)))!;
    expect(app.rp.rejected).toEqual([]);
    expect(received.header).toMatchObject({ typ: 'logout+jwt', alg: 'RS256' });
    expect(received.claims).toMatchObject({
      iss: t.url,
      aud: app.clientId,
      sub: tokens.claims()!.sub,
      sid: tokens.claims()!.sid,
    });
    expect(received.claims.exp! - received.claims.iat!).toBe(120);
    expect(Object.keys(received.claims.events!)).toEqual(['http://schemas.openid.net/event/backchannel-logout']);
    expect(received.claims).not.toHaveProperty('nonce');
    await expect(client.refreshTokenGrant(app.config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const [delivery] = (await eventually(async () =>
      (await deliveriesOf(app.providerId)).filter((d) => d.status === 'succeeded').length
        ? deliveriesOf(app.providerId)
        : null,
    ))!;
    expect(delivery).toMatchObject({
      channel: 'backchannel_oidc',
      status: 'succeeded',
      attempts: 1,
      lastHttpStatus: 200,
      messageId: received.claims.jti,
    });
  });

  it('keeps offline_access refresh tokens across the logout', async () => {
    const app = await rp();
    const { browser } = await signedIn();
    const { tokens } = await login(app, browser, undefined, { scope: 'openid offline_access' });
    await browser.get('/logout');
    await browser.submit('/logout', { csrf: browser.csrf });
    await eventually(async () => app.rp.logoutTokens.length);
    const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token!);
    expect(refreshed.access_token).toBeTruthy();
    expect(refreshed.id_token).toBeUndefined(); // no live session, so no ID token
  });

  it('sends one token per provider session however many tokens were issued, signed as the client asked', async () => {
    const app = await rp({ id_token_signed_response_alg: 'ES256', logout_token_typ: 'JWT' });
    const { browser } = await signedIn(app, app, app);
    await browser.get('/logout');
    await browser.submit('/logout', { csrf: browser.csrf });
    await eventually(async () => app.rp.logoutTokens.length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(app.rp.logoutTokens).toHaveLength(1);
    expect(app.rp.logoutTokens[0].header).toMatchObject({ typ: 'JWT', alg: 'ES256' });
    expect(await deliveriesOf(app.providerId)).toHaveLength(1);
  });

  it('reaches every RP of the session when an admin ends it, and the operation shows each delivery', async () => {
    const [one, two] = [await rp(), await rp()];
    const { username } = await signedIn(one, two);
    const [session] = await t.app
      .get(DataSource)
      .getRepository(IdpSession)
      .find({ where: { user: { username }, endedAt: IsNull() } });
    const ended = await api().delete(`/api/v1/sessions/${session.id}`).set(auth());
    expect(ended.status).toBe(202);
    const operation = await eventually(async () => {
      const body = (await api().get(`/api/v1/logout-operations/${ended.body.operationId}`).set(auth())).body;
      return body.completedAt ? body : null;
    });
    expect(operation).toMatchObject({ trigger: 'admin_session', initiatorType: 'admin', outcome: 'complete' });
    expect(operation.deliveries.map((d: { status: string; channel: string }) => `${d.channel}:${d.status}`)).toEqual([
      'backchannel_oidc:succeeded',
      'backchannel_oidc:succeeded',
    ]);
    expect(one.rp.logoutTokens).toHaveLength(1);
    expect(two.rp.logoutTokens).toHaveLength(1);
  });

  it('reaches the RPs when an admin deactivates the user', async () => {
    const app = await rp();
    const { username } = await signedIn(app);
    const user = (await t.app.get(UsersService).findByUsername(username))!;
    expect((await api().post(`/api/v1/users/${user.id}/deactivate`).set(auth())).status).toBe(202);
    expect(await eventually(async () => app.rp.logoutTokens.length)).toBe(1);
  });

  it('deactivates many users in one call: one operation tells every RP of every user; an unknown id or the last administrator changes nothing', async () => {
    const [one, two] = [await rp(), await rp()];
    const first = await signedIn(one, two);
    const second = await signedIn(one);
    const users = t.app.get(UsersService);
    const ids = [(await users.findByUsername(first.username))!.id, (await users.findByUsername(second.username))!.id];
    const bulk = (body: object) => api().post('/api/v1/users/deactivate').set(auth()).send(body);

    const unknown = '00000000-0000-4000-8000-000000000000';
    const refused = await bulk({ ids: [...ids, unknown] });
    expect(refused.status).toBe(404);
    expect(refused.body.details).toEqual({ missing: [unknown] });
    const root = (await users.findByUsername('root'))!;
    expect((await bulk({ ids: [ids[0], root.id] })).status).toBe(409); // root is the only administrator
    expect((await bulk({ ids: [] })).status).toBe(400);
    expect((await bulk({ ids: Array.from({ length: 1001 }, () => unknown) })).status).toBe(400);
    for (const id of ids) expect((await users.get(id)).isActive).toBe(true);
    expect(one.rp.logoutTokens).toHaveLength(0);

    const done = await bulk({ ids });
    expect(done.status).toBe(202);
    expect(done.body.deactivated.sort()).toEqual([...ids].sort());
    expect(done.body.endedSessions).toHaveLength(2);
    const operation = await eventually(async () => {
      const body = (await api().get(`/api/v1/logout-operations/${done.body.operationId}`).set(auth())).body;
      return body.completedAt ? body : null;
    });
    expect(operation).toMatchObject({ trigger: 'user_deactivated', outcome: 'complete' });
    expect(operation.deliveries).toHaveLength(3);
    expect(new Set(one.rp.logoutTokens.map((token) => token.claims.sid)).size).toBe(2); // one per user's session
    expect(two.rp.logoutTokens).toHaveLength(1);
    for (const id of ids) expect((await users.get(id)).isActive).toBe(false);
    // Again: nobody is active any more, nothing is ended, and nobody is told twice.
    const again = await bulk({ ids });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ deactivated: [], endedSessions: [] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(one.rp.logoutTokens).toHaveLength(2);
  });

  it('reaches the RPs when the session expires', async () => {
    const app = await rp();
    await signedIn(app);
    t.clock.advance(13 * 3_600_000);
    expect(await eventually(async () => app.rp.logoutTokens.length)).toBe(1);
  });
});

describe("RP-Initiated Logout (the OpenID conformance suite's OP logout cases)", () => {
  const endSession = (browser: Browser, params: Record<string, string>) =>
    browser.get(`/oauth2/end_session?${new URLSearchParams(params)}`);

  it('valid id_token_hint + registered post_logout_redirect_uri + state: logs out, tells the RP, redirects with state; prompt=none then needs login', async () => {
    const app = await rp();
    const {
      browser,
      logins: [{ tokens }],
    } = await signedIn(app);
    const response = await endSession(browser, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: `${app.rp.url}/logged-out`,
      state: 'xyz',
    });
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`${app.rp.url}/logged-out?state=xyz`);
    expect(await eventually(async () => app.rp.logoutTokens.length)).toBe(1);
    await expectLoginRequired(browser, app);
  });

  it('reaches every other RP of the session, not only the one that asked', async () => {
    const [asking, other, third] = [await rp(), await rp(), await rp()];
    const {
      browser,
      logins: [{ tokens }],
    } = await signedIn(asking, other, third);
    await endSession(browser, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: `${asking.rp.url}/logged-out`,
    });
    for (const each of [asking, other, third])
      expect(await eventually(async () => each.rp.logoutTokens.length)).toBe(1);
  });

  it('no state: redirects to the registered URI exactly', async () => {
    const app = await rp();
    const {
      browser,
      logins: [{ tokens }],
    } = await signedIn(app);
    const response = await endSession(browser, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: `${app.rp.url}/logged-out`,
    });
    expect(response.headers.location).toBe(`${app.rp.url}/logged-out`);
    await expectLoginRequired(browser, app);
  });

  it('no post_logout_redirect_uri: logs out and shows the signed-out page', async () => {
    const app = await rp();
    const {
      browser,
      logins: [{ tokens }],
    } = await signedIn(app);
    const response = await endSession(browser, { id_token_hint: tokens.id_token!, state: 'ignored' });
    expect(response.headers.location).toMatch(SIGNED_OUT_PAGE);
    expect((await browser.get(response.headers.location)).text).toContain('You have signed out');
    expect(await browser.signedInAs()).toBeNull();
    await expectLoginRequired(browser, app);
  });

  it.each([
    [
      'an unregistered post_logout_redirect_uri',
      async (app: TestClient, hint: string) => ({
        id_token_hint: hint,
        post_logout_redirect_uri: 'https://evil.example/logged-out',
      }),
    ],
    [
      'the registered URI with an added query',
      async (app: TestClient, hint: string) => ({
        id_token_hint: hint,
        post_logout_redirect_uri: `${app.rp.url}/logged-out?extra=1`,
      }),
    ],
    [
      'an alg:none hint',
      async (app: TestClient, hint: string) => ({
        id_token_hint: `${hint.split('.')[0].replace(/^.*$/, Buffer.from('{"alg":"none"}').toString('base64url'))}.${hint.split('.')[1]}.`,
        post_logout_redirect_uri: `${app.rp.url}/logged-out`,
      }),
    ],
    [
      'a hint signed by another key',
      async (app: TestClient, hint: string) => {
        const { privateKey } = await generateKeyPair('RS256');
        const forged = await new SignJWT(decodeJwt(hint))
          .setProtectedHeader({ alg: 'RS256', kid: 'attacker' })
          .sign(privateKey);
        return { id_token_hint: forged, post_logout_redirect_uri: `${app.rp.url}/logged-out` };
      },
    ],
    [
      "a client_id that is not the hint's audience",
      async (app: TestClient, hint: string) => ({
        id_token_hint: hint,
        client_id: 'someone-else',
        post_logout_redirect_uri: `${app.rp.url}/logged-out`,
      }),
    ],
  ])('%s: an error page, no redirect, nobody logged out', async (_name, params) => {
    const app = await rp();
    const {
      browser,
      logins: [{ tokens }],
    } = await signedIn(app);
    const response = await endSession(browser, await params(app, tokens.id_token!));
    expect(response.status).toBe(400);
    expect(response.headers.location).toBeUndefined();
    expect(await browser.signedInAs()).not.toBeNull();
    expect(app.rp.logoutTokens).toHaveLength(0);
  });

  it('no id_token_hint (client_id + URI): asks first, then logs out and redirects', async () => {
    const app = await rp();
    const { browser } = await signedIn(app);
    const confirm = await endSession(browser, {
      client_id: app.clientId,
      post_logout_redirect_uri: `${app.rp.url}/logged-out`,
      state: 's',
    });
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Sign out?');
    expect(await browser.signedInAs()).not.toBeNull();
    const handle = /name="handle" value="([^"]+)"/.exec(confirm.text)![1];
    const done = await browser.post('/oauth2/end_session/confirm', { handle, answer: 'yes', csrf: browser.csrf });
    expect(done.headers.location).toBe(`${app.rp.url}/logged-out?state=s`);
    expect(await eventually(async () => app.rp.logoutTokens.length)).toBe(1);
    await expectLoginRequired(browser, app);
  });

  it('no parameters at all, or only state: asks first; "stay signed in" keeps the session', async () => {
    const app = await rp();
    const { browser } = await signedIn(app);
    for (const params of [{}, { state: 'only' }] as Array<Record<string, string>>) {
      const confirm = await endSession(browser, params);
      expect(confirm.text).toContain('Sign out?');
    }
    const handle = /name="handle" value="([^"]+)"/.exec((await endSession(browser, {})).text)![1];
    await browser.post('/oauth2/end_session/confirm', { handle, answer: 'no', csrf: browser.csrf });
    expect(await browser.signedInAs()).not.toBeNull();
    const second = /name="handle" value="([^"]+)"/.exec((await endSession(browser, {})).text)![1];
    const done = await browser.post('/oauth2/end_session/confirm', {
      handle: second,
      answer: 'yes',
      csrf: browser.csrf,
    });
    expect(done.headers.location).toMatch(SIGNED_OUT_PAGE);
    expect(await browser.signedInAs()).toBeNull();
    await expectLoginRequired(browser, app);
  });

  it('a hint for a session this browser does not hold: asks instead of logging out', async () => {
    const app = await rp();
    const {
      logins: [{ tokens }],
    } = await signedIn(app);
    const { browser: other } = await signedIn();
    const response = await endSession(other, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: `${app.rp.url}/logged-out`,
    });
    expect(response.status).toBe(200);
    expect(response.text).toContain('Sign out?');
  });

  it('nobody signed in: redirects to a registered URI at once (idempotent)', async () => {
    const app = await rp();
    const {
      logins: [{ tokens }],
    } = await signedIn(app);
    const response = await endSession(new Browser(t.url), {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: `${app.rp.url}/logged-out`,
      state: 'again',
    });
    expect(response.headers.location).toBe(`${app.rp.url}/logged-out?state=again`);
  });
});

describe('front-channel without a browser that reports', () => {
  it('fails the front-channel delivery of an abandoned logout page, so the operation completes as partial', async () => {
    const [front, back] = [await rp({}, { backchannel: false, frontchannel: true }), await rp()];
    const { browser } = await signedIn(front, back);
    await browser.get('/logout');
    const page = await browser.post('/logout', { csrf: browser.csrf }); // the page is served, but no script runs here
    expect(page.text).toContain(`${front.rp.url}/frontchannel?iss=`);
    await eventually(async () => back.rp.logoutTokens.length);
    t.clock.advance(2 * 60_000);
    const [delivery] = (await eventually(async () =>
      (await deliveriesOf(front.providerId))[0]?.status === 'failed' ? deliveriesOf(front.providerId) : null,
    ))!;
    expect(delivery.lastError).toContain('never reported');
    const operation = await completedOperation(delivery.operationId);
    expect(operation).toMatchObject({ outcome: 'partial', completedAt: expect.any(String) });
  });
});

describe('front-channel reports that arrive together', () => {
  it('completes the operation when its frames report at the same moment (no write skew between the reports)', async () => {
    const fronts = [];
    for (let i = 0; i < 4; i++) fronts.push(await rp({}, { backchannel: false, frontchannel: true }));
    // Each round is one logout whose four frames all report at once, as a fast page's do. Settling
    // inside each report's transaction left the operation open under PostgreSQL (each saw the
    // others' deliveries still pending); the page then said "Signing you out" for ever.
    for (let round = 0; round < 5; round++) {
      const { browser } = await signedIn(...fronts);
      await browser.get('/logout');
      const page = await browser.post('/logout', { csrf: browser.csrf });
      const frames = [...page.text.matchAll(/data-delivery="([^"]+)"\s+data-token="([^"]+)"/g)];
      expect(frames).toHaveLength(4);
      const reports = await Promise.all(
        frames.map(([, delivery, reportToken]) =>
          browser.agent
            .post(`/logout/frontchannel/${delivery}`)
            .type('form')
            .send({ outcome: 'loaded', token: reportToken }),
        ),
      );
      expect(reports.map((report) => report.body)).toEqual(frames.map(() => ({ settled: true })));
      // No waiting: once every frame's report has been answered, the operation is settled.
      const [delivery] = await deliveriesOf(fronts[0].providerId).then((rows) => rows.slice(-1));
      const operation = (await api().get(`/api/v1/logout-operations/${delivery.operationId}`).set(auth())).body;
      expect(operation).toMatchObject({ outcome: 'complete', completedAt: expect.any(String) });
    }
  });
});

describe('invalidation flows', () => {
  it('runs an "app only" flow bound through the admin API: only that application\'s session ends', async () => {
    const [appOnly, other] = [await rp(), await rp()];
    const flow = await api()
      .post('/api/v1/flows')
      .set(auth())
      .send({ slug: `app-only-${++counter}`, name: 'App only' });
    expect(flow.status).toBe(201);
    const stages = (await api().get('/api/v1/stages').set(auth())).body.items;
    const providerLogout = stages.find((stage: { kind: string }) => stage.kind === 'provider_logout');
    expect(
      (
        await api()
          .post(`/api/v1/flows/${flow.body.id}/bindings`)
          .set(auth())
          .send({ stageId: providerLogout.id, order: 10 })
      ).status,
    ).toBe(201);
    expect(
      (
        await api()
          .patch(`/api/v1/providers/${appOnly.providerId}`)
          .set(auth())
          .send({ invalidationFlowId: flow.body.id })
      ).body.invalidationFlowId,
    ).toBe(flow.body.id);

    const {
      browser,
      username,
      logins: [{ tokens }],
    } = await signedIn(appOnly, other);
    const response = await browser.get(
      `/oauth2/end_session?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${appOnly.rp.url}/logged-out` })}`,
    );
    expect(response.headers.location).toBe(`${appOnly.rp.url}/logged-out`);
    expect(await eventually(async () => appOnly.rp.logoutTokens.length)).toBe(1);
    expect(await browser.signedInAs()).toBe(username);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(other.rp.logoutTokens).toHaveLength(0);
  });

  it("asks at a confirm stage of a provider's flow, and a redirect stage picks where the browser goes", async () => {
    const app = await rp();
    const flow = (
      await api()
        .post('/api/v1/flows')
        .set(auth())
        .send({ slug: `confirm-${++counter}`, name: 'Confirm, then everything' })
    ).body;
    const confirm = (
      await api()
        .post('/api/v1/stages')
        .set(auth())
        .send({ name: `ask-${++counter}`, kind: 'confirm', config: { text: 'Really leave?' } })
    ).body;
    const goodbye = (
      await api()
        .post('/api/v1/stages')
        .set(auth())
        .send({ name: `bye-${++counter}`, kind: 'redirect', config: { url: 'https://example.com/bye' } })
    ).body;
    const full = (await api().get('/api/v1/stages').set(auth())).body.items.find(
      (stage: { name: string }) => stage.name === 'default-user-logout',
    );
    for (const [order, stage] of [
      [10, confirm],
      [20, full],
      [30, goodbye],
    ] as const) {
      expect(
        (await api().post(`/api/v1/flows/${flow.id}/bindings`).set(auth()).send({ stageId: stage.id, order })).status,
      ).toBe(201);
    }
    await api().patch(`/api/v1/providers/${app.providerId}`).set(auth()).send({ invalidationFlowId: flow.id });
    const {
      browser,
      logins: [{ tokens }],
    } = await signedIn(app);
    const asked = await browser.get(`/oauth2/end_session?${new URLSearchParams({ id_token_hint: tokens.id_token! })}`);
    expect(asked.text).toContain('Really leave?');
    expect(await browser.signedInAs()).not.toBeNull();
    const handle = /name="flow" value="([^"]+)"/.exec(asked.text)![1];
    const done = await browser.post('/logout/flow', { flow: handle, answer: 'yes', csrf: browser.csrf });
    expect(done.headers.location).toBe('https://example.com/bye');
    expect(await eventually(async () => app.rp.logoutTokens.length)).toBe(1);
  });

  it('refuses bad flow definitions', async () => {
    expect(
      (
        await api()
          .post('/api/v1/stages')
          .set(auth())
          .send({ name: 'x-redirect', kind: 'redirect', config: { url: 'javascript:alert(1)' } })
      ).status,
    ).toBe(400);
    expect((await api().post('/api/v1/stages').set(auth()).send({ name: 'x-kind', kind: 'teleport' })).status).toBe(
      400,
    );
    const flows = (await api().get('/api/v1/flows').set(auth())).body.items;
    const builtIn = flows.find((flow: { slug: string }) => flow.slug === 'default-invalidation-flow');
    expect(builtIn.stages.map((binding: { stage: { kind: string } }) => binding.stage.kind)).toEqual(['user_logout']);
    expect((await api().delete(`/api/v1/flows/${builtIn.id}`).set(auth())).status).toBe(400);
    // A flow ends sessions once: a second logout stage is refused, and the flow is left as it was.
    const providerLogout = (await api().get('/api/v1/stages').set(auth())).body.items.find(
      (stage: { kind: string }) => stage.kind === 'provider_logout',
    );
    const twice = await api()
      .post(`/api/v1/flows/${builtIn.id}/bindings`)
      .set(auth())
      .send({ stageId: providerLogout.id, order: 50 });
    expect(twice.status).toBe(409);
    expect(twice.body.message).toContain('already has a logout stage');
    const after = (await api().get('/api/v1/flows').set(auth())).body.items.find(
      (flow: { slug: string }) => flow.slug === 'default-invalidation-flow',
    );
    expect(after.stages.map((binding: { stage: { kind: string } }) => binding.stage.kind)).toEqual(['user_logout']);
  });
});

describe('faults', () => {
  it('retries an RP that answers 500, then succeeds', async () => {
    const app = await rp();
    app.rp.backchannelReplies = [500, 200];
    const { browser } = await signedIn(app);
    await browser.get('/logout');
    await browser.submit('/logout', { csrf: browser.csrf });
    const [delivery] = (await eventually(async () =>
      (await deliveriesOf(app.providerId))[0]?.status === 'succeeded' ? deliveriesOf(app.providerId) : null,
    ))!;
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 2, lastHttpStatus: 200 });
    expect(app.rp.logoutTokens.map((received) => received.claims.jti)).toHaveLength(2); // a fresh token per attempt
    expect(delivery.attemptLog.map((attempt) => `${attempt.httpStatus} ${attempt.result}`)).toEqual([
      '500 queued',
      '200 succeeded',
    ]);
    expect(delivery.attemptLog.map((attempt) => attempt.messageId)).toEqual(
      app.rp.logoutTokens.map((received) => received.claims.jti),
    );
  });

  it('waits as long as an RP answering 429 asks (Retry-After), longer than the backoff would', async () => {
    const app = await rp();
    app.rp.backchannelReplies = [{ status: 429, retryAfter: '3' }, 200];
    const { browser } = await signedIn(app);
    await browser.get('/logout');
    await browser.submit('/logout', { csrf: browser.csrf });
    const [delivery] = (await eventually(
      async () =>
        (await deliveriesOf(app.providerId))[0]?.status === 'succeeded' ? deliveriesOf(app.providerId) : null,
      15_000,
    ))!;
    expect(delivery.attemptLog.map((attempt) => `${attempt.httpStatus} ${attempt.result}`)).toEqual([
      '429 queued',
      '200 succeeded',
    ]);
    // The backoff alone would have tried again within a second; the RP asked for three.
    const [first, second] = delivery.attemptLog.map((attempt) => Date.parse(attempt.at));
    expect(second - first).toBeGreaterThanOrEqual(3000);
    expect(second - first).toBeLessThan(6000);
  });

  it('cuts an RP that hangs at DELIVERY_TIMEOUT and retries it; other RPs are not held up', async () => {
    const [slow, fast] = [await rp(), await rp()];
    slow.rp.backchannelReplies = ['hang', 200];
    const { browser } = await signedIn(slow, fast);
    await browser.get('/logout');
    const started = Date.now();
    await browser.submit('/logout', { csrf: browser.csrf });
    await eventually(async () => fast.rp.logoutTokens.length);
    expect(Date.now() - started).toBeLessThan(900);
    const [delivery] = (await eventually(async () =>
      (await deliveriesOf(slow.providerId))[0]?.status === 'succeeded' ? deliveriesOf(slow.providerId) : null,
    ))!;
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(delivery.attemptLog[0]).toMatchObject({
      httpStatus: null,
      result: 'queued',
      error: 'no answer within 1000 ms',
    });
  });

  it('does not retry an RP that refuses the token with a 4xx', async () => {
    const app = await rp();
    app.rp.backchannelReplies = [400];
    const { browser } = await signedIn(app);
    await browser.get('/logout');
    await browser.submit('/logout', { csrf: browser.csrf });
    const [delivery] = (await eventually(async () =>
      (await deliveriesOf(app.providerId))[0]?.status === 'failed' ? deliveriesOf(app.providerId) : null,
    ))!;
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, lastHttpStatus: 400 });
  });

  it('declares a delivery dead after DELIVERY_ATTEMPTS failures, and the operation failed', async () => {
    const app = await rp();
    app.rp.backchannelReplies = [503, 503, 200];
    const { browser } = await signedIn(app);
    await browser.get('/logout');
    await browser.submit('/logout', { csrf: browser.csrf });
    const [delivery] = (await eventually(async () =>
      (await deliveriesOf(app.providerId))[0]?.status === 'dead' ? deliveriesOf(app.providerId) : null,
    ))!;
    expect(delivery).toMatchObject({ status: 'dead', attempts: 2, lastHttpStatus: 503, lastError: 'HTTP 503' });
    const operation = await completedOperation(delivery.operationId);
    expect(operation.outcome).toBe('failed');
  });

  it('keeps a logout made while Redis is down, and delivers it once Redis is back', async () => {
    const app = await rp();
    const { username } = await signedIn(app);
    const [session] = await t.app
      .get(DataSource)
      .getRepository(IdpSession)
      .find({ where: { user: { username }, endedAt: IsNull() } });
    await redis.stop();
    const ended = await api().delete(`/api/v1/sessions/${session.id}`).set(auth());
    expect(ended.status).toBe(202);
    // The queue did not take it within ADD_TIMEOUT_MS: the row is given back to the relay, not left leased.
    expect(await eventually(async () => (await deliveriesOf(app.providerId))[0].status === 'pending', 5000)).toBe(true);
    expect(app.rp.logoutTokens).toHaveLength(0);
    redis = await EmbeddedRedis.start(redisDir);
    expect(await eventually(async () => app.rp.logoutTokens.length, 20_000)).toBe(1);
    expect(await eventually(async () => (await deliveriesOf(app.providerId))[0].status === 'succeeded')).toBe(true);
  });
});
