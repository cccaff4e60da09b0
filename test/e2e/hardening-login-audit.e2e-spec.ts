import { SYSTEM, UsersService } from '@signoff/core';
import request from 'supertest';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { startApp, type TestApp } from '../support/test-app';

// Issue 8, item 15 (last sentence): people type their password into the username field. A failed or
// throttled login keeps the username only when it names a user; otherwise only that an unknown one was tried.
let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await startApp({ LOGIN_MAX_FAILURES: '2' });
  const users = t.app.get(UsersService);
  const admin = await users.create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
  await users.create({ username: 'alice', password: 'alice password' }, SYSTEM);
  token = (await t.app.get(ApiTokensService).create(admin, 'test', null, SYSTEM)).token;
});
afterAll(() => t.close());

const auditEvents = async (action: string) =>
  (
    await request(t.url)
      .get(`/api/v1/audit-events?action=${action}`)
      .set('Authorization', `Bearer ${token}`)
      .expect(200)
  ).body.items as Array<Record<string, unknown>>;

describe('failed-login audit events', () => {
  it('keep a username that names a user, and never a typed one that matches no user', async () => {
    const alice = (await t.app.get(UsersService).findByUsername('alice'))!;
    const browser = new Browser(t.url);
    expect((await browser.login('alice', 'not her password')).status).toBe(401);
    expect((await browser.login('Tr0ub4dor&3-secret', 'alice password')).status).toBe(401);

    const failed = await auditEvents('login.failed');
    expect(JSON.stringify(failed)).not.toContain('Tr0ub4dor');
    expect(JSON.stringify(failed).toLowerCase()).not.toContain('tr0ub4dor');
    expect(failed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ targetType: 'user', targetId: alice.id, details: { username: 'alice' } }),
        expect.objectContaining({ targetType: null, targetId: null, details: { unknownUsername: true } }),
      ]),
    );
  });

  it('do the same when the attempt is throttled', async () => {
    const browser = new Browser(t.url);
    for (let i = 0; i < 2; i++) expect((await browser.login('MyS3cretPassw0rd', `guess ${i}`)).status).toBe(401);
    expect((await browser.login('MyS3cretPassw0rd', 'guess 3')).status).toBe(429);
    const throttled = await auditEvents('login.throttled');
    expect(throttled).toEqual([expect.objectContaining({ targetId: null, details: { unknownUsername: true } })]);
    expect(JSON.stringify([...throttled, ...(await auditEvents('login.failed'))]).toLowerCase()).not.toContain(
      'mys3cret',
    );
  });
});
