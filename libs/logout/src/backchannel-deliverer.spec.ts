import { LogoutDelivery } from '@signoff/core';
import { BackchannelDeliverer } from './backchannel-deliverer';
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
    await engine.get(BackchannelDeliverer).attempt(deliveryIds[0]);
    expect(await row(deliveryIds[0])).toMatchObject({ ...meanwhile, attemptLog: [], completedAt: null });
    expect(await engine.operationRow(operationId)).toMatchObject({ completedAt: null, outcome: null });
  });

  it('records an attempt that still holds the row', async () => {
    const { deliveryIds } = await engine.operation([{ status: 'pending', channel: 'backchannel_oidc' }]);
    await engine.get(BackchannelDeliverer).attempt(deliveryIds[0]);
    const recorded = await row(deliveryIds[0]);
    expect(recorded.attempts).toBe(1);
    expect(recorded.attemptLog).toHaveLength(1);
    expect(recorded.status).not.toBe('sending');
  });
});
