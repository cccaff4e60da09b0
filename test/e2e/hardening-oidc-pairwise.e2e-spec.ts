import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { SamlPersistentId, SamlSession, SigningKey, SYSTEM, UsersService } from '@signoff/core';
import { parseSpMetadata, SamlSpsService } from '@signoff/saml';
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { OidcHardening1764200000000 } from '../../libs/core/src/migrations/1764200000000-oidc-hardening';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { samlSignIn } from '../support/saml';
import { spKeys } from '../support/sp-keys';
import { startApp, type TestApp } from '../support/test-app';

// Issue 8, item 12: RPs and SPs cannot link users by their identifiers. Pairwise `sub` per sector
// (OIDC Core §8.1) as a per-client choice; new persistent NameIDs are keyed HMACs; an identifier
// already issued to an application never changes.

const REGISTRATION_TOKEN = 'r'.repeat(40);
let t: TestApp;
let adminToken: string;
const clients: TestClient[] = [];
let counter = 0;

beforeAll(async () => {
  t = await startApp(
    {
      OIDC_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
      BOOTSTRAP_ADMIN_USERNAME: 'root',
      BOOTSTRAP_ADMIN_PASSWORD: 'root password long enough',
    },
    { withWorker: true },
  );
  const root = (await t.app.get(UsersService).findByUsername('root'))!;
  adminToken = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
});
afterAll(async () => {
  for (const each of clients) await each.rp.stop();
  await t.close();
});

async function newUser() {
  const username = `user${++counter}`;
  const user = await t.app.get(UsersService).create({ username, password: 'a user password' }, SYSTEM);
  return { user, credentials: { username, password: 'a user password' } };
}

/** A client whose redirect_uri is on `host` (the sector); its back channel stays on its RecordingRp. */
async function clientOn(host: '127.0.0.1' | 'localhost', metadata: Record<string, unknown> = {}): Promise<TestClient> {
  const port = 40000 + Math.floor(Math.random() * 20000); // the callback is never loaded: the code is read off the URL
  const redirectUri = `http://${host}:${port}/callback`;
  const registered = await registerClient(t, { redirect_uris: [redirectUri], ...metadata });
  clients.push(registered);
  return { ...registered, redirectUri };
}

