import { randomBytes } from 'node:crypto';
import { AuditEvent, LogoutDelivery, LogoutOperation, PendingStore } from '@signoff/core';
import { LogoutJourney, type OwedAnswer } from './logout-journey';
import type { LogoutView } from './logout-views';
import { APP_BASE, type AppSpec, type Engine, type Login, startEngine } from '../../../test/support/logout-engine';

/** Short, so a test can outwait it; long enough that a test's own steps never do by accident. */
const FRONTCHANNEL_TIMEOUT_MS = 1000;
/** The signed-out page with the handle of the logout it sums up. */
const SUMMARY = /^\/logout\/done\?logout=[\w-]+\.[\w-]+$/;

// The journey's front channel with real rows, real Redis (the chain's state, the answer handles) and
// the test protocols: the views it returns and the rows it leaves are the outcomes checked.

describe('LogoutJourney', () => {
  let engine: Engine;
  let journey: LogoutJourney;

  beforeAll(async () => {
    engine = await startEngine({
      FRONTCHANNEL_TIMEOUT: `${FRONTCHANNEL_TIMEOUT_MS}ms`,
      LOGOUT_RETURN_URLS: 'https://*.everywhere.test/bye,https://portal.test/',
    });
    journey = engine.get(LogoutJourney);
  });
  afterAll(() => engine.close());

  /**
   * A browser (its CSRF token) where a user signed in at `apps` signs out: at Signoff, or at the
   * application `initiatedBy` (an index into `apps`), which is owed its protocol's answer.
   */
  async function signOut(apps: AppSpec[], initiatedBy: number | null = null) {
    const login = await engine.login(apps);
    const csrf = randomBytes(16).toString('base64url');
    const initiator =
      initiatedBy === null
        ? null
        : { provider: login.providers[initiatedBy], session: login.providerSessions[initiatedBy] };
    const owed: OwedAnswer = initiator
      ? { to: 'application', protocol: initiator.provider.protocol, providerId: initiator.provider.id, owed: {} }
      : { to: 'signed-out-page' };
    const view = await journey.start(
      {
        trigger: initiator ? 'sp_initiated' : 'user_logout',
        initiator: initiator ? { type: 'provider', id: initiator.provider.id } : { type: 'user', id: login.user.id },
        idpSessionIds: [login.idpSession.id],
        initiatingProviderSessionId: initiator?.session.id ?? null,
        provider: initiator ? { invalidationFlowId: null } : null,
        owed,
      },
      csrf,
    );
    const operation = await engine.db
      .getRepository(LogoutOperation)
      .findOneByOrFail({ initiatorId: initiator?.provider.id ?? login.user.id });
    return { login, csrf, view, operationId: operation.id };
  }

  const deliveryOf = async (operationId: string, providerId: string) =>
    (await engine.deliveries(operationId)).find((row) => row.providerId === providerId)!;
  const nameOf = (login: Login, providerId: string) =>
    login.providers.find((provider) => provider.id === providerId)!.name;

  describe('what the user is told (status) and "try again"', () => {
    const handleOf = (view: LogoutView) => {
      const url = view.view === 'go' ? view.url : view.view === 'frontchannel' ? view.next : '';
      return new URL(url, 'https://idp.test').searchParams.get('logout')!;
    };

    it('shows a logout only to the browser that signed out', async () => {
      const { view, csrf } = await signOut([{ protocol: 'oidc', channels: ['backchannel_oidc'], name: 'Wiki' }]);
      const handle = handleOf(view);
      expect(await journey.status(handle, csrf)).toMatchObject({
        applications: [expect.objectContaining({ name: 'Wiki' })],
      });
      expect(await journey.status(handle, 'another browser')).toBeNull();
      expect(await journey.status(handle, null)).toBeNull();
      expect(await journey.status(`${handle.split('.')[0]}.forged`, csrf)).toBeNull();
    });

    it("keeps a logout's summary for an hour: a browser outlives its users", async () => {
      const { view, csrf } = await signOut([{ protocol: 'oidc', channels: ['backchannel_oidc'], name: 'Wiki' }]);
      const handle = handleOf(view);
      engine.clock.advance(59 * 60 * 1000);
      expect(await journey.status(handle, csrf)).not.toBeNull();
      engine.clock.advance(2 * 60 * 1000);
      expect(await journey.status(handle, csrf)).toBeNull();
      engine.clock.advance(-61 * 60 * 1000);
    });

    it('runs a failed delivery of that logout again, and nothing of another logout or browser', async () => {
      const { view, csrf, operationId, login } = await signOut([
        { protocol: 'oidc', channels: ['backchannel_oidc'], name: 'Wiki' },
      ]);
      const handle = handleOf(view);
      const [delivery] = await engine.deliveries(operationId);
      await engine.db.getRepository(LogoutDelivery).update({ id: delivery.id }, { status: 'dead' });
      const other = await signOut([{ protocol: 'oidc', channels: ['backchannel_oidc'], name: 'Other' }]);
      expect(await journey.tryAgain(handleOf(other.view), delivery.id, other.csrf)).toEqual({ view: 'expired' });
      expect(await journey.tryAgain(handle, delivery.id, 'another browser')).toEqual({ view: 'expired' });
      expect(await journey.tryAgain(`${handle}.extra`, delivery.id, csrf)).toEqual({ view: 'expired' });
      const summary = { view: 'go', url: `/logout/done?logout=${handle}` };
      // Its attempt log full: a press sends nothing more (an administrator still can, from the console).
      const full = Array.from({ length: 20 }, () => ({
        at: new Date().toISOString(),
        ms: 1,
        httpStatus: 500,
        result: 'dead' as const,
        error: 'HTTP 500',
        messageId: null,
      }));
      await engine.db.getRepository(LogoutDelivery).update({ id: delivery.id }, { attemptLog: full });
      expect(await journey.tryAgain(handle, delivery.id, csrf)).toEqual(summary);
      expect((await deliveryOf(operationId, delivery.providerId)).status).toBe('dead');

      await engine.db.getRepository(LogoutDelivery).update({ id: delivery.id }, { attemptLog: [] });
      expect(await journey.tryAgain(handle, delivery.id, csrf)).toEqual(summary);
      // Audited as the user who signed out asking again, whoever is signed in on the browser by now.
      expect(
        await engine.db
          .getRepository(AuditEvent)
          .findOneBy({ action: 'logout.delivery_retried', targetId: delivery.id }),
      ).toMatchObject({ actorType: 'user', actorId: login.user.id });
      expect(['pending', 'queued']).toContain((await deliveryOf(operationId, delivery.providerId)).status);
    });
  });

  describe('the native chain', () => {
    const NATIVE: AppSpec[] = [
      { protocol: 'saml', channels: ['frontchannel_saml_native'], name: 'Alpha' },
      { protocol: 'saml', channels: ['frontchannel_saml_native'], name: 'Beta' },
    ];

    /** Signs out, and takes the browser to the chain's first application. */
    async function chainStarted() {
      const started = await signOut(NATIVE);
      expect(started.view).toEqual({ view: 'go', url: expect.stringMatching(/^\/logout\/chain\/[A-Za-z0-9_-]{22}$/) });
      const handle = (started.view as Extract<LogoutView, { view: 'go' }>).url.split('/').pop()!;
      const first = await journey.chain(handle, false, started.csrf);
      expect(first).toMatchObject({
        view: 'native-step',
        resume: `/logout/chain/${handle}`,
        timeoutMs: FRONTCHANNEL_TIMEOUT_MS,
      });
      const step = first as Extract<LogoutView, { view: 'native-step' }>;
      const current = started.login.providers.find((provider) => provider.name === step.application)!;
      const other = started.login.providers.find((provider) => provider !== current)!;
      return { ...started, handle, step, current, other };
    }

    /** The application answers its step's LogoutRequest, as its protocol reads the answer. */
    const answer = (providerId: string, inResponseTo: string, confirmed = true) =>
      journey.applicationAnswered('saml', {
        providerId,
        inResponseTo,
        confirmed,
        error: confirmed ? null : 'Responder',
      });

    it('sends the browser to one application at a time with the handle as RelayState, then on to where the logout ends', async () => {
      const { login, csrf, handle, step, current, other, operationId } = await chainStarted();
      expect(step.step.url).toContain(`RelayState=${handle}`);
      // The answer names the step's message: it is recorded on the delivery.
      expect(await deliveryOf(operationId, current.id)).toMatchObject({
        status: 'pending',
        messageId: step.step.messageId,
      });

      expect(await answer(current.id, step.step.messageId!)).toEqual({ application: current.name, confirmed: true });
      const second = await journey.chain(handle, false, csrf);
      expect(second).toMatchObject({ view: 'native-step', application: nameOf(login, other.id) });

      const secondStep = (second as Extract<LogoutView, { view: 'native-step' }>).step;
      await answer(other.id, secondStep.messageId!);
      expect(await journey.chain(handle, false, csrf)).toEqual({ view: 'go', url: expect.stringMatching(SUMMARY) });
      expect(await engine.operationRow(operationId)).toMatchObject({ outcome: 'complete' });
      // The chain is over: its handle is gone.
      expect(await journey.chain(handle, false, csrf)).toEqual({ view: 'expired' });
    });

    it('waits while the application has not answered and the timeout has not passed', async () => {
      const { csrf, handle, current, operationId } = await chainStarted();
      const waiting = await journey.chain(handle, false, csrf);
      expect(waiting).toEqual({
        view: 'native-waiting',
        application: current.name,
        skip: `/logout/chain/${handle}?skip=1`,
        retry: `/logout/chain/${handle}`,
        remainingMs: expect.any(Number),
      });
      const { remainingMs } = waiting as Extract<LogoutView, { view: 'native-waiting' }>;
      expect(remainingMs).toBeGreaterThan(0);
      expect(remainingMs).toBeLessThanOrEqual(FRONTCHANNEL_TIMEOUT_MS);
      expect(await deliveryOf(operationId, current.id)).toMatchObject({ status: 'pending' });
      expect(await journey.chain(handle, false, csrf)).toMatchObject({
        view: 'native-waiting',
        application: current.name,
      });
    });

    it('skip records the application as failed and moves on; a late confirmation turns the outcome from partial to complete', async () => {
      const { login, csrf, handle, step, current, other, operationId } = await chainStarted();
      const next = await journey.chain(handle, true, csrf);
      expect(next).toMatchObject({ view: 'native-step', application: nameOf(login, other.id) });
      expect(await deliveryOf(operationId, current.id)).toMatchObject({
        status: 'failed',
        lastError: 'the application did not answer its logout request',
      });

      await answer(other.id, (next as Extract<LogoutView, { view: 'native-step' }>).step.messageId!);
      expect(await journey.chain(handle, false, csrf)).toEqual({ view: 'go', url: expect.stringMatching(SUMMARY) });
      expect(await engine.operationRow(operationId)).toMatchObject({ outcome: 'partial' });

      expect(await answer(current.id, step.step.messageId!)).toEqual({ application: current.name, confirmed: true });
      expect(await deliveryOf(operationId, current.id)).toMatchObject({ status: 'succeeded' });
      expect(await engine.operationRow(operationId)).toMatchObject({ outcome: 'complete' });
    });

    it('after the timeout, records the silent application as failed and moves on', async () => {
      const { login, csrf, handle, current, other, operationId } = await chainStarted();
      await new Promise((resolve) => setTimeout(resolve, FRONTCHANNEL_TIMEOUT_MS + 50));
      expect(await journey.chain(handle, false, csrf)).toMatchObject({
        view: 'native-step',
        application: nameOf(login, other.id),
      });
      expect(await deliveryOf(operationId, current.id)).toMatchObject({ status: 'failed' });
    });

    it('is `foreign` to any other browser, or none, and changes nothing', async () => {
      const { csrf, handle, current, operationId } = await chainStarted();
      const otherBrowser = randomBytes(16).toString('base64url');
      expect(await journey.chain(handle, true, otherBrowser)).toEqual({ view: 'foreign' });
      expect(await journey.chain(handle, false, otherBrowser)).toEqual({ view: 'foreign' });
      expect(await journey.chain(handle, true, null)).toEqual({ view: 'foreign' });
      expect((await engine.deliveries(operationId)).map((row) => row.status)).toEqual(['pending', 'pending']);
      // The browser that started it finds the chain where it left it: still at the same application.
      expect(await journey.chain(handle, false, csrf)).toMatchObject({
        view: 'native-waiting',
        application: current.name,
      });
    });

    it('is `expired` for a handle that names no chain', async () => {
      const csrf = randomBytes(16).toString('base64url');
      expect(await journey.chain(randomBytes(16).toString('base64url'), false, csrf)).toEqual({ view: 'expired' });
      expect(await journey.chain('not a handle', false, csrf)).toEqual({ view: 'expired' });
    });

    it('refuses an answer to a request Signoff never sent', async () => {
      const { current } = await chainStarted();
      expect(await answer(current.id, '_never-sent')).toEqual({
        refused: 'the answer matches no logout request Signoff sent this application',
      });
    });
  });

  describe('the logout page (iframes)', () => {
    const IFRAMES: AppSpec[] = [
      { protocol: 'oidc', channels: ['frontchannel_oidc'], name: 'OIDC app' },
      { protocol: 'saml', channels: ['frontchannel_saml_iframe'], name: 'SAML app' },
    ];

    async function logoutPage() {
      const started = await signOut(IFRAMES);
      expect(started.view).toMatchObject({
        view: 'frontchannel',
        next: expect.stringMatching(SUMMARY),
        timeoutMs: FRONTCHANNEL_TIMEOUT_MS,
      });
      const { frames } = started.view as Extract<LogoutView, { view: 'frontchannel' }>;
      expect(frames).toHaveLength(2);
      const [oidc, saml] = started.login.providers;
      const oidcDelivery = await deliveryOf(started.operationId, oidc.id);
      const samlDelivery = await deliveryOf(started.operationId, saml.id);
      return {
        ...started,
        oidc: { provider: oidc, frame: frames.find((frame) => frame.deliveryId === oidcDelivery.id)! },
        saml: {
          provider: saml,
          frame: frames.find((frame) => frame.deliveryId === samlDelivery.id)!,
          messageId: samlDelivery.messageId!,
        },
      };
    }

    it('settles an OIDC iframe on `loaded`', async () => {
      const { oidc, operationId } = await logoutPage();
      expect(await journey.frontchannelReport(oidc.frame.deliveryId, oidc.frame.reportToken, 'loaded')).toEqual({
        settled: true,
      });
      expect(await deliveryOf(operationId, oidc.provider.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    });

    it("does not settle a SAML iframe on `loaded`: its SP's answer does", async () => {
      const { saml, operationId } = await logoutPage();
      expect(saml.messageId).toBeTruthy();
      expect(await journey.frontchannelReport(saml.frame.deliveryId, saml.frame.reportToken, 'loaded')).toEqual({
        settled: false,
      });
      expect(await deliveryOf(operationId, saml.provider.id)).toMatchObject({ status: 'pending', attempts: 0 });

      await journey.applicationAnswered('saml', {
        providerId: saml.provider.id,
        inResponseTo: saml.messageId,
        confirmed: true,
        error: null,
      });
      expect(await journey.frontchannelReport(saml.frame.deliveryId, saml.frame.reportToken, 'loaded')).toEqual({
        settled: true,
      });
      expect(await deliveryOf(operationId, saml.provider.id)).toMatchObject({ status: 'succeeded' });
    });

    it('fails a delivery on `timeout` and settles the operation once every frame reported', async () => {
      const { oidc, saml, operationId } = await logoutPage();
      expect(await journey.frontchannelReport(saml.frame.deliveryId, saml.frame.reportToken, 'timeout')).toEqual({
        settled: true,
      });
      expect(await deliveryOf(operationId, saml.provider.id)).toMatchObject({
        status: 'failed',
        lastError: 'the application did not answer in time',
      });
      expect(await engine.operationRow(operationId)).toMatchObject({ outcome: null });

      await journey.frontchannelReport(oidc.frame.deliveryId, oidc.frame.reportToken, 'loaded');
      expect(await engine.operationRow(operationId)).toMatchObject({ outcome: 'partial' });
    });

    it('leaves a delivery that is already final as it is', async () => {
      const { oidc, operationId } = await logoutPage();
      await journey.frontchannelReport(oidc.frame.deliveryId, oidc.frame.reportToken, 'loaded');
      expect(await journey.frontchannelReport(oidc.frame.deliveryId, oidc.frame.reportToken, 'timeout')).toEqual({
        settled: true,
      });
      expect(await deliveryOf(operationId, oidc.provider.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    });

    it('is null for a bad report token, and records nothing', async () => {
      const { oidc, saml, operationId } = await logoutPage();
      for (const token of ['not the token', saml.frame.reportToken, undefined, 42]) {
        expect(await journey.frontchannelReport(oidc.frame.deliveryId, token, 'loaded')).toBeNull();
      }
      expect((await engine.deliveries(operationId)).map((row) => row.status)).toEqual(['pending', 'pending']);
    });

    it('shows the iframes first, then the native chain', async () => {
      const { view } = await signOut([
        ...IFRAMES.slice(0, 1),
        { protocol: 'saml', channels: ['frontchannel_saml_native'] },
      ]);
      expect(view).toMatchObject({
        view: 'frontchannel',
        frames: [expect.anything()],
        next: expect.stringMatching(/^\/logout\/chain\//),
      });
    });
  });

  describe("return_to: where the user's own logout ends", () => {
    beforeAll(() => {
      engine.protocols.oidc.returnUrls.set('rp-client', { exact: ['https://rp.test/logged-out'], patterns: [] });
      engine.protocols.saml.returnUrls.set('https://sp.test/metadata', {
        exact: [],
        patterns: ['https://*.sp.test/bye'],
      });
    });

    it.each<[string, unknown, unknown, OwedAnswer]>([
      [
        'LOGOUT_RETURN_URLS, with no client_id',
        'https://a.everywhere.test/bye',
        undefined,
        { to: 'return-to', url: 'https://a.everywhere.test/bye' },
      ],
      [
        'LOGOUT_RETURN_URLS, whatever client_id says',
        'https://portal.test/',
        'rp-client',
        { to: 'return-to', url: 'https://portal.test/' },
      ],
      [
        "an OIDC client's post_logout_redirect_uri, exactly",
        'https://rp.test/logged-out',
        'rp-client',
        { to: 'return-to', url: 'https://rp.test/logged-out' },
      ],
      [
        "an SP's logoutReturnUrls pattern",
        'https://x.sp.test/bye',
        'https://sp.test/metadata',
        { to: 'return-to', url: 'https://x.sp.test/bye' },
      ],
      [
        "an application's URL without its client_id",
        'https://rp.test/logged-out',
        undefined,
        { to: 'signed-out-page' },
      ],
      ["another application's URL", 'https://x.sp.test/bye', 'rp-client', { to: 'signed-out-page' }],
      ['an unknown client_id', 'https://rp.test/logged-out', 'nobody', { to: 'signed-out-page' }],
      ['a URL on no list', 'https://evil.test/bye', 'rp-client', { to: 'signed-out-page' }],
      ['two labels for a one-label wildcard', 'https://a.b.everywhere.test/bye', undefined, { to: 'signed-out-page' }],
      ['a registered URI with more after it', 'https://rp.test/logged-out/x', 'rp-client', { to: 'signed-out-page' }],
      [
        'a return_to given twice',
        ['https://portal.test/', 'https://portal.test/'],
        undefined,
        { to: 'signed-out-page' },
      ],
      ['a client_id given twice', 'https://rp.test/logged-out', ['rp-client'], { to: 'signed-out-page' }],
      ['no return_to', undefined, 'rp-client', { to: 'signed-out-page' }],
    ])('%s', async (_name, returnTo, clientId, expected) => {
      expect(await journey.returnTo(returnTo, clientId)).toEqual(expected);
    });

    async function signOutTo(apps: AppSpec[], url: string) {
      const login = await engine.login(apps);
      return journey.start(
        {
          trigger: 'user_logout',
          initiator: { type: 'user', id: login.user.id },
          idpSessionIds: [login.idpSession.id],
          initiatingProviderSessionId: null,
          provider: null,
          owed: { to: 'return-to', url },
        },
        randomBytes(16).toString('base64url'),
      );
    }

    it('goes there after the logout page', async () => {
      const view = await signOutTo(
        [{ protocol: 'oidc', channels: ['frontchannel_oidc'] }],
        'https://a.everywhere.test/bye',
      );
      expect(view).toMatchObject({ view: 'frontchannel', next: 'https://a.everywhere.test/bye' });
    });

    it('goes there after the native chain', async () => {
      const view = await signOutTo(
        [{ protocol: 'saml', channels: ['frontchannel_saml_native'] }],
        'https://a.everywhere.test/bye',
      );
      const handle = (view as Extract<LogoutView, { view: 'go' }>).url.split('/').pop()!;
      const chain = await engine.module.get(PendingStore).peek<{ next: string }>('logout-chain', handle);
      expect(chain?.next).toBe('https://a.everywhere.test/bye');
    });

    it('goes there at once when no application is to be told in the browser', async () => {
      expect(await signOutTo([{ protocol: 'oidc', channels: ['backchannel_oidc'] }], 'https://portal.test/')).toEqual({
        view: 'go',
        url: 'https://portal.test/',
      });
    });
  });

  describe("the initiator's answer", () => {
    it("goes straight to an OIDC application's answer, which does not wait for the outcome", async () => {
      const { view } = await signOut([{ protocol: 'oidc', channels: ['frontchannel_oidc'] }], 0);
      expect(view).toEqual({ view: 'go', url: expect.stringMatching(/\/answered\?outcome=null$/) });
    });

    it("keeps a SAML application's answer until the browser is back, then gives it the outcome", async () => {
      // The initiator is seeded with a channel: its protocol leaves it out all the same.
      const started = await signOut(
        [
          { protocol: 'saml', channels: ['frontchannel_saml_native'] },
          { protocol: 'oidc', channels: ['frontchannel_oidc'] },
        ],
        0,
      );
      const { frames, next } = started.view as Extract<LogoutView, { view: 'frontchannel' }>;
      expect(next).toMatch(/^\/logout\/answer\/[A-Za-z0-9_-]{22}$/);
      await journey.frontchannelReport(frames[0].deliveryId, frames[0].reportToken, 'loaded');
      const handle = next.split('/').pop()!;
      expect(await journey.answer(handle)).toEqual({
        view: 'answer',
        answer: { kind: 'redirect', url: `${APP_BASE}/${started.login.providers[0].id}/answered?outcome=complete` },
      });
      expect(await journey.answer(handle)).toEqual({ view: 'expired' });
    });
  });
});
