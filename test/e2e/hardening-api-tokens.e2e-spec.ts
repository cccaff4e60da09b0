import { SYSTEM, UsersService } from '@signoff/core';
import request from 'supertest';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { runCli } from '../../apps/idp/src/cli';
import { startApp, type TestApp } from '../support/test-app';

// Issue 8, item 11: admin API tokens can be listed (never shown again), revoked, given an expiry
// (API and CLI), and their last use is recorded.
let t: TestApp;
let root: string;

beforeAll(async () => {
  t = await startApp();
  const admin = await t.app
    .get(UsersService)
    .create({ username: 'root', password: 'root password', isAdmin: true }, SYSTEM);
  root = (await t.app.get(ApiTokensService).create(admin, 'bootstrap', null, SYSTEM)).token;
});
afterAll(() => t.close());

const api = () => request(t.url);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const listed = async () => (await api().get('/api/v1/api-tokens').set(bearer(root)).expect(200)).body;
const cli = async (...argv: string[]) => {
  const output: string[] = [];
  const code = await runCli(argv, t.config, (line) => output.push(line));
  return { code, output };
};

describe('API tokens over the admin API', () => {
  it('creates a token for the caller with an expiry, shows it once, and lists it without the token or its hash', async () => {
    const created = await api().post('/api/v1/api-tokens').set(bearer(root)).send({ name: 'ci', expiresIn: '90d' });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^so_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({
      name: 'ci',
      username: 'root',
      status: 'active',
      revokedAt: null,
      lastUsedAt: null,
    });
    expect(new Date(created.body.expiresAt).getTime() - t.clock.now().getTime()).toBeGreaterThan(89 * 86_400_000);

    const list = await listed();
    expect(list.items.map((token: { name: string }) => token.name)).toEqual(
      expect.arrayContaining(['ci', 'bootstrap']),
    );
    expect(JSON.stringify(list)).not.toContain(created.body.token);
    for (const item of list.items) {
      expect(Object.keys(item).sort()).toEqual([
        'createdAt',
        'expiresAt',
        'id',
        'lastUsedAt',
        'name',
        'revokedAt',
        'scopes',
        'status',
        'userId',
        'username',
      ]);
    }
  });

  it('records the last use of a token', async () => {
    const {
      body: { token, id },
    } = await api().post('/api/v1/api-tokens').set(bearer(root)).send({ name: 'used' });
    const before = (await listed()).items.find((item: { id: string }) => item.id === id);
    expect(before.lastUsedAt).toBeNull();
    expect((await api().get('/api/v1/me').set(bearer(token))).status).toBe(200);
    const after = (await listed()).items.find((item: { id: string }) => item.id === id);
    expect(after.lastUsedAt).not.toBeNull();
    expect(Math.abs(new Date(after.lastUsedAt).getTime() - t.clock.now().getTime())).toBeLessThan(60_000);
  });

  it('revokes a token: its next request gets 401, the revocation is audited, and listing shows it revoked', async () => {
    const {
      body: { token, id },
    } = await api().post('/api/v1/api-tokens').set(bearer(root)).send({ name: 'leaked' });
    expect((await api().get('/api/v1/users').set(bearer(token))).status).toBe(200);

    const revoked = await api().delete(`/api/v1/api-tokens/${id}`).set(bearer(root));
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, status: 'revoked', revokedAt: expect.any(String) });
    const refused = await api().get('/api/v1/users').set(bearer(token));
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: 'unauthorized' });
    expect((await api().post('/api/v1/api-tokens').set(bearer(token)).send({ name: 'persist' })).status).toBe(401);

    const audit = (await api().get('/api/v1/audit-events?action=api_token.revoked').set(bearer(root))).body.items;
    expect(audit).toEqual([expect.objectContaining({ actorType: 'admin', details: { tokenId: id, name: 'leaked' } })]);
    expect((await listed()).items.find((item: { id: string }) => item.id === id).status).toBe('revoked');
    expect(
      (await api().delete('/api/v1/api-tokens/00000000-0000-4000-8000-000000000000').set(bearer(root))).status,
    ).toBe(404);
  });

  it('refuses bad expiries with 400 and creates nothing', async () => {
    const count = (await listed()).total;
    for (const body of [
      { name: 'x', expiresIn: 'soon' },
      { name: 'x', expiresIn: '0s' },
      { name: 'x', expiresAt: '2000-01-01T00:00:00Z' },
      { name: 'x', expiresIn: '1d', expiresAt: '2999-01-01T00:00:00Z' },
      { expiresIn: '1d' },
    ]) {
      const refused = await api().post('/api/v1/api-tokens').set(bearer(root)).send(body);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_request');
    }
    expect((await listed()).total).toBe(count);
  });
});

