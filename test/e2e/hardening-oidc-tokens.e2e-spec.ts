import { AccessToken, RefreshToken, SYSTEM, UsersService } from '@signoff/core';
import * as client from 'openid-client';
import request from 'supertest';
import { DataSource, IsNull, Not } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

// Issue 8, items 6, 7 and 9: one check decides whether a token is still good, wherever it is used.
// No worker runs here: an expired IdP session is never swept, so only that check can refuse it.

const HOUR = 3_600_000;
let t: TestApp;
let rp: TestClient;
let adminToken: string;
let counter = 0;

beforeAll(async () => {
  t = await startApp({
    ACCESS_TOKEN_LIFETIME: '1d',
    SESSION_ABSOLUTE_LIFETIME: '3h',
    SESSION_IDLE_TIMEOUT: '2h',
    BOOTSTRAP_ADMIN_USERNAME: 'root',
    BOOTSTRAP_ADMIN_PASSWORD: 'root password long enough',
  });
  const root = (await t.app.get(UsersService).findByUsername('root'))!;
  adminToken = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
  rp = await registerClient(t);
});
afterAll(async () => {
  await rp.rp.stop();
  await t.close();
});

const api = () => request(t.url);
const auth = () => ({ Authorization: `Bearer ${adminToken}` });

/** A fresh user signed in to the RP in a fresh browser, with the tokens openid-client received. */
async function signedIn(scope = 'openid profile') {
  const username = `user${++counter}`;
  const user = await t.app.get(UsersService).create({ username, password: 'a user password' }, SYSTEM);
  const browser = new Browser(t.url);
  const { tokens } = await login(rp, browser, { username, password: 'a user password' }, { scope });
  return { user, browser, tokens };
}

const userinfo = (accessToken: string) => api().get('/oauth2/userinfo').set('Authorization', `Bearer ${accessToken}`);
const refresh = (refreshToken: string) => client.refreshTokenGrant(rp.config, refreshToken);
const liveTokensOf = (userId: string) =>
  Promise.all(
    [AccessToken, RefreshToken].map((entity) =>
      t.app.get(DataSource).getRepository(entity).countBy({ userId, revokedAt: IsNull() }),
    ),
  );

describe('item 6: tokens bound to an ended or expired IdP session fail everywhere, sweeper or not', () => {
  it('works while the session lives (the control)', async () => {
    const { tokens } = await signedIn();
    const refreshed = await refresh(tokens.refresh_token!);
    expect(refreshed.claims()!.sid).toBe(tokens.claims()!.sid);
    expect((await userinfo(refreshed.access_token)).status).toBe(200);
  });

  it('refuses refresh and userinfo once the session is idle-expired, although nobody ended it', async () => {
    const { user, tokens } = await signedIn();
    t.clock.advance(2 * HOUR + 60_000);
    await expect(refresh(tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const answer = await userinfo(tokens.access_token);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toContain('invalid_token');
    // Refused, not consumed: nothing new was issued, the refresh token was not rotated.
    expect(await liveTokensOf(user.id)).toEqual([1, 1]);
  });

  it('refuses them once the session is past its absolute lifetime, however active it was', async () => {
    const { browser, tokens } = await signedIn();
    t.clock.advance(1.5 * HOUR);
    expect((await browser.get('/')).status).toBe(200); // activity: the idle timeout starts again
    t.clock.advance(1.5 * HOUR + 60_000);
    await expect(refresh(tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await userinfo(tokens.access_token)).status).toBe(401);
  });

  it('lets an offline_access grant refresh past the session, without an ID token or a dead sid', async () => {
    const { tokens } = await signedIn('openid profile offline_access');
    t.clock.advance(2 * HOUR + 60_000);
    const refreshed = await refresh(tokens.refresh_token!);
    expect(refreshed.id_token).toBeUndefined();
    const info = await userinfo(refreshed.access_token);
    expect(info.status).toBe(200);
    expect(info.body.sub).toBe(tokens.claims()!.sub);
    // Its first access token was bound to the session: it died with it.
    expect((await userinfo(tokens.access_token)).status).toBe(401);
  });
});

describe('item 7: a reused refresh token revokes its whole family (RFC 9700 §4.14.2)', () => {
  it('answers invalid_grant and revokes the tokens the rotation issued', async () => {
    const { user, tokens } = await signedIn();
    const rotated = await refresh(tokens.refresh_token!);
    await expect(refresh(tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(refresh(rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await userinfo(rotated.access_token)).status).toBe(401);
    expect(await liveTokensOf(user.id)).toEqual([0, 0]);
  });

  it('treats two concurrent uses of one refresh token as a reuse: at most one answer, then nothing lives', async () => {
    const { user, tokens } = await signedIn();
    const answers = await Promise.allSettled([refresh(tokens.refresh_token!), refresh(tokens.refresh_token!)]);
    expect(answers.filter((answer) => answer.status === 'rejected').length).toBeGreaterThanOrEqual(1);
    expect(await liveTokensOf(user.id)).toEqual([0, 0]);
  });
});

describe('item 9: deactivation, disabled applications and RFC 7009 revocation', () => {
  it('revokes offline_access tokens at deactivation, so a reactivation does not bring them back', async () => {
    const { user, tokens } = await signedIn('openid offline_access');
    expect((await api().post(`/api/v1/users/${user.id}/deactivate`).set(auth())).status).toBe(202);
    expect((await api().patch(`/api/v1/users/${user.id}`).set(auth()).send({ isActive: true })).status).toBe(200);
    await expect(refresh(tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await liveTokensOf(user.id)).toEqual([0, 0]);
  });

  it('revokes them even when the user had no live session left to end', async () => {
    const { user, tokens } = await signedIn('openid offline_access');
    const [session] = (await api().get(`/api/v1/users/${user.id}/sessions`).set(auth())).body.items;
    expect((await api().delete(`/api/v1/sessions/${session.id}`).set(auth())).status).toBe(202);
    const offline = await refresh(tokens.refresh_token!); // outlives the logout, as offline_access should
    expect((await api().post(`/api/v1/users/${user.id}/deactivate`).set(auth())).status).toBe(202);
    expect((await api().patch(`/api/v1/users/${user.id}`).set(auth()).send({ isActive: true })).status).toBe(200);
    await expect(refresh(offline.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await userinfo(offline.access_token)).status).toBe(401);
  });

  it("refuses a disabled application's access tokens at userinfo", async () => {
    const other = await registerClient(t);
    try {
      const username = `user${++counter}`;
      await t.app.get(UsersService).create({ username, password: 'a user password' }, SYSTEM);
      const { tokens } = await login(other, new Browser(t.url), { username, password: 'a user password' });
      expect((await userinfo(tokens.access_token)).status).toBe(200);
      expect(
        (await api().patch(`/api/v1/providers/${other.providerId}`).set(auth()).send({ enabled: false })).status,
      ).toBe(200);
      expect((await userinfo(tokens.access_token)).status).toBe(401);
    } finally {
      await other.rp.stop();
    }
  });

  it('revoking a refresh token revokes the access tokens of its grant (RFC 7009 §2.1)', async () => {
    const { user, tokens } = await signedIn();
    await client.tokenRevocation(rp.config, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
    expect((await userinfo(tokens.access_token)).status).toBe(401);
    expect(
      await t.app
        .get(DataSource)
        .getRepository(AccessToken)
        .countBy({ userId: user.id, revokedAt: Not(IsNull()) }),
    ).toBe(1);
  });
});
