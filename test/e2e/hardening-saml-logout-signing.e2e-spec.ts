import { LogoutDelivery, LogoutOperation, SamlServiceProvider, SamlSession, SYSTEM, UsersService } from '@signoff/core';
import { FRONTCHANNEL_ONLY_WARNING, logoutSignatureRequired, SamlSpsService } from '@signoff/saml';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request, { type Response } from 'supertest';
import { DataSource } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { runCli } from '../../apps/idp/src/cli';
import { MIGRATIONS } from '../../libs/core/src/migrations';
import { Browser } from '../support/browser';
import { type AttackSp, type Issued, registerAttackSp, signInAt } from '../support/saml-attack';
import {
  logoutRequestXml,
  logoutResponseXml,
  postField,
  redirectQuery,
  soapEnvelope,
  STATUS,
} from '../support/saml-test-sp';
import { startApp, type TestApp } from '../support/test-app';

// Issue 8, item 2: an SP's LogoutRequest must be signed whenever the SP has a signing certificate,
// whatever its metadata says about AuthnRequestsSigned (SAML profiles §4.4.4.1), on every binding;
// an SP without a certificate cannot start a logout unless an administrator turns on
// allowUnsignedLogoutRequests, which the API then shows as a warning. Every request here is built
// by hand, unsigned, as an attacker who knows a NameID would.

let t: TestApp;
let db: DataSource;
let pinned: AttackSp; // AuthnRequestsSigned="false", signing certificate pinned
let bare: AttackSp; // AuthnRequestsSigned="false", no certificate at all
const browsers: Record<string, Browser> = {};
const issued: Record<string, Issued> = {};

const unsignedMetadata = (xml: string) => xml.replace(/AuthnRequestsSigned="true"/, 'AuthnRequestsSigned="false"');

beforeAll(async () => {
  t = await startApp({ BOOTSTRAP_ADMIN_USERNAME: 'root', BOOTSTRAP_ADMIN_PASSWORD: 'root password' });
  db = t.app.get(DataSource);
  for (const username of ['alice', 'bob'])
    await t.app
      .get(UsersService)
      .create({ username, password: `${username} password`, email: `${username}@example.com` }, SYSTEM);
  pinned = await registerAttackSp(t, 'pinned', { metadata: unsignedMetadata });
  bare = await registerAttackSp(t, 'bare', {
    metadata: (xml) => unsignedMetadata(xml).replace(/<KeyDescriptor[\s\S]*<\/KeyDescriptor>/, ''),
  });
  for (const username of ['alice', 'bob']) {
    browsers[username] = new Browser(t.url);
    issued[`${username}@pinned`] = await signInAt(t, pinned, browsers[username], username);
    issued[`${username}@bare`] = await signInAt(t, bare, browsers[username], username);
  }
});
afterAll(() => t?.close());

/** An unsigned LogoutRequest from `sp` for `who`; with no SessionIndex it names every session of that NameID. */
function unsignedRequest(sp: AttackSp, who: Issued, destination: string): string {
  return logoutRequestXml({
    issueInstant: t.clock.now().toISOString(),
    destination,
    issuer: sp.entityId,
    nameId: who.profile.nameID,
    format: who.profile.nameIDFormat,
  });
}

const send = {
  redirect: (sp: AttackSp, who: Issued, browser?: Browser) => {
    const query = redirectQuery(unsignedRequest(sp, who, `${t.url}/saml/slo`), null);
    return browser
      ? browser.get(`/saml/slo?${query}`)
      : request(t.url).get(`/saml/slo?${query}`).set('Accept', 'text/html');
  },
  post: (sp: AttackSp, who: Issued) =>
    request(t.url)
      .post('/saml/slo')
      .type('form')
      .set('Accept', 'text/html')
      .send({ SAMLRequest: postField(unsignedRequest(sp, who, `${t.url}/saml/slo`)), relayed: '1' }),
  soap: (sp: AttackSp, who: Issued) =>
    request(t.url)
      .post('/saml/slo/soap')
      .set('Content-Type', 'text/xml')
      .send(soapEnvelope(unsignedRequest(sp, who, `${t.url}/saml/slo/soap`))),
};
type Binding = keyof typeof send;
const BINDINGS: Binding[] = ['redirect', 'post', 'soap'];

function expectRefused(binding: Binding, response: Response, reason: string): void {
  if (binding === 'soap') {
    expect(response.status).toBe(500);
    expect(/<faultstring>([^<]*)<\/faultstring>/.exec(response.text)?.[1]).toContain(reason);
    expect(response.text).not.toContain('LogoutResponse');
    return;
  }
  expect([response.status, response.headers.location]).toEqual([400, undefined]);
  expect(/<p class="error">([^<]*)/.exec(response.text)?.[1]).toContain(reason);
  expect(response.text).not.toContain('name="SAMLResponse"');
}

