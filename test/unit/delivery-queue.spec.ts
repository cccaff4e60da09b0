import type { Config, RedisService } from '@signoff/core';
import { DeliveryQueue } from '@signoff/dispatch';

// A relay pass still running when its process shuts down (the kick after a commit: the CLI's
// set-password closes its context at once) used to open the queue, and a Redis connection, after
// RedisService had closed its own: nobody closed that one, and jest never exited (PostgreSQL run).
describe('DeliveryQueue after shutdown', () => {
  it('refuses to open a queue, and opens no Redis connection', async () => {
    let opened = 0;
    const redis = {
      connection: () => {
        opened++;
        throw new Error('no Redis in this test');
      },
    } as unknown as RedisService;
    const queue = new DeliveryQueue(redis, { redisPrefix: 'test', delivery: { attempts: 1 } } as Config);
    await queue.onModuleDestroy();
    await expect(queue.add([{ ids: ['delivery-1'] }])).rejects.toThrow('the delivery queue is closed');
    expect(opened).toBe(0);
  });
});
