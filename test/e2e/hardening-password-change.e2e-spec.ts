import { IdpSession, LogoutOperation, SYSTEM, UsersService } from '@signoff/core';
import * as client from 'openid-client';
import request from 'supertest';
import { DataSource, IsNull } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { UserAdminService } from '../../apps/idp/src/admin/user-admin.service';
import { runCli } from '../../apps/idp/src/cli';
import { Browser } from '../support/browser';
import { eventually } from '../support/eventually';
import { login, registerClient, type TestClient } from '../support/relying-party';
import { startApp, type TestApp } from '../support/test-app';

// Issue 8, item 8: a password change (admin API, CLI, later the user) ends the user's sessions through
// the logout engine (trigger password_changed, full SLO: the RPs are told over the back channel) and
// revokes their tokens, offline_access refresh tokens included.
let t: TestApp;
let token: string;
let app: TestClient;
let counter = 0;

beforeAll(async () => {
  t = await startApp({ DELIVERY_TIMEOUT: '1s', DELIVERY_ATTEMPTS: '2' }, { withWorker: true });
  const root = await t.app
    .get(UsersService)
    .create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
  token = (await t.app.get(ApiTokensService).create(root, 'test', null, SYSTEM)).token;
  app = await registerClient(t);
});
afterAll(async () => {
  await app.rp.stop();
  await t.close();
});

const api = () => request(t.url);
const auth = () => ({ Authorization: `Bearer ${token}` });
const NEW_PASSWORD = 'a brand new passphrase';

/** A fresh user signed in to the RP in two browsers: one with offline_access, one without. */
async function userWithTwoSessions() {
  const username = `user${++counter}`;
  const user = await t.app.get(UsersService).create({ username, password: 'user password' }, SYSTEM);
  const credentials = { username, password: 'user password' };
  const offlineBrowser = new Browser(t.url);
  const offline = await login(app, offlineBrowser, credentials, { scope: 'openid offline_access' });
  const plainBrowser = new Browser(t.url);
  const plain = await login(app, plainBrowser, credentials);
  return { user, username, offlineBrowser, plainBrowser, offline: offline.tokens, plain: plain.tokens };
}

const userinfo = (accessToken: string) => api().get('/oauth2/userinfo').set('Authorization', `Bearer ${accessToken}`);
const liveSessions = (userId: string) =>
  t.app.get(DataSource).getRepository(IdpSession).findBy({ userId, endedAt: IsNull() });
const passwordChangeOperations = () =>
  t.app.get(DataSource).getRepository(LogoutOperation).findBy({ trigger: 'password_changed' });
const logoutTokensFor = (sids: string[]) =>
  eventually(async () => {
    const received = app.rp.logoutTokens.filter((received) => sids.includes(received.claims.sid!));
    return received.length === sids.length ? received : null;
  });

/** What a stolen session or token could still do: all of it must be refused after the change. */
async function expectShutOut(victim: Awaited<ReturnType<typeof userWithTwoSessions>>) {
  expect(await liveSessions(victim.user.id)).toEqual([]);
  const ended = await t.app.get(DataSource).getRepository(IdpSession).findBy({ userId: victim.user.id });
  expect(ended.map((session) => session.endReason)).toEqual(['password_changed', 'password_changed']);
  expect(await victim.offlineBrowser.signedInAs()).toBeNull();
  expect(await victim.plainBrowser.signedInAs()).toBeNull();

  // Full SLO: the RP is told over the back channel, for both provider sessions.
  const sids = [victim.offline.claims()!.sid as string, victim.plain.claims()!.sid as string];
  const received = await logoutTokensFor(sids);
  expect(received).not.toBeNull();
  expect(app.rp.rejected).toEqual([]);

  // Every token is revoked: access tokens at userinfo, both refresh tokens, the offline_access one too.
  expect((await userinfo(victim.offline.access_token)).status).toBe(401);
  expect((await userinfo(victim.plain.access_token)).status).toBe(401);
  await expect(client.refreshTokenGrant(app.config, victim.plain.refresh_token!)).rejects.toMatchObject({
    error: 'invalid_grant',
  });
  await expect(client.refreshTokenGrant(app.config, victim.offline.refresh_token!)).rejects.toMatchObject({
    error: 'invalid_grant',
  });

  // The old password is gone, the new one works.
  expect((await new Browser(t.url).login(victim.username, 'user password')).status).toBe(401);
  expect((await new Browser(t.url).login(victim.username, NEW_PASSWORD)).status).toBe(303);
}

