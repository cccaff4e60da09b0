import { newId, RefreshToken, SYSTEM, type User, UsersService } from '@signoff/core';
import { DataSource, IsNull } from 'typeorm';
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import request from 'supertest';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { login, registerClient, silentAuthorizationError, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

// Issue 14, "Global Token Revocation (receiver)": POST /oauth2/global-token-revocation, written against
// draft-parecki-oauth-global-token-revocation-06 and the contract, not against the code. A security
// tool holding an API token scoped to this endpoint alone (draft §7.1) names a user by an RFC 9493 subject
// identifier; Signoff ends every IdP session of that user through the logout engine and revokes every
// refresh and access token, offline_access included (draft §3.3, Appendix A.3). A worker runs, so the RPs'
// back channels are really told.

const ENDPOINT = '/oauth2/global-token-revocation';
const PASSWORD = 'a user password';
let t: TestApp;
let rp: TestClient;
let rp2: TestClient;
let root: User;
/** Scope `admin` only (the default): the admin API, not this endpoint. */
let adminToken: string;
/** Scope `global_token_revocation` only, owned by the active administrator root. */
let revokerToken: string;
let revokerTokenId: string;
let counter = 0;

beforeAll(async () => {
  t = await startApp(
    { BOOTSTRAP_ADMIN_USERNAME: 'root', BOOTSTRAP_ADMIN_PASSWORD: 'root password long enough' },
    { withWorker: true },
  );
  const tokens = t.app.get(ApiTokensService);
  root = (await t.app.get(UsersService).findByUsername('root'))!;
  adminToken = (await tokens.create(root, 'admin', null, SYSTEM)).token;
  const revoker = await tokens.create(root, 'security tool', null, SYSTEM, null, ['global_token_revocation']);
  revokerToken = revoker.token;
  revokerTokenId = revoker.record.id;
  rp = await registerClient(t);
  rp2 = await registerClient(t);
});
afterAll(async () => {
  await rp?.rp.stop();
  await rp2?.rp.stop();
  await t.close();
});

const api = () => request(t.url);
const auth = () => ({ Authorization: `Bearer ${adminToken}` });

/** The call as a security tool makes it (draft §3.2): a JSON body, sent as is (a string is sent verbatim). */
const revoke = (body: unknown, token: string | null = revokerToken, contentType = 'application/json') => {
  const call = api().post(ENDPOINT).set('Content-Type', contentType);
  if (token !== null) call.set('Authorization', `Bearer ${token}`);
  return call.send(typeof body === 'string' ? body : JSON.stringify(body));
};
/** RFC 9493 §3.2.3: the issuer Signoff puts in its ID tokens and the `sub` it issued. */
const issSub = (sub: string, iss = t.url) => ({ sub_id: { format: 'iss_sub', iss, sub } });
/** RFC 9493 §3.2.2. */
const byEmail = (email: string) => ({ sub_id: { format: 'email', email } });

async function newUser(): Promise<User> {
  const username = `user${++counter}`;
  return t.app
    .get(UsersService)
    .create({ username, password: PASSWORD, email: `${username}@example.test`, emailVerified: true }, SYSTEM);
}

/** Signs `user` in to `app` in `browser` (at the login page the first time, silently afterwards). */
async function signIn(app: TestClient, browser: Browser, user: User, scope = 'openid profile email') {
  const signedIn = (await browser.signedInAs()) !== null;
  const credentials = signedIn ? undefined : { username: user.username, password: PASSWORD };
  return (await login(app, browser, credentials, { scope })).tokens;
}

type Tokens = Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
const userinfo = (accessToken: string) => api().get('/oauth2/userinfo').set('Authorization', `Bearer ${accessToken}`);
const refresh = (app: TestClient, refreshToken: string) => client.refreshTokenGrant(app.config, refreshToken);
const liveSessionsOf = async (userId: string) =>
  (await api().get(`/api/v1/users/${userId}/sessions`).set(auth())).body.items as Array<{ id: string }>;
const globalRevocationsOf = async (userId: string) =>
  (await api().get(`/api/v1/logout-operations?trigger=global_revocation&user_id=${userId}`).set(auth())).body;
const tokensRevokedEventsOf = async (userId: string) =>
  (await api().get(`/api/v1/audit-events?action=user.tokens_revoked&target_id=${userId}`).set(auth())).body;

describe('discovery (draft §3.1, §6)', () => {
  it('advertises global_token_revocation_endpoint in the OpenID Provider metadata', async () => {
    const metadata = (await api().get('/.well-known/openid-configuration')).body;
    expect(metadata.issuer).toBe(t.url);
    expect(metadata.global_token_revocation_endpoint).toBe(`${t.url}${ENDPOINT}`);
  });
});

describe('API token scopes (draft §7.1: a credential scoped to this request alone)', () => {
  it('creates a global_token_revocation token through the admin API, which the endpoint accepts; the default stays admin', async () => {
    const created = await api()
      .post('/api/v1/api-tokens')
      .set(auth())
      .send({ name: 'siem', scopes: ['global_token_revocation'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'siem', scopes: ['global_token_revocation'], status: 'active' });
    expect(typeof created.body.token).toBe('string');

    const plain = await api().post('/api/v1/api-tokens').set(auth()).send({ name: 'script' });
    expect(plain.status).toBe(201);
    expect(plain.body.scopes).toEqual(['admin']);

    const listed = (await api().get('/api/v1/api-tokens').set(auth())).body.items;
    expect(listed.find((token: { id: string }) => token.id === created.body.id).scopes).toEqual([
      'global_token_revocation',
    ]);

    // The token made through the API works at the endpoint (a user who never signed in: nothing to end).
    const user = await newUser();
    expect((await revoke(issSub(user.id), created.body.token)).status).toBe(204);
  });

  it('refuses a global_token_revocation token on the admin API: it can neither read users nor mint an admin token', async () => {
    const users = await api().get('/api/v1/users').set('Authorization', `Bearer ${revokerToken}`);
    expect(users.status).toBe(403);
    const escalation = await api()
      .post('/api/v1/api-tokens')
      .set('Authorization', `Bearer ${revokerToken}`)
      .send({ name: 'escalate', scopes: ['admin'] });
    expect(escalation.status).toBe(403);
    expect(escalation.body.token).toBeUndefined();
  });
});

describe('a revocation by iss_sub (draft §3.3, §3.4.1)', () => {
  // The victim has two IdP sessions: browser A signed in to rp and rp2, browser B to rp with offline_access
  // (which an ordinary logout keeps, Back-Channel Logout 1.0 §2.7; the draft's Appendix A.3 revokes it too).
  // A bystander is signed in to the same rp. One call, then each test checks one outcome.
  let victim: User;
  let bystander: User;
  let a: Browser;
  let b: Browser;
  let c: Browser;
  let tokensA: Tokens;
  let tokensA2: Tokens;
  let tokensB: Tokens;
  let tokensC: Tokens;
  let sessionsBefore: string[];
  let answer: request.Response;

  beforeAll(async () => {
    victim = await newUser();
    bystander = await newUser();
    [a, b, c] = [new Browser(t.url), new Browser(t.url), new Browser(t.url)];
    tokensA = await signIn(rp, a, victim);
    tokensA2 = await signIn(rp2, a, victim);
    tokensB = await signIn(rp, b, victim, 'openid offline_access');
    tokensC = await signIn(rp, c, bystander);
    sessionsBefore = (await liveSessionsOf(victim.id)).map((session) => session.id).sort();
    // The controls: all of it works before the call.
    expect(sessionsBefore).toHaveLength(2);
    expect(tokensB.scope?.split(' ')).toContain('offline_access');
    expect((await userinfo(tokensA.access_token)).status).toBe(200);
    expect(await a.signedInAs()).toBe(victim.username);
    expect(await b.signedInAs()).toBe(victim.username);
    // The caller knows the user as the ID tokens named them: Signoff's issuer and the public `sub`.
    expect(tokensA.claims()!.sub).toBe(victim.id);
    answer = await revoke(issSub(tokensA.claims()!.sub));
  });

  it('answers 204 No Content with an empty body', () => {
    expect(answer.status).toBe(204);
    expect(answer.text ?? '').toBe('');
  });

  it('refuses every refresh token of the user at once, offline_access included', async () => {
    await expect(refresh(rp, tokensA.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(refresh(rp2, tokensA2.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(refresh(rp, tokensB.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses every access token of the user at userinfo', async () => {
    for (const tokens of [tokensA, tokensA2, tokensB]) {
      const info = await userinfo(tokens.access_token);
      expect(info.status).toBe(401);
      expect(info.headers['www-authenticate']).toContain('invalid_token');
    }
  });

  it('ends every IdP session: both browsers are signed out and a silent request needs a login again (§3.3)', async () => {
    expect(await a.signedInAs()).toBeNull();
    expect(await b.signedInAs()).toBeNull();
    expect(await liveSessionsOf(victim.id)).toEqual([]);
    expect(await silentAuthorizationError(rp, a)).toBe('login_required');
    expect(await silentAuthorizationError(rp2, b)).toBe('login_required');
  });

  it('tells every RP of every session through the engine: a verified logout token per provider session', async () => {
    // A sid is opaque to the RP and may differ per client for one IdP session: each RP is told with the
    // sid of its own ID token.
    const sids = (app: TestClient) => app.rp.logoutTokens.map((token) => token.claims.sid);
    const sidA = tokensA.claims()!.sid as string;
    const sidA2 = tokensA2.claims()!.sid as string;
    const sidB = tokensB.claims()!.sid as string;
    expect(sidA).not.toBe(sidB);
    await eventually(async () => sids(rp).includes(sidA) && sids(rp).includes(sidB) && sids(rp2).includes(sidA2));
    expect(sids(rp)).toEqual(expect.arrayContaining([sidA, sidB]));
    expect(sids(rp2)).toContain(sidA2);
    expect(rp.rp.rejected).toEqual([]);
    expect(rp2.rp.rejected).toEqual([]);
    const told = [...rp.rp.logoutTokens, ...rp2.rp.logoutTokens].filter((token) =>
      [sidA, sidA2, sidB].includes(token.claims.sid!),
    );
    expect(told).toHaveLength(3); // once per provider session, however many tokens each holds
    for (const token of told) expect(token.claims).toMatchObject({ iss: t.url, sub: victim.id });
  });

  it('records a logout operation with trigger global_revocation covering both sessions', async () => {
    const listing = await eventually(async () => {
      const body = await globalRevocationsOf(victim.id);
      return body.items?.length ? body : null;
    });
    expect(listing.total).toBe(1);
    const [operation] = listing.items;
    expect(operation.trigger).toBe('global_revocation');
    expect(operation.userIds).toEqual([victim.id]);
    expect([...operation.idpSessionIds].sort()).toEqual(sessionsBefore);
  });

  it('writes a user.tokens_revoked audit event about the user, by the administrator who owns the token', async () => {
    const events = await tokensRevokedEventsOf(victim.id);
    expect(events.total).toBe(1);
    expect(events.items[0]).toMatchObject({
      action: 'user.tokens_revoked',
      targetType: 'user',
      targetId: victim.id,
      actorType: 'admin',
      actorId: root.id,
      // Which token asked, and how the user was named: what an investigation needs.
      details: expect.objectContaining({ tokenId: revokerTokenId, subjectFormat: 'iss_sub' }),
    });
  });

  it('leaves another user of the same RP alone', async () => {
    const sidC = tokensC.claims()!.sid as string;
    expect(rp.rp.logoutTokens.map((token) => token.claims.sid)).not.toContain(sidC);
    expect(await c.signedInAs()).toBe(bystander.username);
    expect((await userinfo(tokensC.access_token)).status).toBe(200);
    const refreshed = await refresh(rp, tokensC.refresh_token!);
    expect(refreshed.claims()!.sid).toBe(sidC);
    expect(await liveSessionsOf(bystander.id)).toHaveLength(1);
    expect((await globalRevocationsOf(bystander.id)).total).toBe(0);
    expect((await tokensRevokedEventsOf(bystander.id)).total).toBe(0);
  });

  it('answers 204 again for the same user, who now has nothing left to end', async () => {
    expect((await revoke(issSub(victim.id))).status).toBe(204);
  });

  it('lets the user sign in again afterwards, with new tokens that work (§3.3: re-authentication)', async () => {
    const fresh = new Browser(t.url);
    const tokens = await signIn(rp, fresh, victim);
    expect((await userinfo(tokens.access_token)).status).toBe(200);
    await refresh(rp, tokens.refresh_token!);
  });
});

describe('other subjects', () => {
  it('finds the user by email (RFC 9493 §3.2.2)', async () => {
    const user = await newUser();
    const browser = new Browser(t.url);
    const tokens = await signIn(rp, browser, user, 'openid offline_access');
    const answer = await revoke(byEmail(user.email!));
    expect(answer.status).toBe(204);
    await expect(refresh(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await userinfo(tokens.access_token)).status).toBe(401);
    expect(await browser.signedInAs()).toBeNull();
    const sid = tokens.claims()!.sid as string;
    expect(await eventually(async () => rp.rp.logoutTokens.some((token) => token.claims.sid === sid))).toBe(true);
  });

  it('finds the user by an email written in other case: the address is compared without regard to case', async () => {
    const user = await newUser();
    const browser = new Browser(t.url);
    const tokens = await signIn(rp, browser, user, 'openid');
    expect((await revoke(byEmail(user.email!.toUpperCase()))).status).toBe(204);
    await expect(refresh(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it("finds the user by an opaque identifier naming them as Signoff does (their id: the draft's §3.2 example)", async () => {
    const user = await newUser();
    const browser = new Browser(t.url);
    const tokens = await signIn(rp, browser, user, 'openid');
    expect((await revoke({ sub_id: { format: 'opaque', id: user.id } })).status).toBe(204);
    await expect(refresh(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await browser.signedInAs()).toBeNull();
  });

  it('waits for a grant under way: a token it issues meanwhile is revoked too (draft §3.3: all refresh tokens)', async () => {
    const user = await newUser();
    const db = t.app.get(DataSource);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    // What the token endpoint does while it issues (TokensService: the user's row held, shared, on
    // PostgreSQL; on SQLite transactions take turns), then a refresh token issued in that grant.
    const grant = db.transaction(async (tx) => {
      if (db.options.type === 'postgres') await tx.query('SELECT id FROM users WHERE id = $1 FOR SHARE', [user.id]);
      await tx.insert(RefreshToken, {
        id: newId(),
        tokenHash: newId().replace(/-/g, '') + 'aaaa',
        providerId: rp.providerId,
        userId: user.id,
        oidcSessionId: null,
        codeHash: null,
        scope: 'openid offline_access',
        createdAt: new Date(),
        expiresAt: new Date(Date.now() + 86_400_000),
        revokedAt: null,
        offlineAccess: true,
        authTime: new Date(),
      });
      entered();
      await held;
    });
    await inside;
    let answered = false;
    const revocation = revoke(issSub(user.id)).then((answer) => {
      answered = true;
      return answer;
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(answered).toBe(false); // it waits for the grant
    release();
    await grant;
    expect((await revocation).status).toBe(204);
    expect(await db.getRepository(RefreshToken).countBy({ userId: user.id, revokedAt: IsNull() })).toBe(0);
  });

  it('answers 204 for a known user with no session and no token', async () => {
    const user = await newUser();
    expect((await revoke(issSub(user.id))).status).toBe(204);
    expect((await revoke(byEmail(user.email!))).status).toBe(204);
  });
});

describe('refused requests change nothing for the user (draft §3.4.2)', () => {
  let target: User;
  let browser: Browser;
  let sid: string;
  let current: { refresh: string; access: string };

  beforeAll(async () => {
    target = await newUser();
    browser = new Browser(t.url);
    const tokens = await signIn(rp, browser, target, 'openid profile offline_access');
    sid = tokens.claims()!.sid as string;
    current = { refresh: tokens.refresh_token!, access: tokens.access_token };
  });

  /** The target's refresh token still works (rotated: the next check uses the new one), and so does its access token. */
  async function expectUntouched() {
    const refreshed = await refresh(rp, current.refresh);
    current = { refresh: refreshed.refresh_token!, access: refreshed.access_token };
    expect((await userinfo(current.access)).status).toBe(200);
  }

  describe('401 when the caller is not authenticated (RFC 6750 §3)', () => {
    it('without an Authorization header', async () => {
      const answer = await revoke(issSub(target.id), null);
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer\b/);
      await expectUntouched();
    });

    it('with a token nobody issued', async () => {
      const answer = await revoke(issSub(target.id), `so_${'x'.repeat(43)}`);
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer\b/);
      await expectUntouched();
    });

    it('with a revoked global_token_revocation token', async () => {
      const created = await api()
        .post('/api/v1/api-tokens')
        .set(auth())
        .send({ name: 'soon revoked', scopes: ['global_token_revocation'] });
      expect(created.status).toBe(201);
      expect((await api().delete(`/api/v1/api-tokens/${created.body.id}`).set(auth())).status).toBe(200);
      const answer = await revoke(issSub(target.id), created.body.token);
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer\b/);
      await expectUntouched();
    });
  });

  describe('403 when the caller may not (draft §3.4.2, §7.1)', () => {
    it('refuses an admin-scope token: insufficient_scope', async () => {
      const answer = await revoke(issSub(target.id), adminToken);
      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('insufficient_scope');
      await expectUntouched();
      expect(await browser.signedInAs()).toBe(target.username);
    });

    it('refuses a token whose owner is no longer an administrator', async () => {
      const security = await t.app
        .get(UsersService)
        .create({ username: `security${++counter}`, password: PASSWORD, isAdmin: true }, SYSTEM);
      const token = (
        await t.app.get(ApiTokensService).create(security, 'siem', null, SYSTEM, null, ['global_token_revocation'])
      ).token;
      const control = await newUser();
      expect((await revoke(issSub(control.id), token)).status).toBe(204); // the token works while its owner is an admin
      expect((await api().patch(`/api/v1/users/${security.id}`).set(auth()).send({ isAdmin: false })).status).toBe(200);
      expect((await revoke(issSub(target.id), token)).status).toBe(403);
      await expectUntouched();
    });
  });

  describe('400 invalid_request for a malformed request (draft §3.2, RFC 9493 §3)', () => {
    it.each<[string, () => unknown]>([
      ['a body that is not JSON', () => '{"sub_id": {"format": "email",'],
      ['a JSON array', () => [issSub(target.id)]],
      ['a JSON string', () => JSON.stringify('sub_id')],
      ['JSON null', () => 'null'],
      ['an object without sub_id', () => ({ format: 'iss_sub', iss: t.url, sub: target.id })],
      ['a sub_id that is not an object', () => ({ sub_id: target.id })],
      ['a sub_id without format', () => ({ sub_id: { iss: t.url, sub: target.id } })],
      ['iss_sub without sub', () => ({ sub_id: { format: 'iss_sub', iss: t.url } })],
      ['iss_sub without iss', () => ({ sub_id: { format: 'iss_sub', sub: target.id } })],
      ['iss_sub with a sub that is not a string', () => ({ sub_id: { format: 'iss_sub', iss: t.url, sub: 42 } })],
      ['email without email', () => ({ sub_id: { format: 'email' } })],
      ['email with an email that is not a string', () => ({ sub_id: { format: 'email', email: ['x@example.test'] } })],
      // PostgreSQL refuses NUL in text: read as a malformed identifier before any query.
      ['an id with a NUL character', () => ({ sub_id: { format: 'opaque', id: `${target.id}\u0000` } })],
      [
        'an email longer than any address',
        () => ({ sub_id: { format: 'email', email: `${'a'.repeat(2000)}@x.test` } }),
      ],
    ])('%s', async (_, body) => {
      const answer = await revoke(body());
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
      await expectUntouched();
    });

    it.each([
      ['text/plain', () => JSON.stringify(issSub(target.id))],
      [
        'application/x-www-form-urlencoded',
        () => `sub_id=${encodeURIComponent(JSON.stringify(issSub(target.id).sub_id))}`,
      ],
    ])('refuses a %s body with 415 or 400', async (contentType, body) => {
      const answer = await revoke(body(), revokerToken, contentType);
      expect([400, 415]).toContain(answer.status);
      await expectUntouched();
    });
  });

  describe('404 for a subject that names no user (draft §3.4.2 "User Not Found")', () => {
    it.each<[string, () => unknown]>([
      ['an unknown email', () => byEmail('nobody@example.test')],
      ['our issuer with an unknown sub', () => issSub(randomUUID())],
      // The user's real id, but under another issuer: that issuer's `sub` names someone else, or nobody.
      ["another issuer, even with the user's id as sub", () => issSub(target.id, 'https://idp.example.com')],
    ])('%s', async (_, body) => {
      expect((await revoke(body())).status).toBe(404);
      await expectUntouched();
    });
  });

  describe('400 for a subject identifier format that is not supported (draft -05 §3.4.2: "an unrecognized or unsupported type of subject identifier")', () => {
    it.each<[string, () => unknown]>([
      ['phone_number', () => ({ sub_id: { format: 'phone_number', phone_number: '+12065550100' } })],
      ['account', () => ({ sub_id: { format: 'account', uri: 'acct:someone@example.test' } })],
      ['a format nobody registered', () => ({ sub_id: { format: 'x-custom', id: target.id } })],
      // Object's own names are formats nobody registered, not Object's properties.
      ['constructor', () => ({ sub_id: { format: 'constructor', id: target.id } })],
      ['__proto__', () => ({ sub_id: { format: '__proto__', id: target.id } })],
    ])('%s', async (_, body) => {
      const answer = await revoke(body());
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        error: 'invalid_request',
        error_description: expect.stringContaining('not supported'),
      });
      await expectUntouched();
    });
  });

  it('after all of them the user was never logged out: the session lives, the RP was told nothing, nothing was recorded', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300)); // room for a delivery that should not come
    expect(await browser.signedInAs()).toBe(target.username);
    expect(await liveSessionsOf(target.id)).toHaveLength(1);
    expect(rp.rp.logoutTokens.map((token) => token.claims.sid)).not.toContain(sid);
    expect((await globalRevocationsOf(target.id)).total).toBe(0);
    expect((await tokensRevokedEventsOf(target.id)).total).toBe(0);
    await expectUntouched();
  });
});
