import { AuditEvent, LogoutDelivery, LogoutOperationUser, SignoffError } from '@signoff/core';
import { LogoutOperationsService } from './logout-operations.service';
import { type Engine, startEngine } from '../../../test/support/logout-engine';

// What the admin console does with the books: list, retry, count. Its own engine (database), since a
// retry kicks the relay, which hands out every pending back-channel row it finds.
describe('LogoutOperationsService for administrators', () => {
  let engine: Engine;
  let operations: LogoutOperationsService;
  const admin = { type: 'admin' as const, id: 'admin-1' };

  beforeAll(async () => {
    engine = await startEngine();
    operations = engine.get(LogoutOperationsService);
  });
  afterAll(() => engine.close());

  const row = (id: string) => engine.db.getRepository(LogoutDelivery).findOneByOrFail({ id });

  describe('retryDelivery', () => {
    it('puts a dead back-channel delivery back in the outbox: pending, no attempts, log kept; reopens the operation; audits', async () => {
      const { operationId, deliveryIds } = await engine.operation([{ status: 'dead' }, { status: 'succeeded' }]);
      const log = [
        {
          at: new Date().toISOString(),
          ms: 5,
          httpStatus: 503,
          result: 'dead' as const,
          error: 'HTTP 503',
          messageId: 'm1',
        },
      ];
      await engine.db
        .getRepository(LogoutDelivery)
        .update({ id: deliveryIds[0] }, { attemptLog: log, nextAttemptAt: new Date(), leaseUntil: new Date() });
      await operations.settle(operationId);
      expect(await engine.operationRow(operationId)).toMatchObject({ outcome: 'partial' });

      const retried = await operations.retryDelivery(deliveryIds[0], admin);
      expect(retried).toMatchObject({ id: deliveryIds[0], attempts: 0, attemptLog: log, provider: expect.any(Object) });
      // The relay (kicked) may have queued it meanwhile; either way it is open again, with nothing of the old run's timing.
      expect(['pending', 'queued']).toContain((await row(deliveryIds[0])).status);
      expect(await row(deliveryIds[0])).toMatchObject({ attempts: 0, completedAt: null, nextAttemptAt: null });
      expect(await engine.operationRow(operationId)).toMatchObject({ outcome: null, completedAt: null });
      const events = await engine.db
        .getRepository(AuditEvent)
        .findBy({ action: 'logout.delivery_retried', targetId: deliveryIds[0] });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        actorType: 'admin',
        actorId: 'admin-1',
        details: expect.objectContaining({ operationId, was: 'dead', attempts: 1 }),
      });
    });

    it.each([
      ['succeeded', 'backchannel_oidc', /this one is succeeded/],
      ['pending', 'backchannel_saml', /this one is pending/],
      ['failed', 'frontchannel_oidc', /browser/],
      ['failed', 'frontchannel_saml_native', /browser/],
    ] as const)(
      'refuses a %s %s delivery with delivery_not_retryable and changes nothing',
      async (status, channel, why) => {
        const { operationId, deliveryIds } = await engine.operation([{ status, channel }]);
        const before = await row(deliveryIds[0]);
        const refused = await operations.retryDelivery(deliveryIds[0], admin).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(SignoffError);
        expect(refused).toMatchObject({
          code: 'delivery_not_retryable',
          status: 409,
          message: expect.stringMatching(why),
        });
        expect(await row(deliveryIds[0])).toEqual(before);
        expect(
          await engine.db
            .getRepository(AuditEvent)
            .countBy({ action: 'logout.delivery_retried', targetId: deliveryIds[0] }),
        ).toBe(0);
        expect(await engine.operationRow(operationId)).toMatchObject({ completedAt: null });
      },
    );

    it('refuses a second retry of the same delivery: it is open again, and audited once', async () => {
      const { deliveryIds } = await engine.operation([{ status: 'failed' }]);
      await operations.retryDelivery(deliveryIds[0], admin);
      await expect(operations.retryDelivery(deliveryIds[0], admin)).rejects.toMatchObject({
        code: 'delivery_not_retryable',
      });
      expect(
        await engine.db
          .getRepository(AuditEvent)
          .countBy({ action: 'logout.delivery_retried', targetId: deliveryIds[0] }),
      ).toBe(1);
    });

    it('answers not_found for a delivery that does not exist', async () => {
      await expect(operations.retryDelivery('00000000-0000-4000-8000-000000000000', admin)).rejects.toMatchObject({
        code: 'not_found',
      });
    });
  });

  describe('retryOperation', () => {
    it('retries the failed and dead back-channel deliveries only', async () => {
      const { deliveryIds } = await engine.operation([
        { status: 'failed' },
        { status: 'dead', channel: 'backchannel_saml' },
        { status: 'succeeded' },
        { status: 'failed', channel: 'frontchannel_saml_iframe' },
        { status: 'skipped', channel: 'frontchannel_oidc' },
      ]);
      const { operationId } = await row(deliveryIds[0]);
      expect(await operations.retryOperation(operationId, admin)).toEqual({
        retried: [deliveryIds[0], deliveryIds[1]],
      });
      expect((await engine.deliveries(operationId)).map((delivery) => delivery.status)).toEqual([
        expect.stringMatching(/^(pending|queued)$/),
        expect.stringMatching(/^(pending|queued)$/),
        'succeeded',
        'failed',
        'skipped',
      ]);
      expect(await operations.retryOperation(operationId, admin)).toEqual({ retried: [] });
    });
  });

  describe('list', () => {
    it('filters by trigger, outcome, user, provider, delivery status and time; counts deliveries by status; newest first', async () => {
      const early = await engine.operation([{ status: 'succeeded' }, { status: 'dead' }]);
      engine.clock.advance(1000);
      const late = await engine.operation([{ status: 'pending' }]);
      await operations.settle(early.operationId);
      await engine.db
        .getRepository(LogoutOperationUser)
        .insert({ operationId: late.operationId, userId: late.login.user.id });
      const ids = (items: Array<{ id: string }>) => items.map((item) => item.id);
      const mine = [late.operationId, early.operationId];
      const page = { limit: 200, offset: 0 };

      const all = await operations.list({}, page);
      expect(ids(all.items).filter((id) => mine.includes(id))).toEqual(mine);
      expect(all.items.find((item) => item.id === early.operationId)).toMatchObject({
        outcome: 'partial',
        userIds: [],
        deliveryCounts: { succeeded: 1, dead: 1 },
      });
      expect(all.items.find((item) => item.id === late.operationId)).toMatchObject({
        userIds: [late.login.user.id],
        deliveryCounts: { pending: 1 },
      });
      expect(ids((await operations.list({ userId: late.login.user.id }, page)).items)).toEqual([late.operationId]);
      expect(ids((await operations.list({ providerId: early.login.providers[1].id }, page)).items)).toEqual([
        early.operationId,
      ]);
      expect(ids((await operations.list({ deliveryStatus: 'dead' }, page)).items)).toContain(early.operationId);
      expect(ids((await operations.list({ deliveryStatus: 'dead' }, page)).items)).not.toContain(late.operationId);
      expect(ids((await operations.list({ outcome: 'open' }, page)).items)).toContain(late.operationId);
      expect(ids((await operations.list({ outcome: 'open' }, page)).items)).not.toContain(early.operationId);
      expect(ids((await operations.list({ outcome: 'partial', trigger: 'user_logout' }, page)).items)).toContain(
        early.operationId,
      );
      expect((await operations.list({ trigger: 'expiry' }, page)).total).toBe(0);
      const lateAt = (await engine.operationRow(late.operationId))!.createdAt;
      const since = await operations.list({ since: lateAt }, page);
      expect(ids(since.items)).toContain(late.operationId);
      expect(ids(since.items)).not.toContain(early.operationId);
      expect(ids((await operations.list({ until: lateAt }, page)).items)).toContain(early.operationId);
      expect(ids((await operations.list({ until: lateAt }, page)).items)).not.toContain(late.operationId);
      const paged = await operations.list({}, { limit: 1, offset: 1 });
      expect(paged).toMatchObject({ total: all.total, items: [expect.objectContaining({ id: all.items[1].id })] });
    });
  });

  describe('dashboard', () => {
    it('counts the last 24 hours by outcome, failing and dead deliveries, and the outbox', async () => {
      engine.clock.advance(2 * 86_400_000); // past every operation seeded above
      const now = engine.clock.now();
      expect(await operations.dashboard(now)).toMatchObject({
        operationsLast24h: { complete: 0, partial: 0, failed: 0, open: 0 },
        deliveriesFailing: 0,
        deliveriesDead: 0,
      });
      const failed = await engine.operation([{ status: 'failed' }, { status: 'dead' }]);
      await operations.settle(failed.operationId);
      await engine.operation([{ status: 'succeeded' }, { status: 'pending', channel: 'frontchannel_oidc' }]);
      const open = await engine.operation([{ status: 'queued' }]);
      const numbers = await operations.dashboard(engine.clock.now());
      expect(numbers).toMatchObject({
        operationsLast24h: { complete: 0, partial: 0, failed: 1, open: 2 },
        deliveriesFailing: 1,
        deliveriesDead: 1,
      });
      // The outbox counts every open back-channel row, old ones too (front-channel ones wait for a browser, not the queue).
      const outboxRows = await engine.db.getRepository(LogoutDelivery).find({
        where: [
          { status: 'pending', channel: 'backchannel_oidc' },
          { status: 'queued', channel: 'backchannel_oidc' },
          { status: 'pending', channel: 'backchannel_saml' },
          { status: 'queued', channel: 'backchannel_saml' },
          { status: 'sending', channel: 'backchannel_oidc' },
          { status: 'sending', channel: 'backchannel_saml' },
        ],
        order: { createdAt: 'ASC' },
      });
      expect(outboxRows.map((delivery) => delivery.id)).toContain((await engine.deliveries(open.operationId))[0].id);
      expect(numbers.outbox).toEqual({ pending: outboxRows.length, oldestPendingAt: outboxRows[0].createdAt });
    });
  });
});
