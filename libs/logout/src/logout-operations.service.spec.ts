import { LogoutDelivery, LogoutOperation } from '@signoff/core';
import { LogoutOperationsService } from './logout-operations.service';
import { type Engine, startEngine } from '../../../test/support/logout-engine';

// The books over a real (SQLite) database. Each test seeds an operation of its own.
describe('LogoutOperationsService', () => {
  let engine: Engine;
  let operations: LogoutOperationsService;

  beforeAll(async () => {
    engine = await startEngine();
    operations = engine.get(LogoutOperationsService);
  });
  afterAll(() => engine.close());

  async function statuses(operationId: string) {
    return (await engine.deliveries(operationId)).map((delivery) => delivery.status);
  }

  describe('settle', () => {
    it.each([
      ['complete when every delivery succeeded', ['succeeded', 'succeeded'], 'complete'],
      ['partial when some succeeded and some did not', ['succeeded', 'failed', 'dead'], 'partial'],
      ['failed when none succeeded', ['failed', 'dead'], 'failed'],
      ['partial when the rest were skipped (those applications were not told)', ['succeeded', 'skipped'], 'partial'],
      ['partial when every delivery was skipped (nothing failed, nobody was told)', ['skipped'], 'partial'],
      ['partial when one was skipped and one failed', ['skipped', 'failed'], 'partial'],
      ['complete when there was nobody to tell', [], 'complete'],
    ] as const)('%s', async (_name, seeded, outcome) => {
      const { operationId } = await engine.operation(seeded.map((status) => ({ status })));
      await operations.settle(operationId);
      const row = await engine.operationRow(operationId);
      expect(row).toMatchObject({ outcome });
      expect(row!.completedAt).toEqual(expect.any(Date));
    });

    it.each([['pending'], ['queued'], ['sending']] as const)(
      'leaves the operation open while a delivery is %s',
      async (open) => {
        const { operationId } = await engine.operation([{ status: 'succeeded' }, { status: open }]);
        await operations.settle(operationId);
        expect(await engine.operationRow(operationId)).toMatchObject({ completedAt: null, outcome: null });
      },
    );

    it('is idempotent: settling again keeps the first outcome and completion time, even if a row changed since', async () => {
      const { operationId, deliveryIds } = await engine.operation([{ status: 'succeeded' }]);
      await operations.settle(operationId);
      const first = await engine.operationRow(operationId);
      engine.clock.advance(60_000);
      await operations.settle(operationId);
      expect(await engine.operationRow(operationId)).toEqual(first);
      // Only a reopening (recordFrontchannel's late confirmation) may change a completed outcome.
      await engine.db.getRepository(LogoutDelivery).update({ id: deliveryIds[0] }, { status: 'failed' });
      await operations.settle(operationId);
      expect(await engine.operationRow(operationId)).toEqual(first);
    });
  });

  describe('recordFrontchannel', () => {
    it('records what the browser saw on a pending delivery (attempt, log, message id) and settles the operation', async () => {
      const { operationId, deliveryIds } = await engine.operation([
        { status: 'pending', channel: 'frontchannel_saml_iframe' },
      ]);
      const delivery = (await operations.delivery(deliveryIds[0]))!;
      await operations.recordFrontchannel(delivery, { ok: true, error: null, messageId: '_m1' });
      const [row] = await engine.deliveries(operationId);
      expect(row).toMatchObject({ status: 'succeeded', attempts: 1, lastError: null, completedAt: expect.any(Date) });
      expect(row.attemptLog).toEqual([
        { at: expect.any(String), ms: 0, httpStatus: null, result: 'succeeded', error: null, messageId: '_m1' },
      ]);
      expect(await engine.operationRow(operationId)).toMatchObject({ outcome: 'complete' });
    });

    it('changes nothing when the delivery is no longer in one of `from`', async () => {
      const { operationId, deliveryIds } = await engine.operation([
        { status: 'succeeded', channel: 'frontchannel_oidc' },
      ]);
      await operations.settle(operationId);
      const before = await engine.operationRow(operationId);
      const delivery = (await operations.delivery(deliveryIds[0]))!;
      await operations.recordFrontchannel(delivery, {
        ok: false,
        error: 'the application did not answer in time',
        messageId: null,
      });
      expect(await engine.deliveries(operationId)).toEqual([
        expect.objectContaining({ status: 'succeeded', attempts: 1, lastError: null }),
      ]);
      expect(await engine.operationRow(operationId)).toEqual(before);
    });

    it.each([
      ['partial', [{ status: 'succeeded' as const }]],
      ['failed', []],
    ])(
      'reopens a %s operation when a failed delivery turns out confirmed, and settles it again: complete',
      async (was, others) => {
        const { operationId, deliveryIds } = await engine.operation([
          { status: 'failed', channel: 'frontchannel_saml_native' },
          ...others,
        ]);
        await operations.settle(operationId);
        const settled = await engine.operationRow(operationId);
        expect(settled).toMatchObject({ outcome: was });

        engine.clock.advance(1000);
        const late = (await operations.delivery(deliveryIds[0]))!;
        await operations.recordFrontchannel(late, { ok: true, error: null, messageId: '_late' }, ['pending', 'failed']);

        expect(await statuses(operationId)).toEqual(['succeeded', ...others.map((other) => other.status)]);
        const reopened = await engine.operationRow(operationId);
        expect(reopened).toMatchObject({ outcome: 'complete' });
        expect(reopened!.completedAt!.getTime()).toBeGreaterThan(settled!.completedAt!.getTime());
      },
    );

    it('reopens even when the caller read the delivery before it failed (a timeout settled the operation in between)', async () => {
      const { operationId, deliveryIds } = await engine.operation([
        { status: 'pending', channel: 'frontchannel_saml_native' },
        { status: 'succeeded' },
      ]);
      const readEarly = (await operations.delivery(deliveryIds[0]))!; // pending, as the SP's answer arrives
      await operations.recordFrontchannel(readEarly, {
        ok: false,
        error: 'the application did not answer in time',
        messageId: null,
      });
      expect(await engine.operationRow(operationId)).toMatchObject({ outcome: 'partial' });

      await operations.recordFrontchannel(readEarly, { ok: true, error: null, messageId: '_late' }, [
        'pending',
        'failed',
      ]);
      expect(await engine.operationRow(operationId)).toMatchObject({ outcome: 'complete' });
      // Both records are in the log: the stale copy did not overwrite the timeout's entry.
      expect((await engine.deliveries(operationId))[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(
        (await engine.deliveries(operationId))[0].attemptLog.map((entry: { result: string }) => entry.result),
      ).toEqual(['failed', 'succeeded']);
    });

    it('does not reopen for a late refusal: the delivery stays failed and the outcome stands', async () => {
      const { operationId, deliveryIds } = await engine.operation([
        { status: 'failed', channel: 'frontchannel_saml_native' },
        { status: 'succeeded' },
      ]);
      await operations.settle(operationId);
      const settled = await engine.operationRow(operationId);
      const late = (await operations.delivery(deliveryIds[0]))!;
      await operations.recordFrontchannel(late, { ok: false, error: 'the SP answered Responder', messageId: '_late' }, [
        'pending',
        'failed',
      ]);
      expect(await engine.deliveries(operationId)).toEqual([
        expect.objectContaining({ status: 'failed', lastError: 'the SP answered Responder', attempts: 2 }),
        expect.objectContaining({ status: 'succeeded' }),
      ]);
      expect(await engine.operationRow(operationId)).toEqual(settled);
    });

    it('ignores a late confirmation when `failed` is not among `from` (a page load cannot revive a delivery)', async () => {
      const { operationId, deliveryIds } = await engine.operation([{ status: 'failed', channel: 'frontchannel_oidc' }]);
      await operations.settle(operationId);
      const late = (await operations.delivery(deliveryIds[0]))!;
      await operations.recordFrontchannel(late, { ok: true, error: null, messageId: null });
      expect(await statuses(operationId)).toEqual(['failed']);
      expect(await engine.operationRow(operationId)).toMatchObject({ outcome: 'failed' });
    });
  });

  describe('failAbandonedFrontchannel', () => {
    it('fails front-channel deliveries pending longer than asked, settles their operations, and leaves the rest', async () => {
      const hourAgo = new Date(engine.clock.now().getTime() - 3_600_000);
      const old = await engine.operation([
        { status: 'pending', channel: 'frontchannel_oidc', createdAt: hourAgo },
        { status: 'pending', channel: 'frontchannel_saml_native', createdAt: new Date(hourAgo.getTime() + 1) },
        { status: 'succeeded', channel: 'backchannel_oidc', createdAt: new Date(hourAgo.getTime() + 2) },
      ]);
      const oldBackchannel = await engine.operation([
        { status: 'pending', channel: 'backchannel_saml', createdAt: hourAgo },
      ]);
      const fresh = await engine.operation([{ status: 'pending', channel: 'frontchannel_oidc' }]);

      expect(await operations.failAbandonedFrontchannel(30 * 60_000)).toBe(2);

      const abandoned = await engine.deliveries(old.operationId);
      expect(abandoned.map((row) => row.status)).toEqual(['failed', 'failed', 'succeeded']);
      expect(abandoned[0].lastError).toBe(
        'the logout page never reported (the browser left, or ran no script): whether the application was told is unknown',
      );
      expect(await engine.operationRow(old.operationId)).toMatchObject({ outcome: 'partial' });
      // A back channel is the worker's to finish, however old; a fresh front channel may still report.
      expect(await statuses(oldBackchannel.operationId)).toEqual(['pending']);
      expect(await statuses(fresh.operationId)).toEqual(['pending']);
      expect(await engine.operationRow(fresh.operationId)).toMatchObject({ completedAt: null });

      expect(await operations.failAbandonedFrontchannel(30 * 60_000)).toBe(0);
    });
  });

  describe('awaitOutcome', () => {
    it('returns the outcome of a completed operation at once', async () => {
      const { operationId } = await engine.operation([{ status: 'succeeded' }, { status: 'failed' }]);
      await operations.settle(operationId);
      const started = Date.now();
      expect(await operations.awaitOutcome(operationId, 5000)).toBe('partial');
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('waits for an operation that completes meanwhile', async () => {
      const { operationId, deliveryIds } = await engine.operation([
        { status: 'pending', channel: 'frontchannel_oidc' },
      ]);
      setTimeout(
        () =>
          void operations
            .delivery(deliveryIds[0])
            .then((delivery) => operations.recordFrontchannel(delivery!, { ok: true, error: null, messageId: null })),
        150,
      );
      expect(await operations.awaitOutcome(operationId, 5000)).toBe('complete');
    });

    it('says `open` when the operation is not complete after the wait', async () => {
      const { operationId } = await engine.operation([{ status: 'pending', channel: 'frontchannel_oidc' }]);
      const started = Date.now();
      expect(await operations.awaitOutcome(operationId, 250)).toBe('open');
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    });

    it('says `gone` when the operation vanishes while it waits', async () => {
      const { operationId } = await engine.operation([{ status: 'pending', channel: 'frontchannel_oidc' }]);
      setTimeout(() => void engine.db.getRepository(LogoutOperation).delete({ id: operationId }), 150);
      expect(await operations.awaitOutcome(operationId, 5000)).toBe('gone');
    });

    it('is null for an operation another application started, or none at all; the initiator gets its outcome', async () => {
      const first = await engine.login([
        { protocol: 'saml', channels: [] },
        { protocol: 'saml', channels: [] },
      ]);
      const [initiator, other] = first.providers;
      const { operationId } = await engine.operation([{ status: 'succeeded' }], initiator.id);
      await operations.settle(operationId);
      expect(await operations.awaitOutcome(operationId, 5000, other.id)).toBeNull();
      expect(await operations.awaitOutcome('00000000-0000-4000-8000-000000000000', 5000)).toBeNull();
      expect(await operations.awaitOutcome(operationId, 5000, initiator.id)).toBe('complete');
    });
  });
});
