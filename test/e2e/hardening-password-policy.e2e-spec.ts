import { hashPassword, SYSTEM, User, UsersService } from '@signoff/core';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { runCli } from '../../apps/idp/src/cli';
import { Browser } from '../support/browser';
import { startApp, type TestApp } from '../support/test-app';

// Issue 8, item 14: NIST SP 800-63B §5.1.1.2 — a configurable minimum length (PASSWORD_MIN_LENGTH,
// default 12) and no commonly used password, wherever a password is set: admin API, CLI, bootstrap admin
// (BOOTSTRAP_ADMIN_PASSWORD is checked by loadConfig: libs/core/src/config/config.spec.ts).
let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await startApp();
  const admin = await t.app
    .get(UsersService)
    .create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
  token = (await t.app.get(ApiTokensService).create(admin, 'test', null, SYSTEM)).token;
});
afterAll(() => t.close());

const api = () => request(t.url);
const auth = () => ({ Authorization: `Bearer ${token}` });
const findUser = (username: string) => t.app.get(UsersService).findByUsername(username);

describe('password policy at the admin API', () => {
  it.each([
    ['eleven char', 'The password is not acceptable: the password must be at least 12 characters long.'],
    [
      'Password1234',
      'The password is not acceptable: the password is one of the most commonly used passwords; choose another.',
    ],
    [
      'QWERTY123456',
      'The password is not acceptable: the password is one of the most commonly used passwords; choose another.',
    ],
  ])('refuses to create a user with %j, with a clear 400, and creates nothing', async (password, message) => {
    const refused = await api().post('/api/v1/users').set(auth()).send({ username: 'newcomer', password });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: 'invalid_request',
      message,
      details: [expect.stringMatching(/^password: /)],
    });
    expect(await findUser('newcomer')).toBeNull();
  });

  it('accepts a long uncommon passphrase', async () => {
    const created = await api()
      .post('/api/v1/users')
      .set(auth())
      .send({ username: 'erin', password: 'erin likes long walks' });
    expect(created.status).toBe(201);
    expect((await new Browser(t.url).login('erin', 'erin likes long walks')).status).toBe(303);
  });

  it('refuses a policy-breaking new password at PATCH and keeps the old one', async () => {
    const user = await t.app.get(UsersService).create({ username: 'frank', password: 'frank password' }, SYSTEM);
    for (const password of ['too short', 'passwordpassword']) {
      const refused = await api().patch(`/api/v1/users/${user.id}`).set(auth()).send({ password, name: 'Frank' });
      expect(refused.status).toBe(400);
      expect(refused.body.message).toMatch(/^The password is not acceptable: /);
    }
    expect((await findUser('frank'))!.name).toBeNull(); // nothing of the refused change was applied
    expect((await new Browser(t.url).login('frank', 'frank password')).status).toBe(303);
  });

  it('never applies at login: a user whose password predates the policy still signs in', async () => {
    const user = await t.app.get(UsersService).create({ username: 'olduser', password: 'a long enough one' }, SYSTEM);
    await t.app
      .get(DataSource)
      .getRepository(User)
      .update({ id: user.id }, { passwordHash: await hashPassword('short') });
    expect((await new Browser(t.url).login('olduser', 'short')).status).toBe(303);
  });
});

describe('password policy in the CLI', () => {
  const cli = async (...argv: string[]) => {
    const output: string[] = [];
    const code = await runCli(argv, t.config, (line) => output.push(line));
    return { code, output };
  };

  it('refuses a short or common password for create-user and set-password (exit 2), and accepts a good one', async () => {
    expect((await cli('create-user', 'gina', '--password', 'iloveyou')).code).toBe(2);
    expect((await cli('create-user', 'gina', '--password', 'password1234')).code).toBe(2);
    expect(await findUser('gina')).toBeNull();
    expect((await cli('create-user', 'gina', '--password', 'gina password')).code).toBe(0);
    const before = (await findUser('gina'))!.passwordHash;
    expect((await cli('set-password', 'gina', '--password', '123456789012')).code).toBe(2);
    expect((await findUser('gina'))!.passwordHash).toBe(before);
  });
});

describe('PASSWORD_MIN_LENGTH', () => {
  it('raises the minimum for every new password', async () => {
    const strict = await startApp({ PASSWORD_MIN_LENGTH: '16' });
    try {
      const users = strict.app.get(UsersService);
      await expect(users.create({ username: 'hal', password: 'fifteen chars!!' }, SYSTEM)).rejects.toMatchObject({
        message: 'The password is not acceptable: the password must be at least 16 characters long.',
      });
      await expect(users.create({ username: 'hal', password: 'sixteen chars!!!' }, SYSTEM)).resolves.toMatchObject({
        username: 'hal',
      });
    } finally {
      await strict.close();
    }
  });
});