describe('API tokens with the CLI', () => {
  it('creates one with --expires-in, lists tokens without them, and revokes one', async () => {
    const created = await cli('create-api-token', 'root', '--name', 'from-cli', '--expires-in', '30d');
    expect(created.code).toBe(0);
    const [token] = created.output;
    expect(token).toMatch(/^so_/);
    expect((await api().get('/api/v1/me').set(bearer(token))).status).toBe(200);

    const list = await cli('list-api-tokens', '--user', 'root');
    expect(list.code).toBe(0);
    expect(list.output[0]).toBe(
      ['id', 'user', 'name', 'created', 'last used', 'expires', 'status', 'scopes'].join('\t'),
    );
    expect(list.output.find((line) => line.split('\t')[2] === 'from-cli')!.split('\t')[7]).toBe('admin');
    expect(list.output.join('\n')).not.toContain(token);
    const row = list.output.find((line) => line.split('\t')[2] === 'from-cli')!.split('\t');
    expect(row[1]).toBe('root');
    expect(row[4]).not.toBe('-'); // last used
    expect(new Date(row[5]).getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(row[6]).toBe('active');

    const revoked = await cli('revoke-api-token', row[0]);
    expect(revoked).toEqual({ code: 0, output: [`revoked API token ${row[0]} (from-cli) of root`] });
    expect((await api().get('/api/v1/me').set(bearer(token))).status).toBe(401);
    expect((await cli('revoke-api-token', '00000000-0000-4000-8000-000000000000')).code).toBe(1);
  });

  it('makes a token for global token revocation alone with --scope: the admin API refuses it (403)', async () => {
    const created = await cli('create-api-token', 'root', '--name', 'gtr', '--scope', 'global_token_revocation');
    expect(created.code).toBe(0);
    const refused = await api().get('/api/v1/me').set(bearer(created.output[0]));
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe(
      'This API token may not use the admin API: its scopes are global_token_revocation.',
    );
    const row = (await cli('list-api-tokens', '--user', 'root')).output.find((line) => line.split('\t')[2] === 'gtr')!;
    expect(row.split('\t')[7]).toBe('global_token_revocation');
    expect((await cli('create-api-token', 'root', '--scope', 'everything')).code).toBe(2);
    // One scope per token (the draft's §6.1: a revocation token does that alone), in the CLI and the API.
    const both = ['--scope', 'admin', '--scope', 'global_token_revocation'];
    expect((await cli('create-api-token', 'root', ...both)).code).toBe(2);
    const twoScopes = await api()
      .post('/api/v1/api-tokens')
      .set(bearer(root))
      .send({ name: 'both', scopes: ['admin', 'global_token_revocation'] });
    expect(twoScopes.status).toBe(400);
  });
});

describe('expiry', () => {
  it('refuses an expired token with 401, and a token cannot create one that outlives it', async () => {
    const { body: short } = await api()
      .post('/api/v1/api-tokens')
      .set(bearer(root))
      .send({ name: 'short', expiresIn: '1h' });
    const { body: child } = await api().post('/api/v1/api-tokens').set(bearer(short.token)).send({ name: 'child' });
    expect(child.expiresAt).toBe(short.expiresAt);
    expect((await api().get('/api/v1/me').set(bearer(short.token))).status).toBe(200);

    t.clock.advance(61 * 60_000);
    for (const token of [short.token, child.token]) {
      const refused = await api().get('/api/v1/me').set(bearer(token));
      expect(refused.status).toBe(401);
      expect(refused.body.message).toBe('The API token is invalid, expired or revoked.');
    }
    expect((await listed()).items.find((item: { id: string }) => item.id === short.id).status).toBe('expired');
  });
});