async function expectStillSignedIn(...usernames: string[]): Promise<void> {
  for (const username of usernames) {
    expect(await browsers[username].signedInAs()).toBe(username);
    for (const sp of ['pinned', 'bare'])
      expect(
        await db.getRepository(SamlSession).findOneByOrFail({ id: issued[`${username}@${sp}`].sessionId }),
      ).toMatchObject({ endedAt: null });
  }
}

describe('LogoutRequests must be signed (issue 8, item 2)', () => {
  it.each(BINDINGS)(
    '%s: an unsigned request from an SP whose certificate is pinned is refused, even with AuthnRequestsSigned="false"',
    async (binding) => {
      expect((await t.app.get(SamlSpsService).byEntityId(pinned.entityId))!.requireSignedRequests).toBe(false);
      expectRefused(binding, await send[binding](pinned, issued['alice@pinned']), 'not signed');
      await expectStillSignedIn('alice', 'bob');
      expect(await db.getRepository(LogoutOperation).count()).toBe(0);
    },
  );

  it.each(BINDINGS)('%s: an SP without a certificate cannot start a logout by default', async (binding) => {
    expectRefused(binding, await send[binding](bare, issued['alice@bare']), 'no signing certificate');
    await expectStillSignedIn('alice', 'bob');
    expect(await db.getRepository(LogoutOperation).count()).toBe(0);
  });

  it("the exception is the administrator's explicit choice, shown as a warning, and then an unsigned request is honoured", async () => {
    const [provider] = await db.getRepository(SamlServiceProvider).findBy({ entityId: bare.entityId });
    const admin = (await t.app.get(UsersService).findByUsername('root'))!;
    const token = (await t.app.get(ApiTokensService).create(admin, 'test', null, SYSTEM)).token;
    const api = (method: 'get' | 'patch', body?: object) => {
      const agent = request(t.url);
      return agent[method](`/api/v1/providers/${provider.providerId}`)
        .set('Authorization', `Bearer ${token}`)
        .send(body);
    };

    expect((await api('get')).body.saml).toMatchObject({ allowUnsignedLogoutRequests: false, warnings: [] });
    const changed = await api('patch', { saml: { allowUnsignedLogoutRequests: true } });
    expect(changed.status).toBe(200);
    expect(changed.body.saml.allowUnsignedLogoutRequests).toBe(true);
    expect(changed.body.saml.warnings).toEqual([expect.stringContaining('unsigned LogoutRequest')]);
    // On an SP with a certificate the flag changes nothing, and the warning says so.
    const [pinnedRow] = await db.getRepository(SamlServiceProvider).findBy({ entityId: pinned.entityId });
    const onPinned = await request(t.url)
      .patch(`/api/v1/providers/${pinnedRow.providerId}`)
      .set('Authorization', `Bearer ${token}`)
      .send({ saml: { allowUnsignedLogoutRequests: true } });
    expect(onPinned.body.saml.warnings).toEqual([expect.stringContaining('has no effect')]);
    expectRefused('soap', await send.soap(pinned, issued['alice@pinned']), 'not signed');
    await expectStillSignedIn('alice', 'bob');

    // bob's browser follows the SP's (unsigned) Redirect request: bob is signed out (the logout page
    // then tells the pinned SP in an iframe), alice is not.
    let response = await send.redirect(bare, issued['bob@bare'], browsers.bob);
    for (let hops = 0; hops < 10 && response.status === 303 && response.headers.location.startsWith('/'); hops++)
      response = await browsers.bob.get(response.headers.location);
    expect(response.status).toBe(200);
    expect(response.text).toContain('<iframe');
    expect(
      await db.getRepository(LogoutOperation).findOneByOrFail({ initiatingProviderId: provider.providerId }),
    ).toMatchObject({ trigger: 'sp_initiated' });
    expect(await browsers.bob.signedInAs()).toBeNull();
    expect(
      (await db.getRepository(SamlSession).findOneByOrFail({ id: issued['bob@bare'].sessionId })).endedAt,
    ).toBeInstanceOf(Date);
    await expectStillSignedIn('alice');
  });
});

