import {
  AuditEvent,
  IdpSession,
  OidcClient,
  Provider,
  ProviderSession,
  SamlServiceProvider,
  SYSTEM,
  UsersService,
} from '@signoff/core';
import { ExpirySweeper } from '@signoff/worker';
import * as client from 'openid-client';
import request from 'supertest';
import { DataSource, IsNull } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { authnRequestXml, postField } from '../support/saml-test-sp';
import { startApp, type TestApp } from '../support/test-app';

// Editing what the admin console edits: flows, stages and bindings; applications (deletion with live
// sessions, secret rotation); signing keys. Real HTTP, database, Redis, worker and openid-client RPs.

let t: TestApp;
let token: string;
const rps: TestClient[] = [];
let counter = 0;

beforeAll(async () => {
  t = await startApp(
    {
      BOOTSTRAP_ADMIN_USERNAME: 'root',
      BOOTSTRAP_ADMIN_PASSWORD: 'root password',
      DELIVERY_TIMEOUT: '2s',
      SESSION_SWEEP_INTERVAL: '1s',
    },
    { withWorker: true },
  );
  const root = (await t.app.get(UsersService).findByUsername('root'))!;
  token = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
});
afterAll(async () => {
  for (const rp of rps) await rp.rp.stop();
  await t.close();
});

const api = () => request(t.url);
const auth = () => ({ Authorization: `Bearer ${token}` });
const db = () => t.app.get(DataSource);
const auditOf = (action: string, targetId: string) => db().getRepository(AuditEvent).findBy({ action, targetId });

interface FlowBody {
  id: string;
  slug: string;
  name: string;
  stages: Array<{ bindingId: string; order: number; stage: { id: string; kind: string; name: string } }>;
  endsNoSession: boolean;
  warnings: string[];
}

async function newFlow(): Promise<FlowBody> {
  const n = ++counter;
  const response = await api()
    .post('/api/v1/flows')
    .set(auth())
    .send({ slug: `flow-${n}`, name: `Flow ${n}` });
  expect(response.status).toBe(201);
  return response.body;
}

async function newStage(kind: string, config?: Record<string, unknown>) {
  const response = await api()
    .post('/api/v1/stages')
    .set(auth())
    .send({ name: `${kind.replace('_', '-')}-${++counter}`, kind, ...(config ? { config } : {}) });
  expect(response.status).toBe(201);
  return response.body as { id: string; name: string; kind: string; config: Record<string, unknown> };
}

async function bind(flowId: string, stageId: string, order: number): Promise<FlowBody> {
  const response = await api().post(`/api/v1/flows/${flowId}/bindings`).set(auth()).send({ stageId, order });
  expect(response.status).toBe(201);
  return response.body;
}

async function builtInStage(kind: 'user_logout' | 'provider_logout') {
  const stages = (await api().get('/api/v1/stages').set(auth())).body.items as Array<{ id: string; kind: string }>;
  return stages.find((stage) => stage.kind === kind)!;
}

async function rp(metadata: Record<string, unknown> = {}) {
  const created = await registerClient(t, metadata);
  rps.push(created);
  return created;
}

/** A refresh_token grant at the token endpoint, the client authenticating with HTTP Basic (RFC 6749 §2.3.1). */
const refreshAt = (clientId: string, secret: string, refreshToken: string) =>
  api()
    .post('/oauth2/token')
    .auth(clientId, secret)
    .type('form')
    .send({ grant_type: 'refresh_token', refresh_token: refreshToken });

async function newUser() {
  const username = `user${++counter}`;
  const user = await t.app.get(UsersService).create({ username, password: 'user password' }, SYSTEM);
  const browser = new Browser(t.url);
  await browser.login(username, 'user password');
  return { user, username, browser };
}

