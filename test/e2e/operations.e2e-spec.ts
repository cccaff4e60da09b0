import { EmbeddedRedis, SYSTEM, UsersService } from '@signoff/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { Browser } from '../support/browser';
import { startApp, type TestApp } from '../support/test-app';

// This suite owns its Redis, so it can stop it.
let redisDir: string;
let redis: EmbeddedRedis;
let t: TestApp;

beforeAll(async () => {
  redisDir = mkdtempSync(join(tmpdir(), 'signoff-ops-'));
  redis = await EmbeddedRedis.start(redisDir);
  t = await startApp({ REDIS_URL: redis.url });
  await t.app.get(UsersService).create({ username: 'alice', password: 'alice password' }, SYSTEM);
});
afterAll(async () => {
  await t.close();
  await redis.stop();
  rmSync(redisDir, { recursive: true, force: true });
});

describe('health and readiness', () => {
  it('is healthy and ready, then not ready once Redis is gone; logins are refused rather than left unthrottled', async () => {
    expect((await request(t.url).get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await request(t.url).get('/readyz')).status).toBe(200);

    await redis.stop();
    const ready = await request(t.url).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      status: 'unavailable',
      checks: { database: 'ok', redis: 'down' },
      reasons: { redis: expect.stringMatching(/\S/) }, // why: the connection's last error
    });
    expect((await request(t.url).get('/healthz')).status).toBe(200);

    const browser = new Browser(t.url);
    const login = await browser.login('alice', 'alice password');
    expect(login.status).toBe(503);
    expect(login.text).toContain('Signing in is unavailable for a moment');
    expect(await browser.signedInAs()).toBeNull();
  });

  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    expect((await request(t.url).get('/healthz').set('X-Request-Id', 'abc-123-def-456')).headers['x-request-id']).toBe(
      'abc-123-def-456',
    );
    const replaced = (await request(t.url).get('/healthz').set('X-Request-Id', 'bad id\twith spaces')).headers[
      'x-request-id'
    ];
    expect(replaced).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });
});