describe('the CLI', () => {
  it('import-saml-sp --allow-unsigned-logout-requests registers the exception and prints its warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signoff-saml-cli-'));
    try {
      const file = join(dir, 'sp.xml');
      writeFileSync(
        file,
        `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://legacy.example/sp"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
          '<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://legacy.example/slo"/>' +
          '<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://legacy.example/acs" index="0"/></SPSSODescriptor></EntityDescriptor>',
      );
      const output: string[] = [];
      expect(
        await runCli(['import-saml-sp', file, '--allow-unsigned-logout-requests'], t.config, (line) =>
          output.push(line),
        ),
      ).toBe(0);
      expect(output).toEqual([
        expect.stringContaining('registered SAML SP https://legacy.example/sp'),
        expect.stringMatching(/^warning: allowUnsignedLogoutRequests is on/),
        // Issue 10: no logout method given, no SOAP offered: the front channel, with its warning.
        `warning: ${FRONTCHANNEL_ONLY_WARNING}`,
      ]);
      expect(
        (await t.app.get(SamlSpsService).byEntityId('https://legacy.example/sp'))!.allowUnsignedLogoutRequests,
      ).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the migration gives existing SPs the new rule', () => {
  it('adds allow_unsigned_logout_requests = false to every SP, so one without a certificate can no longer start a logout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signoff-saml-signing-'));
    const options = { type: 'better-sqlite3' as const, database: join(dir, 'db.sqlite') };
    try {
      const before = await new DataSource({
        ...options,
        migrations: MIGRATIONS.filter((migration) => Number(/\d{13}/.exec(migration.name)![0]) < 1764100000000),
      }).initialize();
      await before.runMigrations();
      for (const [id, certificates] of [
        ['p-cert', ['-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n']],
        ['p-bare', []],
      ] as const) {
        await before.query(
          'INSERT INTO "providers" ("id", "slug", "name", "protocol", "enabled", "created_at", "updated_at") VALUES (?, ?, ?, \'saml\', 1, 0, 0)',
          [id, id, id],
        );
        await before.query(
          'INSERT INTO "saml_service_providers" ("provider_id", "entity_id", "acs_endpoints", "certificates", "sls_endpoints") VALUES (?, ?, \'[]\', ?, \'[]\')',
          [id, `https://${id}.example`, JSON.stringify(certificates)],
        );
      }
      await before.destroy();
      const after = await new DataSource({ ...options, migrations: MIGRATIONS }).initialize();
      await after.runMigrations();
      const rows: Array<{ provider_id: string; certificates: string; allow_unsigned_logout_requests: number }> =
        await after.query(
          'SELECT "provider_id", "certificates", "allow_unsigned_logout_requests" FROM "saml_service_providers" ORDER BY "provider_id"',
        );
      await after.destroy();
      expect(rows.map((row) => [row.provider_id, row.allow_unsigned_logout_requests])).toEqual([
        ['p-bare', 0],
        ['p-cert', 0],
      ]);
      const rule = (row: (typeof rows)[number]) => () =>
        logoutSignatureRequired({
          certificates: JSON.parse(row.certificates),
          allowUnsignedLogoutRequests: Boolean(row.allow_unsigned_logout_requests),
        });
      expect(rule(rows[0])).toThrow('no signing certificate');
      expect(rule(rows[1])()).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LogoutResponses settle deliveries only when signed (profiles §4.4.4.2)', () => {
  it("an unsigned LogoutResponse from an SP whose certificate is pinned is refused and confirms nothing; the SP's signed one confirms", async () => {
    await t.app
      .get(UsersService)
      .create({ username: 'carol', password: 'carol password', email: 'carol@example.com' }, SYSTEM);
    const carol = new Browser(t.url);
    const atPinned = await signInAt(t, pinned, carol, 'carol');
    await carol.get('/logout');
    const logoutPage = await carol.post('/logout', { csrf: carol.csrf });
    expect(logoutPage.status).toBe(200);
    const delivery = await db.getRepository(LogoutDelivery).findOneByOrFail({ providerSessionId: atPinned.sessionId });
    expect(delivery).toMatchObject({
      channel: 'frontchannel_saml_iframe',
      status: expect.not.stringMatching(/succeeded/),
    });
    const requestId = delivery.messageId!;

    // What anyone who saw the iframe's LogoutRequest ID could forge: an unsigned Success for it.
    const forged = logoutResponseXml({
      issueInstant: t.clock.now().toISOString(),
      destination: `${t.url}/saml/slo`,
      inResponseTo: requestId,
      issuer: pinned.entityId,
      status: STATUS.success,
    });
    const refused = await request(t.url)
      .get(`/saml/slo?${redirectQuery(forged, null, { field: 'SAMLResponse' })}`)
      .set('Accept', 'text/html');
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('not signed');
    expect((await db.getRepository(LogoutDelivery).findOneByOrFail({ id: delivery.id })).status).not.toBe('succeeded');

    // The SP's own answer, signed by node-saml over the Redirect binding, is accepted.
    const signedUrl = new URL(
      await pinned.saml.getLogoutResponseUrlAsync(
        { ID: requestId, issuer: `${t.url}/saml/metadata` } as never,
        '',
        {},
        true,
      ),
    );
    const accepted = await request(t.url).get(`/saml/slo${signedUrl.search}`).set('Accept', 'text/html');
    expect(accepted.status).toBe(200);
    expect((await db.getRepository(LogoutDelivery).findOneByOrFail({ id: delivery.id })).status).toBe('succeeded');
  });
});
