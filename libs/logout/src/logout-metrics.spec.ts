import { Logger } from '@nestjs/common';
import { BACKCHANNELS, LogoutDelivery, Metrics } from '@signoff/core';
import { In } from 'typeorm';
import { sampleOf } from '../../../test/support/metrics-text';
import { type Engine, startEngine } from '../../../test/support/logout-engine';
import { BackchannelDeliverer } from './backchannel-deliverer';
import { LogoutMetrics } from './logout-metrics';
import { LogoutOperationsService } from './logout-operations.service';

// The engine's own counting, through the real deliverer, recorder and books (SQLite, Redis). The test
// applications live at https://app.test, which does not resolve: every back-channel attempt fails, retryably.
describe('LogoutMetrics', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine({ DELIVERY_TIMEOUT: '200ms' });
    // compile() runs no lifecycle hooks: hand Metrics the scrape-time readers as the app's start does.
    engine.get(LogoutMetrics).onModuleInit();
  });
  afterEach(() => {
    engine.protocols.oidc.duringAttempt = null;
  });
  afterAll(() => engine.close());

  const scrape = async () => (await engine.get(Metrics).exposition()).body;
  /** How much a sample grew while `work` ran. */
  async function growth(work: () => Promise<unknown>, name: string, labels: Record<string, string>) {
    const before = sampleOf(await scrape(), name, labels) ?? 0;
    await work();
    return (sampleOf(await scrape(), name, labels) ?? 0) - before;
  }
  const deliver = (ids: string[]) => engine.get(BackchannelDeliverer).deliver(ids);
  const oidc = { channel: 'backchannel_oidc' };

  it('counts a redelivery: an attempt made again on a row left sending after its lease ran out', async () => {
    const { deliveryIds } = await engine.operation([{ status: 'sending' }]);
    const past = new Date(engine.clock.now().getTime() - 1000);
    await engine.db.getRepository(LogoutDelivery).update({ id: deliveryIds[0] }, { attempts: 1, leaseUntil: past });
    const before = await scrape();
    expect(await deliver(deliveryIds)).toBe(1);
    const after = await scrape();
    const grew = (name: string, labels: Record<string, string>) =>
      (sampleOf(after, name, labels) ?? 0) - (sampleOf(before, name, labels) ?? 0);
    expect(grew('signoff_logout_delivery_redeliveries_total', oidc)).toBe(1);
    expect(grew('signoff_logout_delivery_retries_total', oidc)).toBe(1);
    expect(grew('signoff_logout_delivery_attempt_duration_seconds_count', { ...oidc, result: 'retry' })).toBe(1);
    // A first attempt is no redelivery.
    const fresh = await engine.operation([{ status: 'pending' }]);
    expect(await growth(() => deliver(fresh.deliveryIds), 'signoff_logout_delivery_redeliveries_total', oidc)).toBe(0);
  });

  it('counts a dead delivery and the failed operation it ends', async () => {
    const { deliveryIds } = await engine.operation([{ status: 'queued' }]);
    await engine.db
      .getRepository(LogoutDelivery)
      .update({ id: deliveryIds[0] }, { attempts: engine.config.delivery.attempts - 1 });
    const before = await scrape();
    await deliver(deliveryIds);
    const after = await scrape();
    const grew = (name: string, labels: Record<string, string>) =>
      (sampleOf(after, name, labels) ?? 0) - (sampleOf(before, name, labels) ?? 0);
    expect(grew('signoff_logout_deliveries_ended_total', { ...oidc, status: 'dead' })).toBe(1);
    expect(grew('signoff_logout_operations_ended_total', { outcome: 'failed' })).toBe(1);
    expect(grew('signoff_logout_delivery_attempt_duration_seconds_count', { ...oidc, result: 'dead' })).toBe(1);
  });

  it('logs an operation that ends failed at warn, with the operation, each application and the reason', async () => {
    const { operationId, deliveryIds, login } = await engine.operation([{ status: 'queued' }]);
    await engine.db
      .getRepository(LogoutDelivery)
      .update({ id: deliveryIds[0] }, { attempts: engine.config.delivery.attempts - 1 });
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      await deliver(deliveryIds);
      const logged = warn.mock.calls
        .map(([entry]) => entry)
        .find((entry) => entry?.operation === operationId && entry.outcome);
      expect(logged).toMatchObject({
        msg: expect.stringMatching(/^logout failed: 1 of 1 deliveries not confirmed/),
        outcome: 'failed',
        applications: [
          {
            application: login.providers[0].slug,
            channel: 'backchannel_oidc',
            status: 'dead',
            reason: expect.any(String),
          },
        ],
      });
    } finally {
      warn.mockRestore();
    }
  });

  it('does not count an attempt whose record was not taken (the row was retried meanwhile)', async () => {
    const { deliveryIds } = await engine.operation([{ status: 'pending' }]);
    engine.protocols.oidc.duringAttempt = async () => {
      await engine.db.getRepository(LogoutDelivery).update({ id: deliveryIds[0] }, { status: 'pending', attempts: 0 });
    };
    expect(
      await growth(() => deliver(deliveryIds), 'signoff_logout_delivery_attempt_duration_seconds_count', {
        ...oidc,
        result: 'retry',
      }),
    ).toBe(0);
  });

  it('counts front-channel deliveries when the browser reports them', async () => {
    const { deliveryIds } = await engine.operation([{ status: 'pending', channel: 'frontchannel_oidc' }]);
    const operations = engine.get(LogoutOperationsService);
    expect(
      await growth(
        () => operations.recordFrontchannel({ id: deliveryIds[0] }, { ok: true, error: null, messageId: null }),
        'signoff_logout_deliveries_ended_total',
        { channel: 'frontchannel_oidc', status: 'succeeded' },
      ),
    ).toBe(1);
  });

  it('counts an abandoned front channel once, however many sweeps fail it at once', async () => {
    const hourAgo = new Date(engine.clock.now().getTime() - 3_600_000);
    await engine.operation([{ status: 'pending', channel: 'frontchannel_saml_iframe', createdAt: hourAgo }]);
    const operations = engine.get(LogoutOperationsService);
    const sweepTwice = () =>
      Promise.all([operations.failAbandonedFrontchannel(60_000), operations.failAbandonedFrontchannel(60_000)]);
    const failed = { channel: 'frontchannel_saml_iframe', status: 'failed' };
    expect(await growth(sweepTwice, 'signoff_logout_deliveries_ended_total', failed)).toBe(1);
  });

  it('reads the outbox from the table at scrape time: rows by status, and the age of the oldest', async () => {
    const written = engine.clock.now();
    await engine.operation([{ status: 'pending' }, { status: 'pending' }, { status: 'queued' }]);
    engine.clock.advance(120_000);
    const text = await scrape();
    const count = (status: 'pending' | 'queued' | 'sending') =>
      engine.db.getRepository(LogoutDelivery).countBy({ status, channel: In(BACKCHANNELS) });
    for (const status of ['pending', 'queued', 'sending'] as const)
      expect(sampleOf(text, 'signoff_logout_outbox_deliveries', { status })).toBe(await count(status));
    expect(await count('pending')).toBeGreaterThanOrEqual(2);
    // The oldest open row of this engine is at least as old as the ones just written.
    expect(sampleOf(text, 'signoff_logout_outbox_oldest_age_seconds')).toBeGreaterThanOrEqual(
      (engine.clock.now().getTime() - written.getTime()) / 1000 - 1,
    );
    expect(sampleOf(text, 'signoff_metrics_source_up', { source: 'database' })).toBe(1);
    expect(sampleOf(text, 'signoff_metrics_source_up', { source: 'queue' })).toBe(1);
    expect(sampleOf(text, 'signoff_delivery_queue_jobs', { state: 'delayed' })).toBeGreaterThanOrEqual(0);
  });
});
