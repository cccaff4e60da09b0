import { DEFAULT_FLOWS, IdpSession, LogoutOperation, ProviderSession } from '@signoff/core';
import { type FlowContext, FlowExecutor } from './flow-executor';
import { type Engine, type Login, startEngine } from '../../../test/support/logout-engine';

// Flows from the database (the default ones from the migration, or seeded per test), run against
// real sessions: the logout stages go through the orchestrator and leave rows behind.
describe('FlowExecutor', () => {
  let engine: Engine;
  let executor: FlowExecutor;

  beforeAll(async () => {
    engine = await startEngine();
    executor = engine.get(FlowExecutor);
  });
  afterAll(() => engine.close());

  function contextFor(login: Login, overrides: Partial<FlowContext> = {}): FlowContext {
    return {
      trigger: 'user_logout',
      initiator: { type: 'user', id: login.user.id },
      idpSessionIds: [login.idpSession.id],
      initiatingProviderSessionId: null,
      interactive: true,
      ...overrides,
    };
  }

  const idpSessionOf = (login: Login) =>
    engine.db.getRepository(IdpSession).findOneByOrFail({ id: login.idpSession.id });
  const providerSessionsOf = (login: Login) =>
    engine.db
      .getRepository(ProviderSession)
      .find({ where: { idpSessionId: login.idpSession.id }, order: { createdAt: 'ASC' } });
  const operationsOf = async (login: Login) =>
    (await engine.db.getRepository(LogoutOperation).find()).filter(
      (operation) => operation.initiatorId === login.user.id,
    );

  it("picks the provider's own flow, else the default for who started the logout", () => {
    expect(executor.flowFor('own-flow', true)).toBe('own-flow');
    expect(executor.flowFor(null, true)).toBe(DEFAULT_FLOWS.providerInvalidation);
    expect(executor.flowFor(null, false)).toBe(DEFAULT_FLOWS.invalidation);
  });

  it('runs the default invalidation flow (from the migration): full SLO, one operation with its deliveries', async () => {
    const login = await engine.login([
      { protocol: 'oidc', channels: ['frontchannel_oidc'] },
      { protocol: 'saml', channels: ['frontchannel_saml_native'] },
    ]);
    const step = await executor.run(DEFAULT_FLOWS.invalidation, contextFor(login));
    expect(step).toEqual({ kind: 'done', operationId: expect.any(String), redirectTo: null });
    expect(await idpSessionOf(login)).toMatchObject({ endedAt: expect.any(Date), endReason: 'logout' });
    expect((await providerSessionsOf(login)).map((session) => session.state)).toEqual(['ended', 'ended']);
    const deliveries = await engine.db.query(
      'SELECT channel, status FROM logout_deliveries WHERE operation_id = ? ORDER BY channel',
      [step.operationId],
    );
    expect(deliveries).toEqual([
      { channel: 'frontchannel_oidc', status: 'pending' },
      { channel: 'frontchannel_saml_native', status: 'pending' },
    ]);
  });

  it('runs the stages by their binding order, not the order they were bound in', async () => {
    const login = await engine.login();
    const flowId = await engine.flow([
      { kind: 'redirect', config: { url: '/bound-first-runs-last' }, order: 20 },
      { kind: 'redirect', config: { url: '/bound-last-runs-first' }, order: 10 },
    ]);
    expect(await executor.run(flowId, contextFor(login))).toEqual({
      kind: 'done',
      operationId: null,
      redirectTo: '/bound-first-runs-last',
    });
  });

  it.each([
    ['confirm', { text: 'Sign out of everything?' }, 'Sign out of everything?'],
    ['confirm', {}, 'Do you want to sign out?'],
    ['message', { text: 'Bye.' }, 'Bye.'],
    ['message', {}, 'You are being signed out.'],
  ] as const)(
    'stops at a `%s` stage (config %j) before anything ends, to resume after it',
    async (kind, config, text) => {
      const login = await engine.login([{ protocol: 'oidc', channels: ['frontchannel_oidc'] }]);
      const flowId = await engine.flow([{ kind, config }, { kind: 'user_logout' }]);
      expect(await executor.run(flowId, contextFor(login))).toEqual({ kind, text, resumeAt: 1, operationId: null });
      expect(await idpSessionOf(login)).toMatchObject({ endedAt: null });
      expect(await operationsOf(login)).toEqual([]);
    },
  );

  it('skips `confirm` and `message` without a browser, and the front channel is skipped for want of one', async () => {
    const login = await engine.login([{ protocol: 'oidc', channels: ['frontchannel_oidc'] }]);
    const flowId = await engine.flow([{ kind: 'confirm' }, { kind: 'message' }, { kind: 'user_logout' }]);
    const step = await executor.run(flowId, contextFor(login, { interactive: false }));
    expect(step).toEqual({ kind: 'done', operationId: expect.any(String), redirectTo: null });
    expect(await idpSessionOf(login)).toMatchObject({ endedAt: expect.any(Date) });
    expect(await engine.deliveries(step.operationId!)).toEqual([
      expect.objectContaining({ channel: 'frontchannel_oidc', status: 'skipped' }),
    ]);
    expect(await engine.operationRow(step.operationId!)).toMatchObject({ outcome: 'partial' });
  });

  it('resuming at resumeAt runs the rest and keeps the operation an earlier stage started', async () => {
    const login = await engine.login([{ protocol: 'oidc', channels: ['frontchannel_oidc'] }]);
    const flowId = await engine.flow([
      { kind: 'user_logout' },
      { kind: 'message', config: { text: 'Signed out.' } },
      { kind: 'redirect', config: { url: '/after' } },
    ]);
    const context = contextFor(login);
    const paused = await executor.run(flowId, context);
    expect(paused).toEqual({ kind: 'message', text: 'Signed out.', resumeAt: 2, operationId: expect.any(String) });
    expect(await idpSessionOf(login)).toMatchObject({ endedAt: expect.any(Date) });

    const done = await executor.run(
      flowId,
      context,
      paused.kind === 'message' ? paused.resumeAt : -1,
      paused.operationId,
    );
    expect(done).toEqual({ kind: 'done', operationId: paused.operationId, redirectTo: '/after' });
    expect(await operationsOf(login)).toHaveLength(1);
  });

  it('`provider_logout` without an initiating session does nothing', async () => {
    const login = await engine.login([{ protocol: 'oidc', channels: ['frontchannel_oidc'] }]);
    const flowId = await engine.flow([{ kind: 'provider_logout' }]);
    expect(await executor.run(flowId, contextFor(login))).toEqual({
      kind: 'done',
      operationId: null,
      redirectTo: null,
    });
    expect(await idpSessionOf(login)).toMatchObject({ endedAt: null });
    expect((await providerSessionsOf(login)).map((session) => session.state)).toEqual(['active']);
    expect(await operationsOf(login)).toEqual([]);
  });

  it("`provider_logout` ends only the initiating application's session; the IdP session and the other applications stay", async () => {
    const login = await engine.login([
      { protocol: 'oidc', channels: ['backchannel_oidc'] },
      { protocol: 'oidc', channels: ['backchannel_oidc'] },
    ]);
    const [initiating] = login.providerSessions;
    const flowId = await engine.flow([{ kind: 'provider_logout' }]);
    const step = await executor.run(
      flowId,
      contextFor(login, { trigger: 'rp_initiated', initiatingProviderSessionId: initiating.id }),
    );
    expect(step).toEqual({ kind: 'done', operationId: expect.any(String), redirectTo: null });
    expect(await idpSessionOf(login)).toMatchObject({ endedAt: null });
    expect((await providerSessionsOf(login)).map((session) => session.state)).toEqual(['ended', 'active']);
    // The initiator's protocol left it out: nobody is told, and the operation completes at once.
    expect(await engine.deliveries(step.operationId!)).toEqual([]);
    expect(await engine.operationRow(step.operationId!)).toMatchObject({
      initiatingProviderId: login.providers[0].id,
      outcome: 'complete',
    });
  });

  it('a `redirect` stage sets where the browser goes at the end', async () => {
    const login = await engine.login();
    const flowId = await engine.flow([
      { kind: 'user_logout' },
      { kind: 'redirect', config: { url: 'https://intranet.example/bye' } },
    ]);
    expect(await executor.run(flowId, contextFor(login))).toEqual({
      kind: 'done',
      operationId: expect.any(String),
      redirectTo: 'https://intranet.example/bye',
    });
  });

  it('refuses a flow that does not exist', async () => {
    const login = await engine.login();
    await expect(executor.run('00000000-0000-4000-8000-000000000000', contextFor(login))).rejects.toThrow(
      'does not exist',
    );
  });
});
