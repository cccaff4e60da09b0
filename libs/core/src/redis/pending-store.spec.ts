import { randomBytes } from 'node:crypto';
import type { Config } from '../config/config';
import { isPendingHandle, PendingStore } from './pending-store';
import { RedisService } from './redis.service';
import { ReplayCache } from './replay-cache';

// The test run's redis-server (test/support/global-setup.ts), under a prefix of this file's own.
describe('PendingStore and ReplayCache', () => {
  const prefix = `t${randomBytes(6).toString('hex')}`;
  let redis: RedisService;
  let store: PendingStore;
  let replays: ReplayCache;

  beforeAll(async () => {
    redis = await RedisService.create({ redisUrl: process.env.REDIS_URL, redisPrefix: prefix } as Config);
    store = new PendingStore(redis);
    replays = new ReplayCache(redis);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(async () => {
    try {
      const keys = await redis.client.keys(`${prefix}:*`);
      if (keys.length) await redis.client.del(...keys);
    } finally {
      await redis.onApplicationShutdown();
    }
  });

  it('keeps a value under a new handle, with its TTL, in the key shape of before', async () => {
    const handle = await store.put('end-session', { next: '/logout/done', n: 1 }, 600);
    expect(handle).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await redis.client.get(`${prefix}:end-session:${handle}`)).toBe('{"next":"/logout/done","n":1}');
    const ttl = await redis.client.ttl(redis.key('end-session', handle));
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    expect(await store.put('end-session', {}, 600)).not.toBe(handle);
  });

  it('peeks without removing; takes once (the second take gets null)', async () => {
    const handle = await store.put('saml-slo-reply', { providerId: 'p1' }, 60);
    expect(await store.peek('saml-slo-reply', handle)).toEqual({ providerId: 'p1' });
    expect(await store.peek('saml-slo-reply', handle)).toEqual({ providerId: 'p1' });
    expect(await store.take('saml-slo-reply', handle)).toEqual({ providerId: 'p1' });
    expect(await store.take('saml-slo-reply', handle)).toBeNull();
    expect(await store.peek('saml-slo-reply', handle)).toBeNull();
  });

  it('keeps kinds apart', async () => {
    const handle = await store.put('authz', { a: 1 }, 60);
    expect(await store.peek('saml-sso', handle)).toBeNull();
    expect(await store.take('saml-sso', handle)).toBeNull();
    expect(await store.peek('authz', handle)).toEqual({ a: 1 });
  });

  it('saves under a handle the caller owns, replacing the value and restarting the TTL; drops it', async () => {
    const handle = await store.put('logout-chain', { queue: ['d1', 'd2'] }, 30);
    await store.save('logout-chain', handle, { queue: ['d2'] }, 900);
    expect(await store.peek('logout-chain', handle)).toEqual({ queue: ['d2'] });
    expect(await redis.client.ttl(redis.key('logout-chain', handle))).toBeGreaterThan(30);
    await store.drop('logout-chain', handle);
    expect(await redis.client.exists(redis.key('logout-chain', handle))).toBe(0);
    expect(await store.peek('logout-chain', handle)).toBeNull();
  });

  it('expires values after their TTL', async () => {
    const handle = await store.put('logout-flow', { flowId: 'f' }, 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await store.peek('logout-flow', handle)).toBeNull();
  });

  it('answers null for malformed handles without asking Redis, and refuses to save under one', async () => {
    const calls = [
      jest.spyOn(redis.client, 'get'),
      jest.spyOn(redis.client, 'getdel'),
      jest.spyOn(redis.client, 'del'),
      jest.spyOn(redis.client, 'set'),
    ];
    const malformed: unknown[] = [
      undefined,
      null,
      42,
      ['a'.repeat(22)],
      '',
      'a'.repeat(21),
      'a'.repeat(23),
      `${'a'.repeat(21)}=`,
      `${'a'.repeat(21)}:`,
      `${'a'.repeat(21)}*`,
      `${'a'.repeat(21)}\n`,
    ];
    for (const handle of malformed) {
      expect(isPendingHandle(handle)).toBe(false);
      expect(await store.peek('authz', handle)).toBeNull();
      expect(await store.take('authz', handle)).toBeNull();
      await store.drop('authz', handle);
    }
    await expect(store.save('authz', '*', {}, 60)).rejects.toThrow(TypeError);
    for (const call of calls) expect(call).not.toHaveBeenCalled();
  });

  it('unknown handles of the right shape are null', async () => {
    expect(await store.peek('authz', 'A'.repeat(22))).toBeNull();
    expect(await store.take('authz', '-_'.repeat(11))).toBeNull();
  });

  it('firstUse: true the first time, false while the mark lasts, per kind and parts', async () => {
    expect(await replays.firstUse('saml-authn-id', ['https://sp.example', '_id1'], 600)).toBe(true);
    expect(await replays.firstUse('saml-authn-id', ['https://sp.example', '_id1'], 600)).toBe(false);
    expect(await redis.client.ttl(`${prefix}:saml-authn-id:https://sp.example:_id1`)).toBeGreaterThan(590);
    expect(await replays.firstUse('saml-authn-id', ['https://sp.example', '_id2'], 600)).toBe(true);
    expect(await replays.firstUse('saml-logout-request', ['https://sp.example', '_id1'], 600)).toBe(true);
    const [a, b] = await Promise.all([
      replays.firstUse('saml-authn-id', ['sp', '_race'], 600),
      replays.firstUse('saml-authn-id', ['sp', '_race'], 600),
    ]);
    expect([a, b].sort()).toEqual([false, true]);
  });
});
