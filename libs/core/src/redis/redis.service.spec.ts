import Redis from 'ioredis';
import { createServer } from 'node:net';
import type { Config } from '../config/config';
import { RedisService } from './redis.service';

// The test run's redis-server (test/support/global-setup.ts).
describe('RedisService.create', () => {
  const services: RedisService[] = [];
  afterAll(async () => {
    for (const service of services) await service.onApplicationShutdown();
  });
  const create = async (redisUrl: string) => {
    const service = await RedisService.create({ redisUrl, redisPrefix: 'tcreate' } as Config);
    services.push(service);
    return service;
  };

  it('answers once its fail-fast connection is ready: a command at once succeeds', async () => {
    const redis = await create(process.env.REDIS_URL!);
    expect(redis.client.status).toBe('ready');
    await expect(redis.client.set(redis.key('first'), '1', 'EX', 5)).resolves.toBe('OK');
  });

  it('control: the same connection, just made, refuses a command (no offline queue)', async () => {
    const bare = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    try {
      await expect(bare.set('tcreate:first', '1', 'EX', 5)).rejects.toThrow(/enableOfflineQueue/);
    } finally {
      bare.disconnect();
    }
  });

  it('does not hold the start when Redis is unreachable: it answers soon, and says why', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const started = Date.now();
    const redis = await create(`redis://127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(redis.unreachable).toMatch(/ECONNREFUSED/);
  });
});