describe('pairwise sub (OIDC Core §8.1)', () => {
  it('is advertised in discovery', async () => {
    expect((await request(t.url).get('/.well-known/openid-configuration')).body.subject_types_supported).toEqual([
      'public',
      'pairwise',
    ]);
  });

  it('gives each sector its own sub, the same to clients of one sector, and the user id to public clients', async () => {
    const [here, hereToo, there, open] = [
      await clientOn('127.0.0.1', { subject_type: 'pairwise' }),
      await clientOn('127.0.0.1', { subject_type: 'pairwise' }),
      await clientOn('localhost', { subject_type: 'pairwise' }),
      await clientOn('localhost'),
    ];
    const { user, credentials } = await newUser();
    const browser = new Browser(t.url);
    const subs = [];
    for (const [i, each] of [here, hereToo, there, open].entries())
      subs.push((await login(each, browser, i === 0 ? credentials : undefined)).tokens.claims()!.sub);
    expect(subs[0]).toBe(subs[1]);
    expect(subs[0]).not.toBe(subs[2]);
    expect(subs[0]).not.toBe(user.id);
    expect(subs[2]).not.toBe(user.id);
    expect(subs[3]).toBe(user.id);
  });

  it('uses the pairwise sub at userinfo, after a refresh, in logout tokens, and to match an id_token_hint', async () => {
    const rp = await clientOn('localhost', { subject_type: 'pairwise' });
    const { user, credentials } = await newUser();
    const browser = new Browser(t.url);
    const { tokens } = await login(rp, browser, credentials);
    const { sub, sid } = tokens.claims()!;
    expect(sub).not.toBe(user.id);
    expect((await client.fetchUserInfo(rp.config, tokens.access_token, sub)).sub).toBe(sub);
    expect((await client.refreshTokenGrant(rp.config, tokens.refresh_token!)).claims()!.sub).toBe(sub);

    // The hint carries the pairwise sub: it names this browser's session, which ends at once.
    const ended = await browser.get(
      `/oauth2/end_session?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${rp.rp.url}/logged-out` })}`,
    );
    expect(ended.text).not.toContain('Sign out?');
    const token = await eventually(async () => rp.rp.logoutTokens.find((received) => received.claims.sid === sid));
    expect(token?.claims.sub).toBe(sub);
  });

  it('refuses pairwise registration when the redirect_uris span several hosts, and says why', async () => {
    const answer = await request(t.url)
      .post('/oauth2/register')
      .set('Authorization', `Bearer ${REGISTRATION_TOKEN}`)
      .send({ subject_type: 'pairwise', redirect_uris: ['https://a.example/cb', 'https://b.example/cb'] });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      error: 'invalid_client_metadata',
      error_description: expect.stringContaining('sector_identifier_uri is not supported'),
    });
  });

  it('never changes the subs a client was given: its subject type, and a pairwise sector, are fixed', async () => {
    const rp = await clientOn('127.0.0.1');
    const metadata = { redirect_uris: [rp.redirectUri], grant_types: ['authorization_code', 'refresh_token'] };
    const toPairwise = await request(t.url)
      .patch(`/api/v1/providers/${rp.providerId}`)
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ oidc: { ...metadata, subject_type: 'pairwise' } });
    expect(toPairwise.status).toBe(400);
    expect(JSON.stringify(toPairwise.body)).toContain('subject_type: stays public');

    const pairwise = await clientOn('127.0.0.1', { subject_type: 'pairwise' });
    const moved = await request(t.url)
      .patch(`/api/v1/providers/${pairwise.providerId}`)
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ oidc: { redirect_uris: ['http://localhost:1/callback'], subject_type: 'pairwise' } });
    expect(moved.status).toBe(400);
    expect(JSON.stringify(moved.body)).toContain('must stay on 127.0.0.1');
  });
});

describe('persistent SAML NameIDs', () => {
  let idpCert: string;
  beforeAll(async () => {
    idpCert = (await t.app.get(DataSource).getRepository(SigningKey).findOneByOrFail({ use: 'saml', state: 'active' }))
      .certificatePem!;
  });

  async function sp(host: string) {
    const keys = await spKeys(host);
    const saml = new SAML({
      issuer: `https://${host}/metadata`,
      callbackUrl: `https://${host}/acs`,
      entryPoint: `${t.url}/saml/sso`,
      idpIssuer: `${t.url}/saml/metadata`,
      idpCert,
      audience: `https://${host}/metadata`,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
      validateInResponseTo: ValidateInResponseTo.never,
    });
    const registered = await t.app
      .get(SamlSpsService)
      .import(parseSpMetadata(saml.generateServiceProviderMetadata(null, keys.certificate)), {}, SYSTEM);
    return { saml, providerId: registered.providerId };
  }
  const nameIdAt = async (
    target: Awaited<ReturnType<typeof sp>>,
    browser: Browser,
    credentials?: { username: string; password: string },
  ) => {
    const { fields } = await samlSignIn(
      browser,
      await target.saml.getAuthorizeUrlAsync('', undefined, {}),
      credentials,
    );
    return (await target.saml.validatePostResponseAsync({ SAMLResponse: fields.SAMLResponse })).profile!.nameID;
  };
  const unkeyed = (providerId: string, userId: string) =>
    createHash('sha256').update(`${providerId}:${userId}`).digest('base64url');

  it('derives new ones with a keyed HMAC: not the unkeyed hash anyone could recompute, and the same at every sign-in', async () => {
    const wiki = await sp('wiki.pairwise.example');
    const { user, credentials } = await newUser();
    const first = await nameIdAt(wiki, new Browser(t.url), credentials);
    expect(first).not.toBe(unkeyed(wiki.providerId, user.id));
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await nameIdAt(wiki, new Browser(t.url), credentials)).toBe(first); // another IdP session, the same NameID
  });

  it('keeps one an earlier version issued: the migration records it, and the SP goes on receiving it', async () => {
    const crm = await sp('crm.pairwise.example');
    const { user, credentials } = await newUser();
    await nameIdAt(crm, new Browser(t.url), credentials);
    // The state an earlier version left: its unkeyed NameID in the SAML session, no record of issued ones.
    const db = t.app.get(DataSource);
    const old = unkeyed(crm.providerId, user.id);
    await db.getRepository(SamlSession).update({ userId: user.id }, { nameId: old });
    const runner = db.createQueryRunner();
    try {
      await new OidcHardening1764200000000().down(runner);
      await db
        .createQueryBuilder()
        .delete()
        .from('migrations')
        .where('name = :name', { name: 'OidcHardening1764200000000' })
        .execute();
    } finally {
      await runner.release();
    }
    await db.runMigrations();
    expect(
      (await db.getRepository(SamlPersistentId).findOneByOrFail({ providerId: crm.providerId, userId: user.id }))
        .nameId,
    ).toBe(old);
    expect(await nameIdAt(crm, new Browser(t.url), credentials)).toBe(old);
  });
});