describe('a password change', () => {
  it('by an administrator (PATCH /api/v1/users/:id) ends every session of the user everywhere and revokes their tokens', async () => {
    const victim = await userWithTwoSessions();
    expect((await userinfo(victim.offline.access_token)).status).toBe(200);
    expect(victim.offline.refresh_token).toBeTruthy();
    const before = (await passwordChangeOperations()).length;

    const changed = await api().patch(`/api/v1/users/${victim.user.id}`).set(auth()).send({ password: NEW_PASSWORD });
    expect(changed.status).toBe(200);
    expect(changed.body).not.toHaveProperty('password');
    expect(changed.body).not.toHaveProperty('passwordHash');

    const operations = await passwordChangeOperations();
    expect(operations).toHaveLength(before + 1);
    expect(operations.at(-1)).toMatchObject({ initiatorType: 'admin' });
    expect(operations.at(-1)!.idpSessionIds).toHaveLength(2);
    await expectShutOut(victim);

    // Audited, without the password.
    const audit = (
      await api().get(`/api/v1/audit-events?action=user.password_changed&target_id=${victim.user.id}`).set(auth())
    ).body.items;
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(NEW_PASSWORD);
    const everything = (await api().get('/api/v1/audit-events?limit=200').set(auth())).body.items;
    expect(JSON.stringify(everything)).not.toContain(NEW_PASSWORD);
  });

  it('with the CLI (set-password) does the same', async () => {
    const victim = await userWithTwoSessions();
    const output: string[] = [];
    expect(
      await runCli(['set-password', victim.username, '--password', NEW_PASSWORD], t.config, (line) =>
        output.push(line),
      ),
    ).toBe(0);
    expect(output.join('\n')).toMatch(
      new RegExp(
        `^changed the password of ${victim.username}; ended 2 session\\(s\\); logout operation [0-9a-f-]{36}$`,
      ),
    );
    await expectShutOut(victim);
  });

  it('made by the user keeps the session they made it from and ends the others', async () => {
    const victim = await userWithTwoSessions();
    const [kept] = await t.app
      .get(DataSource)
      .getRepository(IdpSession)
      .findBy({ userId: victim.user.id, endedAt: IsNull() });
    const { operation } = await t.app
      .get(UserAdminService)
      .changePassword(
        victim.user.id,
        NEW_PASSWORD,
        { type: 'user', id: victim.user.id },
        { keepIdpSessionId: kept.id },
      );
    expect(operation.trigger).toBe('password_changed');
    expect(operation.idpSessionIds).toHaveLength(1);
    expect(operation.idpSessionIds).not.toContain(kept.id);
    expect((await liveSessions(victim.user.id)).map((session) => session.id)).toEqual([kept.id]);
    // The browser of the kept session is still signed in, the other is not, and only its RP session was told.
    const stillIn = [await victim.offlineBrowser.signedInAs(), await victim.plainBrowser.signedInAs()];
    expect(stillIn.filter(Boolean)).toEqual([victim.username]);
    const endedSid = (stillIn[0] ? victim.plain : victim.offline).claims()!.sid as string;
    const keptSid = (stillIn[0] ? victim.offline : victim.plain).claims()!.sid as string;
    expect(await logoutTokensFor([endedSid])).not.toBeNull();
    expect(app.rp.logoutTokens.some((received) => received.claims.sid === keptSid)).toBe(false);
  });

  it('revokes an offline_access refresh token even when the user has no live session left', async () => {
    const username = `user${++counter}`;
    const user = await t.app.get(UsersService).create({ username, password: 'user password' }, SYSTEM);
    const browser = new Browser(t.url);
    const { tokens } = await login(
      app,
      browser,
      { username, password: 'user password' },
      { scope: 'openid offline_access' },
    );
    await browser.get('/logout');
    await browser.submit('/logout', { csrf: browser.csrf });
    expect(await liveSessions(user.id)).toEqual([]);
    const survived = await client.refreshTokenGrant(app.config, tokens.refresh_token!); // offline_access outlives the logout
    const refreshToken = survived.refresh_token ?? tokens.refresh_token!;

    expect((await api().patch(`/api/v1/users/${user.id}`).set(auth()).send({ password: NEW_PASSWORD })).status).toBe(
      200,
    );
    await expect(client.refreshTokenGrant(app.config, refreshToken)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await userinfo(survived.access_token)).status).toBe(401);
  });

  it('that the password policy refuses changes nothing: no session ended, no operation, the old password still works', async () => {
    const victim = await userWithTwoSessions();
    const before = (await passwordChangeOperations()).length;
    const refused = await api().patch(`/api/v1/users/${victim.user.id}`).set(auth()).send({ password: 'password1234' });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: 'invalid_request',
      message: expect.stringContaining('most commonly used passwords'),
    });
    expect(await liveSessions(victim.user.id)).toHaveLength(2);
    expect(await passwordChangeOperations()).toHaveLength(before);
    expect((await userinfo(victim.plain.access_token)).status).toBe(200);
    expect((await new Browser(t.url).login(victim.username, 'user password')).status).toBe(303);
  });
});