describe('flows', () => {
  it('renames a flow: name and slug, a taken slug is a conflict, a default flow keeps its slug', async () => {
    const flow = await newFlow();
    const other = await newFlow();
    const renamed = await api()
      .patch(`/api/v1/flows/${flow.id}`)
      .set(auth())
      .send({ name: 'Renamed', slug: 'renamed' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: flow.id, name: 'Renamed', slug: 'renamed' });
    expect((await api().get(`/api/v1/flows/${flow.id}`).set(auth())).body).toMatchObject({ slug: 'renamed' });

    const taken = await api().patch(`/api/v1/flows/${flow.id}`).set(auth()).send({ slug: other.slug });
    expect(taken.status).toBe(409);
    expect((await api().patch(`/api/v1/flows/${flow.id}`).set(auth()).send({ slug: 'Not A Slug' })).status).toBe(400);
    expect((await api().patch(`/api/v1/flows/${flow.id}`).set(auth()).send({})).status).toBe(400);
    expect((await api().get(`/api/v1/flows/${flow.id}`).set(auth())).body).toMatchObject({ slug: 'renamed' });

    const flows = (await api().get('/api/v1/flows').set(auth())).body.items as Array<FlowBody & { isDefault: boolean }>;
    const builtIn = flows.find((candidate) => candidate.slug === 'default-invalidation-flow')!;
    expect(builtIn.isDefault).toBe(true);
    const defaultSlug = await api().patch(`/api/v1/flows/${builtIn.id}`).set(auth()).send({ slug: 'my-default' });
    expect(defaultSlug.status).toBe(400);
    expect(defaultSlug.body.message).toMatch(/default flow/);
    expect(await auditOf('flow.renamed', flow.id)).toHaveLength(1);
  });

  it("edits a stage's config, checked as at creation for its kind; the kind cannot change", async () => {
    const redirect = await newStage('redirect', { url: 'https://example.com/bye' });
    const changed = await api()
      .patch(`/api/v1/stages/${redirect.id}`)
      .set(auth())
      .send({ config: { url: 'https://example.com/later' } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      id: redirect.id,
      kind: 'redirect',
      config: { url: 'https://example.com/later' },
    });
    expect((await api().get(`/api/v1/stages/${redirect.id}`).set(auth())).body.config).toEqual({
      url: 'https://example.com/later',
    });

    const script = await api()
      .patch(`/api/v1/stages/${redirect.id}`)
      .set(auth())
      .send({ config: { url: 'javascript:alert(1)' } });
    expect(script.status).toBe(400);
    expect(script.body.message).toMatch(/config\.url/);
    const noUrl = await api().patch(`/api/v1/stages/${redirect.id}`).set(auth()).send({ config: {} });
    expect(noUrl.status).toBe(400);
    const kind = await api().patch(`/api/v1/stages/${redirect.id}`).set(auth()).send({ kind: 'message' });
    expect(kind.status).toBe(400);
    expect(kind.body.details).toEqual([expect.stringMatching(/additional.*\(kind\)/)]);
    const confirm = await newStage('confirm', { text: 'Sure?' });
    expect(
      (
        await api()
          .patch(`/api/v1/stages/${confirm.id}`)
          .set(auth())
          .send({ config: { text: 42 } })
      ).status,
    ).toBe(400);
    // Nothing changed by the refusals.
    expect((await api().get(`/api/v1/stages/${redirect.id}`).set(auth())).body).toMatchObject({
      kind: 'redirect',
      config: { url: 'https://example.com/later' },
    });
    expect((await api().get(`/api/v1/stages/${confirm.id}`).set(auth())).body.config).toEqual({ text: 'Sure?' });
    expect((await api().patch(`/api/v1/stages/${confirm.id}`).set(auth()).send({ name: redirect.name })).status).toBe(
      409,
    );
    expect(await auditOf('stage.updated', redirect.id)).toHaveLength(1);
  });

  it('refuses to delete a stage a flow binds, naming the flow; once unbound it can go', async () => {
    const flow = await newFlow();
    const message = await newStage('message', { text: 'Bye' });
    const bound = await bind(flow.id, message.id, 10);
    const refused = await api().delete(`/api/v1/stages/${message.id}`).set(auth());
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      error: 'conflict',
      code: 'stage_in_use',
      details: { flows: [{ id: flow.id, slug: flow.slug, name: flow.name }] },
    });
    expect(refused.body.message).toContain(flow.slug);
    expect((await api().get(`/api/v1/flows/${flow.id}`).set(auth())).body.stages).toHaveLength(1);

    await api().delete(`/api/v1/flows/${flow.id}/bindings/${bound.stages[0].bindingId}`).set(auth());
    expect((await api().delete(`/api/v1/stages/${message.id}`).set(auth())).status).toBe(204);
    expect((await api().get(`/api/v1/stages/${message.id}`).set(auth())).status).toBe(404);
  });

  it('reorders bindings: all of the flow, each once; a missing, foreign or repeated id is refused and changes nothing', async () => {
    const flow = await newFlow();
    const [confirm, logout, redirect] = [
      await newStage('confirm'),
      await builtInStage('user_logout'),
      await newStage('redirect', { url: 'https://example.com/bye' }),
    ];
    await bind(flow.id, confirm.id, 10);
    await bind(flow.id, logout.id, 20);
    const before = await bind(flow.id, redirect.id, 30);
    const [a, b, c] = before.stages.map((binding) => binding.bindingId);

    const reordered = await api()
      .put(`/api/v1/flows/${flow.id}/bindings`)
      .set(auth())
      .send({ order: [c, a, b] });
    expect(reordered.status).toBe(200);
    expect(reordered.body.stages.map((binding: { bindingId: string }) => binding.bindingId)).toEqual([c, a, b]);
    expect(reordered.body.stages.map((binding: { order: number }) => binding.order)).toEqual([10, 20, 30]);

    const foreignFlow = await bind((await newFlow()).id, confirm.id, 10);
    const foreign = foreignFlow.stages[0].bindingId;
    for (const [order, problem] of [
      [[c, a], `${b}: missing`],
      [[c, a, b, foreign], `${foreign}: not a binding of this flow`],
      [[c, a, a, b], `${a}: named twice`],
    ] as const) {
      const refused = await api().put(`/api/v1/flows/${flow.id}/bindings`).set(auth()).send({ order });
      expect(refused.status).toBe(400);
      expect(refused.body.details).toEqual(expect.arrayContaining([expect.stringContaining(problem)]));
    }
    expect((await api().put(`/api/v1/flows/${flow.id}/bindings`).set(auth()).send({})).status).toBe(400);
    const after = (await api().get(`/api/v1/flows/${flow.id}`).set(auth())).body as FlowBody;
    expect(after.stages.map((binding) => binding.bindingId)).toEqual([c, a, b]);
    expect(await auditOf('flow.reordered', flow.id)).toHaveLength(1);
  });

  it('warns about a flow with no logout stage, and binding one to an application needs confirmation', async () => {
    const flow = await newFlow();
    const confirm = await newStage('confirm', { text: 'Leave?' });
    const withoutLogout = await bind(flow.id, confirm.id, 10);
    expect(withoutLogout.endsNoSession).toBe(true);
    expect(withoutLogout.warnings).toEqual([expect.stringMatching(/no user_logout or provider_logout stage/)]);

    const app = await rp();
    const refused = await api()
      .patch(`/api/v1/providers/${app.providerId}`)
      .set(auth())
      .send({ invalidationFlowId: flow.id, name: 'Renamed too' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'flow_ends_no_session', details: { flow: { id: flow.id } } });
    // Nothing of the refused change happened.
    expect((await api().get(`/api/v1/providers/${app.providerId}`).set(auth())).body).toMatchObject({
      invalidationFlowId: null,
      name: expect.not.stringMatching('Renamed too'),
    });
    const providers = (await api().get('/api/v1/providers').set(auth())).body.items.length;
    const created = await api()
      .post('/api/v1/providers')
      .set(auth())
      .send({ protocol: 'oidc', invalidationFlowId: flow.id, oidc: { redirect_uris: ['https://wiki.example/cb'] } });
    expect(created.status).toBe(409);
    expect((await api().get('/api/v1/providers').set(auth())).body.items).toHaveLength(providers);

    const confirmed = await api()
      .patch(`/api/v1/providers/${app.providerId}`)
      .set(auth())
      .send({ invalidationFlowId: flow.id, confirmEndsNoSession: true });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.invalidationFlowId).toBe(flow.id);
    const [audit] = await auditOf('provider.updated', app.providerId);
    expect(audit.details).toMatchObject({ changed: ['invalidationFlowId'], confirmEndsNoSession: true });

    // A flow that ends sessions needs no confirmation; and once it has a logout stage, the warning goes.
    const withLogout = await bind(flow.id, (await builtInStage('provider_logout')).id, 20);
    expect(withLogout).toMatchObject({ endsNoSession: false, warnings: [] });
  });

  it('deletes a flow applications run only with force; they fall back to the default flow', async () => {
    const flow = await newFlow();
    await bind(flow.id, (await builtInStage('user_logout')).id, 10);
    const [first, second] = [await rp(), await rp()];
    for (const app of [first, second])
      expect(
        (await api().patch(`/api/v1/providers/${app.providerId}`).set(auth()).send({ invalidationFlowId: flow.id }))
          .status,
      ).toBe(200);

    const refused = await api().delete(`/api/v1/flows/${flow.id}`).set(auth());
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('flow_in_use');
    expect(refused.body.details.applications.map((app: { id: string }) => app.id).sort()).toEqual(
      [first.providerId, second.providerId].sort(),
    );
    expect((await api().get(`/api/v1/flows/${flow.id}`).set(auth())).status).toBe(200);
    expect((await api().delete(`/api/v1/flows/${flow.id}?force=yes`).set(auth())).status).toBe(400);

    expect((await api().delete(`/api/v1/flows/${flow.id}?force=true`).set(auth())).status).toBe(204);
    expect((await api().get(`/api/v1/flows/${flow.id}`).set(auth())).status).toBe(404);
    for (const app of [first, second]) {
      expect((await api().get(`/api/v1/providers/${app.providerId}`).set(auth())).body.invalidationFlowId).toBeNull();
      expect((await auditOf('provider.updated', app.providerId)).at(-1)!.details).toMatchObject({
        because: 'flow.deleted',
        flowId: flow.id,
      });
    }
    const [deleted] = await auditOf('flow.deleted', flow.id);
    expect((deleted.details as { fellBack: string[] }).fellBack).toHaveLength(2);
  });
});

