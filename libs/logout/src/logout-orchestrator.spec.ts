import { AuditEvent, IdpSession, LogoutOperation, Metrics, ProviderSession } from '@signoff/core';
import { sampleOf } from '../../../test/support/metrics-text';
import { DeliveryQueue } from '@signoff/dispatch';
import { NO_BROWSER_REASON } from './delivery-plan';
import { type EndSessionsRequest, LogoutOrchestrator } from './logout-orchestrator';
import { type Engine, type Login, startEngine } from '../../../test/support/logout-engine';

// The orchestrator writes the delivery plan in the transaction that ends the sessions; the relay
// then hands the back-channel rows to the real queue (Redis).
describe('LogoutOrchestrator', () => {
  let engine: Engine;
  let orchestrator: LogoutOrchestrator;

  beforeAll(async () => {
    engine = await startEngine();
    orchestrator = engine.get(LogoutOrchestrator);
  });
  afterAll(() => engine.close());

  function fullLogout(login: Login, withBrowser: boolean): EndSessionsRequest {
    return {
      trigger: 'user_logout',
      initiator: { type: 'user', id: login.user.id },
      reason: 'logout',
      idpSessionIds: [login.idpSession.id],
      withBrowser,
    };
  }

  const brief = (
    rows: Array<{ providerSessionId: string | null; channel: string; status: string; lastError: string | null }>,
  ) =>
    rows
      .map((row) => [row.providerSessionId, row.channel, row.status, row.lastError])
      .sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`));

  it('without a browser: ends the sessions, writes the plan (front channels skipped at once) and hands the back channel to the queue', async () => {
    const login = await engine.login([
      { protocol: 'oidc', channels: ['backchannel_oidc', 'frontchannel_oidc'] },
      { protocol: 'saml', channels: ['frontchannel_saml_iframe'] },
    ]);
    const [oidc, saml] = login.providerSessions;
    const started = await orchestrator.endSessions(fullLogout(login, false));

    expect(started).toMatchObject({ trigger: 'user_logout', idpSessionIds: [login.idpSession.id] });
    expect(await engine.db.getRepository(IdpSession).findOneByOrFail({ id: login.idpSession.id })).toMatchObject({
      endReason: 'logout',
      endedAt: expect.any(Date),
    });
    expect(
      (await engine.db.getRepository(ProviderSession).findBy({ idpSessionId: login.idpSession.id })).map(
        (session) => session.state,
      ),
    ).toEqual(['ended', 'ended']);

    // The back-channel row is the relay's after the commit: eventually queued, in a job of first attempts.
    const backchannel = await eventually(async () => {
      const row = (await engine.deliveries(started.id)).find((delivery) => delivery.channel === 'backchannel_oidc')!;
      return row.status === 'queued' ? row : null;
    });
    const jobs = await engine.get(DeliveryQueue).instance.getJobs(['prioritized', 'waiting', 'delayed']);
    expect(jobs.filter((job) => job.data.deliveryIds.includes(backchannel.id))).toMatchObject([
      { data: { deliveryIds: [backchannel.id] }, opts: { priority: expect.any(Number) } },
    ]);
    expect(brief(await engine.deliveries(started.id))).toEqual(
      brief([
        { providerSessionId: oidc.id, channel: 'backchannel_oidc', status: 'queued', lastError: null },
        { providerSessionId: oidc.id, channel: 'frontchannel_oidc', status: 'skipped', lastError: NO_BROWSER_REASON },
        {
          providerSessionId: saml.id,
          channel: 'frontchannel_saml_iframe',
          status: 'skipped',
          lastError: NO_BROWSER_REASON,
        },
      ]),
    );
    // The back channel is still under way: the operation stays open.
    expect(await engine.operationRow(started.id)).toMatchObject({ completedAt: null, outcome: null });
  });

  it('settles in the same transaction when nothing is under way: only front channels and no browser → partial', async () => {
    const login = await engine.login([{ protocol: 'oidc', channels: ['frontchannel_oidc'] }]);
    const started = await orchestrator.endSessions(fullLogout(login, false));
    expect(await engine.operationRow(started.id)).toMatchObject({ outcome: 'partial', completedAt: expect.any(Date) });
  });

  it("records the start in the audit log with the plan's size", async () => {
    const login = await engine.login([
      { protocol: 'oidc', channels: ['frontchannel_oidc'] },
      { protocol: 'saml', channels: [] },
    ]);
    const started = await orchestrator.endSessions(fullLogout(login, true));
    const event = await engine.db
      .getRepository(AuditEvent)
      .findOneByOrFail({ action: 'logout.started', targetId: started.id });
    expect(event.details).toEqual({ trigger: 'user_logout', idpSessions: 1, providerSessions: 2, deliveries: 1 });
  });

  it("is one transaction: when a protocol's bookkeeping fails, no session ends and no operation or delivery is written", async () => {
    const login = await engine.login([{ protocol: 'saml', channels: ['frontchannel_saml_native'] }]);
    engine.protocols.saml.failBookkeeping = new Error('bookkeeping failed');
    try {
      await expect(orchestrator.endSessions(fullLogout(login, true))).rejects.toThrow('bookkeeping failed');
    } finally {
      engine.protocols.saml.failBookkeeping = null;
    }
    expect(await engine.db.getRepository(IdpSession).findOneByOrFail({ id: login.idpSession.id })).toMatchObject({
      endedAt: null,
    });
    expect(
      (await engine.db.getRepository(ProviderSession).findBy({ idpSessionId: login.idpSession.id })).map(
        (session) => session.state,
      ),
    ).toEqual(['active']);
    expect(await engine.db.getRepository(LogoutOperation).countBy({ initiatorId: login.user.id })).toBe(0);
    expect(
      await engine.db.query('SELECT COUNT(*) AS n FROM logout_deliveries WHERE provider_session_id = ?', [
        login.providerSessions[0].id,
      ]),
    ).toEqual([{ n: 0 }]);
  });

  /** A counter's value now (0 before its first count). */
  const counted = async (name: string, labels: Record<string, string>) =>
    sampleOf((await engine.get(Metrics).exposition()).body, name, labels) ?? 0;

  it('counts a logout in the metrics once its transaction has committed, not one the caller rolled back', async () => {
    const startedTotal = () => counted('signoff_logout_operations_started_total', { trigger: 'user_logout' });
    const before = await startedTotal();
    // A caller that fails after writing the logout in its transaction (a deactivation's later step).
    const rolledBack = await engine.login([{ protocol: 'oidc', channels: ['backchannel_oidc'] }]);
    await expect(
      engine.db.transaction(async (tx) => {
        await orchestrator.endSessionsIn(tx, fullLogout(rolledBack, false));
        throw new Error('the caller failed after the logout was written');
      }),
    ).rejects.toThrow('the caller failed');
    expect((await startedTotal()) - before).toBe(0);
    const committed = await engine.login([{ protocol: 'oidc', channels: ['backchannel_oidc'] }]);
    await orchestrator.endSessions(fullLogout(committed, false));
    expect((await startedTotal()) - before).toBe(1);
  });

  it('counts a logout that ends at once (nothing to deliver) as ended only once its transaction has committed', async () => {
    const endedTotal = () => counted('signoff_logout_operations_ended_total', { outcome: 'complete' });
    const before = await endedTotal();
    // No application: the operation completes inside the logout's own transaction.
    const rolledBack = await engine.login([]);
    await expect(
      engine.db.transaction(async (tx) => {
        await orchestrator.endSessionsIn(tx, fullLogout(rolledBack, false));
        throw new Error('the caller failed after the logout was written');
      }),
    ).rejects.toThrow('the caller failed');
    expect(await engine.db.getRepository(LogoutOperation).countBy({ initiatorId: rolledBack.user.id })).toBe(0);
    expect((await endedTotal()) - before).toBe(0);
    const committed = await engine.login([]);
    const operation = await orchestrator.endSessions(fullLogout(committed, false));
    expect(await engine.db.getRepository(LogoutOperation).findOneByOrFail({ id: operation.id })).toMatchObject({
      outcome: 'complete',
    });
    expect((await endedTotal()) - before).toBe(1);
  });
});

/** Polls `probe` until it returns something (2 s at most). */
async function eventually<T>(probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const found = await probe();
    if (found) return found;
    if (Date.now() > deadline) throw new Error('eventually: the condition never held');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
