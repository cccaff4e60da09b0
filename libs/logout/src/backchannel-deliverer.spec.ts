import { LogoutDelivery } from '@signoff/core';
import { DeliveryQueue } from '@signoff/dispatch';
import { In } from 'typeorm';
import { BackchannelDeliverer, RunAgainLater } from './backchannel-deliverer';
import { type Engine, startEngine } from '../../../test/support/logout-engine';

describe('BackchannelDeliverer', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine({ DELIVERY_TIMEOUT: '200ms' });
  });
  afterEach(() => {
    engine.protocols.oidc.duringAttempt = null;
  });
  afterAll(() => engine.close());

  const row = (id: string) => engine.db.getRepository(LogoutDelivery).findOneByOrFail({ id });

  it.each([
    ['an administrator retried it (pending, no attempts)', { status: 'pending' as const, attempts: 0 }],
    ['another worker claimed it again after the lease ran out', { status: 'sending' as const, attempts: 2 }],
  ])('does not record a stale attempt over the row when %s', async (_, meanwhile) => {
    const { operationId, deliveryIds } = await engine.operation([{ status: 'pending', channel: 'backchannel_oidc' }]);
    engine.protocols.oidc.duringAttempt = async () => {
      await engine.db.getRepository(LogoutDelivery).update({ id: deliveryIds[0] }, meanwhile);
    };
    await engine.get(BackchannelDeliverer).deliver([deliveryIds[0]]);
    expect(await row(deliveryIds[0])).toMatchObject({ ...meanwhile, attemptLog: [], completedAt: null });
    expect(await engine.operationRow(operationId)).toMatchObject({ completedAt: null, outcome: null });
  });

  // The test applications live at https://app.test, which does not resolve: every attempt fails, retryably.
  const deliver = (ids: string[]) => engine.get(BackchannelDeliverer).deliver(ids);
  const jobsFor = async (ids: string[]) =>
    (await engine.get(DeliveryQueue).instance.getJobs(['delayed', 'waiting', 'prioritized'])).filter((job) =>
      job.data.deliveryIds.some((id) => ids.includes(id)),
    );

  it('claims a row once when two jobs name it at the same moment', async () => {
    const { deliveryIds } = await engine.operation([{ status: 'pending' }]);
    expect((await Promise.all([deliver(deliveryIds), deliver(deliveryIds)])).sort()).toEqual([0, 1]);
    expect(await row(deliveryIds[0])).toMatchObject({ attempts: 1, attemptLog: [expect.anything()] });
  });

  it('attempts a batch together: each row recorded, their retries in one job delayed by the backoff', async () => {
    const { deliveryIds } = await engine.operation(Array.from({ length: 5 }, () => ({ status: 'pending' as const })));
    expect(await deliver(deliveryIds)).toBe(5);
    const rows = await engine.db.getRepository(LogoutDelivery).findBy({ id: In(deliveryIds) });
    for (const recorded of rows) {
      expect(recorded).toMatchObject({ status: 'queued', attempts: 1, completedAt: null });
      expect(recorded.attemptLog).toEqual([expect.objectContaining({ result: 'queued', error: expect.any(String) })]);
      const waitMs = recorded.nextAttemptAt!.getTime() - recorded.updatedAt.getTime();
      expect(waitMs).toBeGreaterThanOrEqual(500); // attempt 1's backoff: half a second to a second
      expect(waitMs).toBeLessThanOrEqual(1000);
    }
    // One job per group commit (the five results usually share one), delayed by the rows' own wait.
    const jobs = await jobsFor(deliveryIds);
    expect(jobs.flatMap((job) => job.data.deliveryIds).sort()).toEqual([...deliveryIds].sort());
    for (const job of jobs) {
      const first = rows.find((recorded) => recorded.id === job.data.deliveryIds[0])!;
      expect(job.opts.delay).toBe(first.nextAttemptAt!.getTime() - first.updatedAt.getTime());
      expect(job.opts.priority).toBeUndefined(); // a retry goes before the backlog of first attempts
    }
  });

  it('leaves a row whose retry is not due yet to the job that is', async () => {
    const { deliveryIds } = await engine.operation([{ status: 'queued' }]);
    const later = new Date(engine.clock.now().getTime() + 60_000);
    await engine.db.getRepository(LogoutDelivery).update({ id: deliveryIds[0] }, { nextAttemptAt: later });
    expect(await deliver(deliveryIds)).toBe(0);
    expect(await row(deliveryIds[0])).toMatchObject({ status: 'queued', attempts: 0, nextAttemptAt: later });
  });

  it('logs the attempt an interruption cut short (its lease ran out unrecorded), so count and log agree', async () => {
    const { deliveryIds } = await engine.operation([{ status: 'sending' }]);
    const past = new Date(engine.clock.now().getTime() - 1000);
    await engine.db.getRepository(LogoutDelivery).update({ id: deliveryIds[0] }, { attempts: 1, leaseUntil: past });
    expect(await deliver(deliveryIds)).toBe(1);
    const recorded = await row(deliveryIds[0]);
    expect(recorded.attempts).toBe(2);
    expect(recorded.attemptLog.map((entry) => [entry.result, entry.error?.slice(0, 12)])).toEqual([
      ['queued', 'interrupted:'],
      ['queued', expect.not.stringContaining('interrupted')],
    ]);
  });

  it('takes over a row still leased only when the job that holds it runs again (its worker died)', async () => {
    const { deliveryIds } = await engine.operation([{ status: 'sending' }]);
    const now = engine.clock.now().getTime();
    const claimedAt = new Date(now - 10_000);
    await engine.db
      .getRepository(LogoutDelivery)
      .update({ id: deliveryIds[0] }, { attempts: 1, leaseUntil: new Date(now + 60_000), updatedAt: claimedAt });
    const takeOver = (lockMs: number) => engine.get(BackchannelDeliverer).deliver(deliveryIds, { takeOver: lockMs });
    expect(await deliver(deliveryIds)).toBe(0); // another job naming it: the row is someone's
    // Claimed within a lock's time: its run may still be alive, or ended before it recorded (a
    // database away): the job fails, to run again once the row is old enough to take over.
    await expect(takeOver(20_000)).rejects.toBeInstanceOf(RunAgainLater);
    expect(await row(deliveryIds[0])).toMatchObject({ status: 'sending', attempts: 1 });
    expect(await takeOver(7_000)).toBe(1);
    expect(await row(deliveryIds[0])).toMatchObject({
      attempts: 2,
      attemptLog: [expect.anything(), expect.anything()],
    });
  });

  it('declares a delivery dead after its last attempt, and settles its operation', async () => {
    const { operationId, deliveryIds } = await engine.operation([{ status: 'queued' }]);
    await engine.db
      .getRepository(LogoutDelivery)
      .update({ id: deliveryIds[0] }, { attempts: engine.config.delivery.attempts - 1 });
    expect(await deliver(deliveryIds)).toBe(1);
    expect(await row(deliveryIds[0])).toMatchObject({ status: 'dead', completedAt: expect.any(Date) });
    expect(await engine.operationRow(operationId)).toMatchObject({ outcome: 'failed', completedAt: expect.any(Date) });
    expect(await jobsFor(deliveryIds)).toEqual([]);
  });

  it('settles an operation whose last delivery ends just after an earlier one settled it (within the settle window)', async () => {
    const { operationId, deliveryIds } = await engine.operation([{ status: 'queued' }, { status: 'queued' }]);
    await engine.db
      .getRepository(LogoutDelivery)
      .update({ id: In(deliveryIds) }, { attempts: engine.config.delivery.attempts - 1 });
    // The first ends: the operation is settled at once, still open. The second ends a moment later,
    // within the window in which the operation is not settled again at once.
    expect(await deliver([deliveryIds[0]])).toBe(1);
    expect(await engine.operationRow(operationId)).toMatchObject({ completedAt: null });
    expect(await deliver([deliveryIds[1]])).toBe(1);
    // ... yet it is settled: once, at the end of that window.
    const deadline = Date.now() + 2000;
    while (!(await engine.operationRow(operationId))?.completedAt && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await engine.operationRow(operationId)).toMatchObject({ outcome: 'failed', completedAt: expect.any(Date) });
  });

  it('records an attempt that still holds the row', async () => {
    const { deliveryIds } = await engine.operation([{ status: 'pending', channel: 'backchannel_oidc' }]);
    await engine.get(BackchannelDeliverer).deliver([deliveryIds[0]]);
    const recorded = await row(deliveryIds[0]);
    expect(recorded.attempts).toBe(1);
    expect(recorded.attemptLog).toHaveLength(1);
    expect(recorded.status).not.toBe('sending');
  });
});