describe('applications', () => {
  it('deletes an application with a live session only with end_sessions: its RP is told, the user stays signed in', async () => {
    const [doomed, kept] = [await rp(), await rp()];
    const { user, username, browser } = await newUser();
    const { tokens } = await login(doomed, browser);
    await login(kept, browser);
    const sid = tokens.claims()!.sid;

    const original = (await api().get(`/api/v1/providers/${doomed.providerId}`).set(auth())).body;
    expect(original.liveSessions).toBe(1);
    const refused = await api().delete(`/api/v1/providers/${doomed.providerId}`).set(auth());
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'provider_has_sessions', details: { liveSessions: 1 } });
    expect((await api().get(`/api/v1/providers/${doomed.providerId}`).set(auth())).body).toMatchObject({
      enabled: true,
      liveSessions: 1,
    });
    expect(doomed.rp.backchannelRequests).toBe(0);

    const deleted = await api().delete(`/api/v1/providers/${doomed.providerId}?end_sessions=true`).set(auth());
    expect(deleted.status).toBe(202);
    expect(deleted.body).toEqual({ operationId: expect.any(String), endedSessions: 1 });
    // The application is gone from the API at once, and its client can no longer get a token.
    expect((await api().get(`/api/v1/providers/${doomed.providerId}`).set(auth())).status).toBe(404);
    expect(
      (await api().get('/api/v1/providers').set(auth())).body.items.map((provider: { id: string }) => provider.id),
    ).not.toContain(doomed.providerId);
    expect((await refreshAt(doomed.clientId, doomed.clientSecret!, tokens.refresh_token!)).body).toMatchObject({
      error: 'invalid_client',
    });

    // Its slug and client_id are free at once, while its delivery may still be under way: the same client registers again.
    const again = await api()
      .post('/api/v1/providers')
      .set(auth())
      .send({
        protocol: 'oidc',
        slug: original.slug,
        oidc: {
          client_id: doomed.clientId,
          redirect_uris: [doomed.redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
        },
      });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ slug: original.slug, oidc: { client_id: doomed.clientId } });
    expect(again.body.id).not.toBe(doomed.providerId);
    // The deleted client's credentials stay refused, and its grant does not pass to the new registration.
    const oldCredentials = await refreshAt(doomed.clientId, doomed.clientSecret!, tokens.refresh_token!);
    expect([oldCredentials.status, oldCredentials.body.error]).toEqual([401, 'invalid_client']);
    const newCredentials = await refreshAt(doomed.clientId, again.body.clientSecret, tokens.refresh_token!);
    expect([newCredentials.status, newCredentials.body.error]).toEqual([400, 'invalid_grant']);

    // The RP's back channel gets a valid logout token (verified by the RP as Back-Channel Logout §2.6 says) for its session.
    expect(await eventually(async () => doomed.rp.logoutTokens.length)).toBe(1);
    expect(doomed.rp.rejected).toEqual([]);
    expect(doomed.rp.logoutTokens[0].claims).toMatchObject({ sid, aud: doomed.clientId });
    const operation = await eventually(async () => {
      const response = await api().get(`/api/v1/logout-operations/${deleted.body.operationId}`).set(auth());
      return response.body.outcome ? response.body : null;
    });
    expect(operation).toMatchObject({ trigger: 'admin_session', outcome: 'complete' });

    // The user is still signed in at Signoff and in the other application; nothing was sent there.
    expect(await browser.signedInAs()).toBe(username);
    expect(await db().getRepository(IdpSession).countBy({ userId: user.id, endedAt: IsNull() })).toBe(1);
    expect((await api().get(`/api/v1/providers/${kept.providerId}`).set(auth())).body.liveSessions).toBe(1);
    expect(kept.rp.backchannelRequests).toBe(0);

    // Its delivery is final and a sweep has run: the row stays as a tombstone, and the operation still
    // shows the delivery as it went, with the application's name and when it was deleted.
    await t.app.get(ExpirySweeper).sweep();
    const detail = (await api().get(`/api/v1/logout-operations/${deleted.body.operationId}`).set(auth())).body;
    expect(detail).toMatchObject({ outcome: 'complete' });
    expect(detail.deliveries).toEqual([
      expect.objectContaining({
        channel: 'backchannel_oidc',
        status: 'succeeded',
        provider: {
          id: doomed.providerId,
          slug: `${original.slug.slice(0, 19)}~deleted~${doomed.providerId}`,
          name: original.name,
          deletedAt: expect.any(String),
        },
      }),
    ]);
    expect(await db().getRepository(Provider).findOneBy({ id: doomed.providerId })).toMatchObject({
      enabled: false,
      deletedAt: expect.any(Date),
      name: original.name,
    });
    expect(await db().getRepository(OidcClient).findOneBy({ providerId: doomed.providerId })).toMatchObject({
      clientId: `${doomed.clientId}~deleted~${doomed.providerId}`,
      originalClientId: doomed.clientId,
      clientSecretHash: null,
      backchannelLogoutUri: `${doomed.rp.url}/backchannel`,
    });
    expect(await db().getRepository(ProviderSession).countBy({ providerId: doomed.providerId })).toBe(1);
    expect(await auditOf('provider.deleted', doomed.providerId)).toEqual([
      expect.objectContaining({
        details: {
          slug: original.slug,
          name: original.name,
          protocol: 'oidc',
          clientId: doomed.clientId,
          endedSessions: 1,
          operationId: deleted.body.operationId,
        },
      }),
    ]);
    // The console's operation page says so too.
    const admin = new Browser(t.url);
    await admin.login('root', 'root password');
    const page = await admin.get(`/admin/logouts/${deleted.body.operationId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`${original.name} (deleted)`);
  });

  it('deletes an application without live sessions at once (204), and 404s an unknown one', async () => {
    const idle = await rp();
    expect((await api().delete(`/api/v1/providers/${idle.providerId}?end_sessions=maybe`).set(auth())).status).toBe(
      400,
    );
    expect((await api().delete(`/api/v1/providers/${idle.providerId}`).set(auth())).status).toBe(204);
    // A tombstone, like any deleted application: hidden everywhere, and refusing a second deletion.
    expect(await db().getRepository(Provider).findOneBy({ id: idle.providerId })).toMatchObject({
      enabled: false,
      deletedAt: expect.any(Date),
    });
    expect((await api().get(`/api/v1/providers/${idle.providerId}`).set(auth())).status).toBe(404);
    expect((await api().patch(`/api/v1/providers/${idle.providerId}`).set(auth()).send({ enabled: true })).status).toBe(
      404,
    );
    expect((await api().delete(`/api/v1/providers/${idle.providerId}`).set(auth())).status).toBe(404);
  });

  it("refuses a deleted SP's AuthnRequest, and its entityID and slug can be registered again at once", async () => {
    const n = ++counter;
    const slug = `reused-sp-${n}`;
    const saml = { entityId: `https://sp${n}.example/metadata`, acsUrls: [`https://sp${n}.example/acs`] };
    const register = () => api().post('/api/v1/providers').set(auth()).send({ protocol: 'saml', slug, saml });
    const authnRequest = () =>
      api()
        .post('/saml/sso')
        .type('form')
        .set('Accept', 'text/html')
        .send({
          SAMLRequest: postField(
            authnRequestXml({
              issueInstant: t.clock.now().toISOString(),
              issuer: saml.entityId,
              acsUrl: saml.acsUrls[0],
            }),
          ),
        });
    const first = await register();
    expect(first.status).toBe(201);
    expect((await register()).status).toBe(409);
    expect((await authnRequest()).status).toBe(303); // taken: on to the login page

    expect((await api().delete(`/api/v1/providers/${first.body.id}`).set(auth())).status).toBe(204);
    const refused = await authnRequest();
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/not a registered service provider/);
    expect((await api().get(`/saml/sso/init?sp=${encodeURIComponent(saml.entityId)}`)).status).toBe(400);
    // Nor does the tombstone's own entityID name an SP.
    const tombstoneEntityId = `${saml.entityId}~deleted~${first.body.id}`;
    expect(await db().getRepository(SamlServiceProvider).findOneBy({ providerId: first.body.id })).toMatchObject({
      entityId: tombstoneEntityId,
      acsEndpoints: [expect.objectContaining({ url: saml.acsUrls[0] })],
    });
    expect((await api().get(`/saml/sso/init?sp=${encodeURIComponent(tombstoneEntityId)}`)).status).toBe(400);

    const second = await register();
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ slug, saml: { entityId: saml.entityId } });
    expect(second.body.id).not.toBe(first.body.id);
    expect((await authnRequest()).status).toBe(303);
    const [deleted] = await auditOf('provider.deleted', first.body.id);
    expect(deleted.details).toMatchObject({ slug, protocol: 'saml', entityId: saml.entityId, endedSessions: 0 });
  });

  it('rotates a client secret: shown once, the old one is refused at the token endpoint, the new one works', async () => {
    const app = await rp();
    const { browser } = await newUser();
    const { tokens } = await login(app, browser);

    const rotated = await api().post(`/api/v1/providers/${app.providerId}/rotate-secret`).set(auth());
    expect(rotated.status).toBe(200);
    const secret = rotated.body.clientSecret as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secret).not.toBe(app.clientSecret);
    expect(rotated.body.provider).toMatchObject({ id: app.providerId, protocol: 'oidc' });
    expect(JSON.stringify((await api().get(`/api/v1/providers/${app.providerId}`).set(auth())).body)).not.toContain(
      secret,
    );

    const old = await refreshAt(app.clientId, app.clientSecret!, tokens.refresh_token!);
    expect(old.status).toBe(401);
    expect(old.body).toMatchObject({ error: 'invalid_client' });
    const renewed = await client.discovery(
      new URL(t.url),
      app.clientId,
      { id_token_signed_response_alg: 'RS256' },
      client.ClientSecretBasic(secret),
      { execute: [client.allowInsecureRequests] },
    );
    const refreshed = await client.refreshTokenGrant(renewed, tokens.refresh_token!);
    expect(refreshed.access_token).toEqual(expect.any(String));

    const [audit] = await auditOf('oidc_client.secret_rotated', app.providerId);
    expect(audit).toMatchObject({ actorType: 'admin', details: { clientId: app.clientId } });
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('refuses to rotate the secret of a public client or a SAML SP', async () => {
    const spa = await rp({ token_endpoint_auth_method: 'none' });
    const publicClient = await api().post(`/api/v1/providers/${spa.providerId}/rotate-secret`).set(auth());
    expect(publicClient.status).toBe(409);
    expect(publicClient.body.code).toBe('no_client_secret');
    const sp = await api()
      .post('/api/v1/providers')
      .set(auth())
      .send({
        protocol: 'saml',
        saml: { entityId: 'https://sp.example/editing', acsUrls: ['https://sp.example/acs'] },
      });
    expect(sp.status).toBe(201);
    const saml = await api().post(`/api/v1/providers/${sp.body.id}/rotate-secret`).set(auth());
    expect(saml.status).toBe(409);
    expect(saml.body.code).toBe('no_client_secret');
  });
});

