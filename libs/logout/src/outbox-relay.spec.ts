import type { DeliveryStatus } from '@signoff/core';
import { batchesOf } from './outbox-relay';

const BATCH_SIZE = 250;

describe('batchesOf (the relay)', () => {
  const now = Date.parse('2026-11-26T03:00:00Z');
  const row = (
    id: string,
    providerId: string,
    status: DeliveryStatus = 'pending',
    nextAttemptAt: Date | null = null,
  ) => ({
    id,
    providerId,
    status,
    nextAttemptAt,
  });

  it("keeps each application's rows together, at most BATCH_SIZE a job, first attempts marked fresh", () => {
    const rows = Array.from({ length: BATCH_SIZE + 10 }, (_, index) => row(`d${index}`, index % 2 ? 'b' : 'a'));
    const batches = batchesOf(rows, now, BATCH_SIZE);
    expect(batches.map((batch) => [batch.ids.length, batch.delayMs, batch.fresh])).toEqual([
      [BATCH_SIZE, 0, true],
      [10, 0, true],
    ]);
    const order = batches.flatMap((batch) => batch.ids).map((id) => (Number(id.slice(1)) % 2 ? 'b' : 'a'));
    const half = (BATCH_SIZE + 10) / 2;
    expect(order).toEqual([...Array(half).fill('a'), ...Array(half).fill('b')]);
  });

  it('puts rows recovered or waiting for a retry in jobs of their own, delayed until they are due', () => {
    const batches = batchesOf(
      [
        row('new', 'a'),
        row('late', 'a', 'queued', new Date(now - 5000)),
        row('lost', 'b', 'sending', null),
        row('soon', 'a', 'queued', new Date(now + 1500)),
      ],
      now,
      BATCH_SIZE,
    );
    expect(batches).toEqual([
      { ids: ['new'], delayMs: 0, fresh: true },
      { ids: ['late', 'lost'], delayMs: 0, fresh: false },
      { ids: ['soon'], delayMs: 1500, fresh: false },
    ]);
  });
});