describe('keys and endpoints', () => {
  it('lists the signing keys without their key material, and rotates them with an audit event', async () => {
    const before = await api().get('/api/v1/keys').set(auth());
    expect(before.status).toBe(200);
    expect(JSON.stringify(before.body)).not.toMatch(/PRIVATE|privateKey|enc:v1/);
    const keys = before.body.items as Array<Record<string, string | boolean | null>>;
    expect(keys.filter((key) => key.state === 'active')).toHaveLength(3);
    const next = keys.filter((key) => key.state === 'next');
    expect(next).toHaveLength(3);
    expect(keys.every((key) => key.publishedUntil === null && key.published === true)).toBe(true);
    expect(keys.filter((key) => key.certificateNotAfter).map((key) => key.use)).toEqual(['saml', 'saml']);

    const rotated = await api().post('/api/v1/keys/rotate').set(auth());
    expect(rotated.status).toBe(200);
    expect(rotated.body.rotated).toHaveLength(3);
    const after = rotated.body.items as Array<Record<string, string | boolean | null>>;
    for (const key of next) expect(after.find((candidate) => candidate.kid === key.kid)!.state).toBe('active');
    const retired = after.filter((key) => key.state === 'retired');
    expect(retired).toHaveLength(3);
    for (const key of retired)
      expect(new Date(key.publishedUntil as string).getTime() - new Date(key.retiredAt as string).getTime()).toBe(
        t.config.keys.retiredPublishedMs,
      );
    const [audit] = await db().getRepository(AuditEvent).findBy({ action: 'keys.rotated' });
    expect(audit).toMatchObject({ actorType: 'admin' });
    expect((await api().get('/api/v1/keys')).status).toBe(401);
  });

  it('gives the addresses peers configure Signoff with, and they answer', async () => {
    const response = await api().get('/api/v1/endpoints').set(auth());
    expect(response.status).toBe(200);
    expect(response.body.oidc).toEqual({
      issuer: t.url,
      discovery: `${t.url}/.well-known/openid-configuration`,
      jwks: `${t.url}/oauth2/jwks`,
    });
    expect(response.body.saml).toMatchObject({ entityId: t.config.saml.entityId, metadata: `${t.url}/saml/metadata` });
    const discovery = await api().get(new URL(response.body.oidc.discovery).pathname);
    expect(discovery.body).toMatchObject({ issuer: t.url, jwks_uri: response.body.oidc.jwks });
    expect((await api().get(new URL(response.body.saml.metadata).pathname)).status).toBe(200);
  });

  it('documents every new route with typed schemas', async () => {
    const paths = (await api().get('/api/docs/openapi.json')).body.paths ?? (await api().get('/api/docs')).body.paths;
    const operations = [
      ['/flows/{id}', 'patch', '200'],
      ['/flows/{id}/bindings', 'put', '200'],
      ['/stages/{id}', 'get', '200'],
      ['/stages/{id}', 'patch', '200'],
      ['/providers/{id}', 'get', '200'],
      ['/providers/{id}', 'delete', '202'],
      ['/providers/{id}/rotate-secret', 'post', '200'],
      ['/keys', 'get', '200'],
      ['/keys/rotate', 'post', '200'],
      ['/endpoints', 'get', '200'],
    ];
    for (const [path, method, status] of operations) {
      const schema = paths[path]?.[method]?.responses?.[status]?.content?.['application/json']?.schema;
      expect([path, method, schema]).toEqual([path, method, expect.anything()]);
      expect([path, method, schema]).not.toEqual([path, method, { type: 'object' }]);
    }
    for (const [path, method] of [
      ['/flows/{id}', 'patch'],
      ['/flows/{id}/bindings', 'put'],
      ['/stages/{id}', 'patch'],
    ])
      expect(paths[path][method].requestBody.content['application/json'].schema.$ref).toMatch(
        /^#\/components\/schemas\//,
      );
  });
});
