import { Inject, Injectable } from '@nestjs/common';
import {
  ANSWERED_CHANNELS,
  type Actor,
  allowedReturnUrl,
  Clock,
  CONFIG,
  type Config,
  COOKIE_SECRET,
  type LogoutDelivery,
  type LogoutTrigger,
  PendingStore,
  type Protocol,
  safeEqual,
} from '@signoff/core';
import { createHmac } from 'node:crypto';
import { type FlowContext, FlowExecutor, type FlowStep } from './flow-executor';
import { LogoutOrchestrator } from './logout-orchestrator';
import { IFRAME_CHANNELS, LogoutOperationsService, NATIVE_CHANNELS } from './logout-operations.service';
import type { FrontchannelStep, SeenOutcome } from './logout-protocol';
import { canTryAgain, type LogoutStatus, logoutStatusOf } from './logout-status';
import type { FrontchannelFrame, LogoutView } from './logout-views';
import { LogoutProtocolRegistry } from './protocol-registry';

/**
 * What the initiator of a browser logout is owed at the end: the signed-out page (the user signed out
 * at Signoff, or an application that gave no address), the allowed URL the user's own logout was
 * asked to return to (`return-to`, see `returnTo`), or an application's own answer, which its
 * protocol builds from `owed` (OIDC: the post_logout_redirect_uri with state; SAML: the LogoutResponse).
 */
export type OwedAnswer =
  | { to: 'signed-out-page' }
  | { to: 'return-to'; url: string }
  | { to: 'application'; protocol: Protocol; providerId: string; owed: unknown };

/** A logout started in the user's browser. */
export interface BrowserLogout {
  trigger: LogoutTrigger;
  initiator: Actor;
  /** The IdP sessions to end: the browser's current one, every account of the browser, or the user's every session. */
  idpSessionIds: string[];
  /** Of those, the ones this browser holds (when some are other devices'): only their front channels run here. */
  browserIdpSessionIds?: string[];
  /** The provider session of the application that asked, if one did. */
  initiatingProviderSessionId: string | null;
  /** The provider of the application that asked (its own invalidation flow runs), or null: the user asked at Signoff. */
  provider: { invalidationFlowId: string | null } | null;
  owed: OwedAnswer;
}

/** A flow stopped at an interactive stage, kept until the user answers. */
interface PausedFlow {
  flowId: string;
  context: FlowContext;
  resumeAt: number;
  operationId: string | null;
  owed: OwedAnswer;
}

/** The native chain: front-channel deliveries walked one after the other in the main tab. */
interface NativeChain {
  /** Where the browser goes when the chain is done. */
  next: string;
  /** The browser that started the chain (browserBinding): the handle travels to every SP as RelayState, so it alone proves nothing. */
  browser: string;
  queue: string[];
  /** The delivery whose application the browser was sent to, and when. */
  current: { deliveryId: string; startedAt: number } | null;
}

/** An answer that waits for the outcome, kept until the browser comes back from the front channel. */
interface PendingAnswer {
  owed: Extract<OwedAnswer, { to: 'application' }>;
  operationId: string | null;
}

const PAUSE_TTL_SECONDS = 15 * 60;
/** The longest application id looked up for a return_to: an entityID is at most 1024 characters. */
const MAX_APPLICATION_ID = 1024;
const SIGNED_OUT_PAGE = '/logout/done';
/** How long after a logout its summary (status, "try again") can be seen from the browser that signed out. */
const SUMMARY_FOR_MS = 60 * 60 * 1000;

/**
 * What happens on logout, top to bottom. A logout starts in the browser (POST /logout, an OIDC
 * end_session, a SAML LogoutRequest) or without one (SOAP, an administrator, expiry: `runHeadless` and
 * the orchestrator). In the browser:
 *
 * 1. **start**: pick the flow (the initiating provider's own, else a default) and run it. A `confirm`
 *    or `message` stage stops it: the user answers, and `resume` runs the rest.
 * 2. The flow's logout stage has the orchestrator end the sessions and commit one delivery per
 *    (provider session, channel) in one transaction; back-channel deliveries go to the worker.
 * 3. **front channel**: the browser runs the rest. Iframe deliveries become the logout page, which
 *    reports each frame (`frontchannelReport`); native ones become a chain walked in the main tab
 *    (`chain`). An application's answer to either (a SAML LogoutResponse) settles its delivery
 *    (`applicationAnswered`).
 * 4. **answer**: the application that asked gets its answer, through its protocol, once the others
 *    had their chance (`answer`); the user who asked gets the signed-out page, or the allowed URL
 *    their logout was asked to return to (`returnTo`).
 *
 * Every step returns a view (LogoutView) for the app to render; state between requests lives in the
 * pending-request store under unguessable handles.
 */
@Injectable()
export class LogoutJourney {
  constructor(
    private readonly executor: FlowExecutor,
    private readonly orchestrator: LogoutOrchestrator,
    private readonly operations: LogoutOperationsService,
    private readonly protocols: LogoutProtocolRegistry,
    private readonly store: PendingStore,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(COOKIE_SECRET) private readonly secret: string,
  ) {}

  // ---- 1. start ------------------------------------------------------------------------------

  /** Starts a logout in the browser whose CSRF token is `csrf` (its forms carry it; the native chain is bound to it). */
  async start(logout: BrowserLogout, csrf: string): Promise<LogoutView> {
    const flowId = this.executor.flowFor(logout.provider?.invalidationFlowId ?? null, logout.provider !== null);
    const context: FlowContext = {
      trigger: logout.trigger,
      initiator: logout.initiator,
      idpSessionIds: logout.idpSessionIds,
      browserIdpSessionIds: logout.browserIdpSessionIds,
      initiatingProviderSessionId: logout.initiatingProviderSessionId,
      interactive: true,
    };
    return this.afterFlowStep(flowId, context, await this.executor.run(flowId, context), logout.owed, csrf);
  }

  /** The user answered a confirm or message stage: go on (`proceed`), or stop with nothing ended. */
  async resume(flowHandle: unknown, proceed: boolean, csrf: string): Promise<LogoutView> {
    const paused = await this.store.take<PausedFlow>('logout-flow', flowHandle);
    if (!paused) return { view: 'expired' };
    if (!proceed) return { view: 'cancelled' };
    const step = await this.executor.run(paused.flowId, paused.context, paused.resumeAt, paused.operationId);
    return this.afterFlowStep(paused.flowId, paused.context, step, paused.owed, csrf);
  }

  /**
   * A logout with no browser to run front-channel steps (SOAP): the flow runs without its interactive
   * stages, and the outcome is awaited up to the front-channel timeout, for the initiator's answer.
   */
  async runHeadless(logout: Omit<BrowserLogout, 'owed'>): Promise<SeenOutcome> {
    const flowId = this.executor.flowFor(logout.provider?.invalidationFlowId ?? null, logout.provider !== null);
    const step = await this.executor.run(flowId, {
      trigger: logout.trigger,
      initiator: logout.initiator,
      idpSessionIds: logout.idpSessionIds,
      initiatingProviderSessionId: logout.initiatingProviderSessionId,
      interactive: false,
    });
    return step.operationId
      ? this.operations.awaitOutcome(step.operationId, this.config.delivery.frontchannelTimeoutMs)
      : null;
  }

  /**
   * Ends one application's provider session only, with no browser (an OIDC id_token_hint naming a
   * session this browser does not hold): its back channel is told and its tokens revoked; the IdP
   * session and the other applications stay.
   */
  async endApplicationSession(providerId: string, providerSessionId: string): Promise<void> {
    await this.orchestrator.endSessions({
      trigger: 'rp_initiated',
      initiator: { type: 'provider', id: providerId },
      reason: 'logout',
      providerSessionIds: [providerSessionId],
      initiatingProviderSessionId: providerSessionId,
      withBrowser: false,
    });
  }

  /**
   * What the user's own logout (`/logout?return_to=…&client_id=…`) ends on: `returnTo` when it matches
   * an allowed URL (core http/return-urls.ts: exact, or one wildcard label an entry opts in to), else
   * the signed-out page: a URL on no list is never redirected to. Allowed are LOGOUT_RETURN_URLS and,
   * when `applicationId` names an enabled application (an OIDC client_id, a SAML entityID), that
   * application's own list (its protocol's `logoutReturnUrls`). Without `applicationId` only
   * LOGOUT_RETURN_URLS applies: taking every application's list together would let any one of them
   * (a client registered through /oauth2/register, say) choose where every other logout ends.
   */
  async returnTo(returnTo: unknown, applicationId: unknown): Promise<OwedAnswer> {
    const signedOut: OwedAnswer = { to: 'signed-out-page' };
    if (typeof returnTo !== 'string' || !returnTo) return signedOut;
    const deploymentWide = allowedReturnUrl(returnTo, this.config.logoutReturnUrls);
    if (deploymentWide) return { to: 'return-to', url: deploymentWide };
    if (typeof applicationId !== 'string' || !applicationId || applicationId.length > MAX_APPLICATION_ID)
      return signedOut;
    for (const protocol of this.protocols.all()) {
      const allowed = await protocol.logoutReturnUrls?.(applicationId);
      if (!allowed) continue;
      // Registered OIDC URIs are compared as strings, as end_session compares them (RP-Initiated Logout §3).
      if (allowed.exact.includes(returnTo)) return { to: 'return-to', url: returnTo };
      const url = allowedReturnUrl(returnTo, allowed.patterns);
      if (url) return { to: 'return-to', url };
    }
    return signedOut;
  }

  // ---- 2. the flow stopped or ended ----------------------------------------------------------

  /** A stopped flow asks the user; an ended one hands the browser to the front channel, then to the answer. */
  private async afterFlowStep(
    flowId: string,
    context: FlowContext,
    step: FlowStep,
    owed: OwedAnswer,
    csrf: string,
  ): Promise<LogoutView> {
    if (step.kind !== 'done') {
      const paused: PausedFlow = { flowId, context, resumeAt: step.resumeAt, operationId: step.operationId, owed };
      return {
        view: step.kind,
        text: step.text,
        flowHandle: await this.store.put('logout-flow', paused, PAUSE_TTL_SECONDS),
      };
    }
    const handle = step.operationId ? this.statusHandle(step.operationId, csrf) : null;
    let next = await this.destination(owed, step.operationId, step.redirectTo, handle);
    const open = step.operationId ? await this.operations.openFrontchannel(step.operationId) : [];
    const native = open.filter((delivery) => NATIVE_CHANNELS.includes(delivery.channel));
    if (native.length) {
      const chain: NativeChain = {
        next,
        browser: this.browserBinding(csrf),
        queue: native.map((delivery) => delivery.id),
        current: null,
      };
      next = `/logout/chain/${await this.store.put('logout-chain', chain, PAUSE_TTL_SECONDS)}`;
    }
    const frames: FrontchannelFrame[] = [];
    for (const delivery of open.filter((row) => IFRAME_CHANNELS.includes(row.channel))) {
      const { url, fields } = await this.frontchannelStep(delivery);
      frames.push({ deliveryId: delivery.id, reportToken: this.reportToken(delivery.id), url, fields });
    }
    if (!frames.length) return { view: 'go', url: next };
    return {
      view: 'frontchannel',
      frames,
      next,
      timeoutMs: this.config.delivery.frontchannelTimeoutMs,
      logout: handle ? { handle, status: (await this.statusOf(step.operationId!))! } : null,
    };
  }

  /**
   * Where the browser goes once the front channel is done: the initiating application's answer when
   * it does not depend on the outcome (OIDC's redirect), else our answer page, which waits for the
   * outcome; the user's own logout ends on the signed-out page, or where a flow's `redirect` stage says,
   * unless it was asked to return to an allowed URL: like an application's own answer, that comes first.
   */
  private async destination(
    owed: OwedAnswer,
    operationId: string | null,
    redirectTo: string | null,
    statusHandle: string | null,
  ): Promise<string> {
    if (owed.to === 'return-to') return owed.url;
    if (owed.to === 'signed-out-page')
      return redirectTo ?? (statusHandle ? `${SIGNED_OUT_PAGE}?logout=${statusHandle}` : SIGNED_OUT_PAGE);
    const protocol = this.protocols.for(owed.protocol);
    if (!protocol.answerAwaitsOutcome) {
      const answer = await protocol.answerInitiator(owed.providerId, owed.owed, null);
      if (answer.kind === 'redirect') return answer.url;
    }
    const pending: PendingAnswer = { owed, operationId };
    return `/logout/answer/${await this.store.put('logout-answer', pending, PAUSE_TTL_SECONDS)}`;
  }

  // ---- 3. the front channel ------------------------------------------------------------------

  /**
   * Records what the logout page saw of one front-channel delivery: `loaded` settles an OIDC iframe;
   * a SAML iframe is settled by its SP's LogoutResponse, so a load only tells whether that came yet;
   * `timeout` fails what is still pending. Null for an unknown delivery or a bad token.
   */
  async frontchannelReport(deliveryId: string, token: unknown, outcome: unknown): Promise<{ settled: boolean } | null> {
    if (typeof token !== 'string' || !safeEqual(token, this.reportToken(deliveryId))) return null;
    const delivery = await this.operations.delivery(deliveryId);
    if (!delivery) return null;
    if (delivery.status !== 'pending') return { settled: true };
    const loaded = outcome === 'loaded';
    if (loaded && ANSWERED_CHANNELS.includes(delivery.channel)) return { settled: false };
    await this.operations.recordFrontchannel(delivery, {
      ok: loaded,
      error: loaded ? null : 'the application did not answer in time',
      messageId: delivery.messageId,
    });
    return { settled: true };
  }

  /**
   * The next step of a native chain: the browser came back from an application (or from the logout
   * page). An application that has not answered is waited for until the front-channel timeout, then
   * recorded as failed; `skip` gives up on it at once. `csrf` is the requesting browser's CSRF token
   * (null without a browser cookie): every SP in the chain sees the handle as RelayState, so only the
   * browser that started the chain may advance or skip it; any other request changes nothing.
   */
  async chain(handle: string, skip: boolean, csrf: string | null): Promise<LogoutView> {
    const chain = await this.store.peek<NativeChain>('logout-chain', handle);
    if (!chain) return { view: 'expired' };
    if (!csrf || !safeEqual(chain.browser, this.browserBinding(csrf))) return { view: 'foreign' };
    const resume = `/logout/chain/${handle}`;
    if (chain.current) {
      const delivery = await this.operations.delivery(chain.current.deliveryId);
      if (delivery?.status === 'pending') {
        const remainingMs = chain.current.startedAt + this.config.delivery.frontchannelTimeoutMs - Date.now();
        if (!skip && remainingMs > 0)
          return {
            view: 'native-waiting',
            application: delivery.provider.name,
            skip: `${resume}?skip=1`,
            retry: resume,
            remainingMs,
          };
        await this.operations.recordFrontchannel(delivery, {
          ok: false,
          error: 'the application did not answer its logout request',
          messageId: delivery.messageId,
        });
      }
      chain.current = null;
    }
    const deliveryId = chain.queue.shift();
    if (!deliveryId) {
      await this.store.drop('logout-chain', handle);
      return { view: 'go', url: chain.next };
    }
    const delivery = (await this.operations.delivery(deliveryId))!;
    const step = await this.frontchannelStep(delivery, handle);
    chain.current = { deliveryId, startedAt: Date.now() };
    await this.store.save('logout-chain', handle, chain, PAUSE_TTL_SECONDS);
    return {
      view: 'native-step',
      application: delivery.provider.name,
      step,
      resume,
      timeoutMs: this.config.delivery.frontchannelTimeoutMs,
    };
  }

  /**
   * An application's answer to a front-channel step (a SAML LogoutResponse), read by its protocol
   * (which throws when it cannot be trusted) and recorded on the delivery whose request it answers. A
   * late confirmation turns a timed-out delivery into a confirmed one. `refused` when it answers no
   * request Signoff sent that application.
   */
  async applicationAnswered(
    protocol: Protocol,
    message: unknown,
  ): Promise<{ application: string; confirmed: boolean } | { refused: string }> {
    const reader = this.protocols.for(protocol);
    if (!reader.readFrontchannelReply)
      return { refused: `${protocol} applications do not answer front-channel logouts` };
    const reply = await reader.readFrontchannelReply(message);
    const delivery = await this.operations.answeredBy(reply.providerId, reply.inResponseTo);
    if (!delivery) return { refused: 'the answer matches no logout request Signoff sent this application' };
    await this.operations.recordFrontchannel(
      delivery,
      { ok: reply.confirmed, error: reply.error, messageId: reply.inResponseTo },
      ['pending', 'failed'],
    );
    return { application: delivery.provider.name, confirmed: reply.confirmed };
  }

  /** Builds a delivery's front-channel step and records its message id (the application's answer names it). */
  private async frontchannelStep(delivery: LogoutDelivery, relayState?: string): Promise<FrontchannelStep> {
    const target = await this.operations.targetOf(delivery);
    const step = await this.protocols.for(target.session.provider.protocol).buildFrontchannelStep(target, relayState);
    if (step.messageId) await this.operations.recordMessageId(delivery.id, step.messageId);
    return step;
  }

  // ---- 4. the answer -------------------------------------------------------------------------

  /**
   * The browser is back from the front channel: the application that started the logout gets its
   * answer, once the operation completed or the front-channel timeout passed (back-channel deliveries
   * may still be retrying then: the protocol says so, e.g. SAML's PartialLogout).
   */
  async answer(handle: unknown): Promise<LogoutView> {
    const pending = await this.store.take<PendingAnswer>('logout-answer', handle);
    if (!pending) return { view: 'expired' };
    const { owed, operationId } = pending;
    const outcome = operationId
      ? await this.operations.awaitOutcome(operationId, this.config.delivery.frontchannelTimeoutMs, owed.providerId)
      : null;
    return {
      view: 'answer',
      answer: await this.protocols.for(owed.protocol).answerInitiator(owed.providerId, owed.owed, outcome),
    };
  }

  // ---- what the user is told ---------------------------------------------------------------

  /**
   * What became of each application of the logout `handle` names (see logout-status.ts), for the
   * browser whose CSRF token is `csrf`: the handle is bound to the browser that signed out, so it
   * shows nobody else which applications that was. Null when it names nothing of this browser's.
   */
  async status(handle: unknown, csrf: string | null): Promise<LogoutStatus | null> {
    const operation = await this.operationNamed(handle, csrf);
    return operation ? logoutStatusOf(operation, operation.deliveries) : null;
  }

  /**
   * "Try again" for one application that did not confirm: its delivery runs once more — a back-channel
   * one through the worker (the browser goes back to the summary, which follows it), a front-channel one
   * in this browser (a logout page with that one frame, or a chain of that one step). Only a delivery of
   * the logout `handle` names, for the browser that signed out; `expired` otherwise.
   */
  async tryAgain(handle: unknown, deliveryId: unknown, csrf: string): Promise<LogoutView> {
    const operation = await this.operationNamed(handle, csrf);
    const delivery = operation?.deliveries.find((candidate) => candidate.id === deliveryId);
    if (!operation || !delivery) return { view: 'expired' };
    const operationId = operation.id;
    const summary = `${SIGNED_OUT_PAGE}?logout=${operationId}.${this.statusMac(operationId, csrf)}`;
    // Each press sends the application more requests: not past what its attempt log keeps (see logout-status.ts).
    if (!canTryAgain(delivery)) return { view: 'go', url: summary };
    // The logout's own initiator asks again (the user who signed out), whoever is signed in on this browser now.
    const actor: Actor = { type: operation.initiatorType, id: operation.initiatorId };
    await this.operations.retryDelivery(delivery.id, actor, { inBrowser: true });
    if (NATIVE_CHANNELS.includes(delivery.channel)) {
      const chain: NativeChain = {
        next: summary,
        browser: this.browserBinding(csrf),
        queue: [delivery.id],
        current: null,
      };
      return { view: 'go', url: `/logout/chain/${await this.store.put('logout-chain', chain, PAUSE_TTL_SECONDS)}` };
    }
    if (!IFRAME_CHANNELS.includes(delivery.channel)) return { view: 'go', url: summary };
    const { url, fields } = await this.frontchannelStep(delivery);
    return {
      view: 'frontchannel',
      frames: [{ deliveryId: delivery.id, reportToken: this.reportToken(delivery.id), url, fields }],
      next: summary,
      timeoutMs: this.config.delivery.frontchannelTimeoutMs,
      logout: { handle: handle as string, status: (await this.statusOf(operationId))! },
    };
  }

  /**
   * The operation `handle` names for this browser, while it is recent: the summary is for the moment
   * after the logout, and a browser outlives its users (on a shared one, the next user's history holds
   * the link).
   */
  private async operationNamed(handle: unknown, csrf: string | null) {
    const operationId = this.operationOf(handle, csrf);
    const operation = operationId ? await this.operations.get(operationId) : null;
    if (!operation || this.clock.now().getTime() - operation.createdAt.getTime() > SUMMARY_FOR_MS) return null;
    return operation;
  }

  private async statusOf(operationId: string): Promise<LogoutStatus | null> {
    const operation = await this.operations.get(operationId);
    return operation ? logoutStatusOf(operation, operation.deliveries) : null;
  }

  /** A handle naming an operation to the browser that started it: the id and an HMAC binding both. */
  private statusHandle(operationId: string, csrf: string): string {
    return `${operationId}.${this.statusMac(operationId, csrf)}`;
  }

  private operationOf(handle: unknown, csrf: string | null): string | null {
    if (typeof handle !== 'string' || !csrf || handle.length > 200) return null;
    const parts = handle.split('.');
    if (parts.length !== 2 || !/^[0-9a-f-]{36}$/.test(parts[0])) return null;
    return safeEqual(parts[1], this.statusMac(parts[0], csrf)) ? parts[0] : null;
  }

  private statusMac(operationId: string, csrf: string): string {
    return createHmac('sha256', this.secret).update(`logout-status|${operationId}|${csrf}`).digest('base64url');
  }

  // ---- browser binding -----------------------------------------------------------------------

  /** What a chain keeps of the browser that started it: an HMAC of its CSRF token (itself an HMAC of the browser id), never the id. */
  private browserBinding(csrf: string): string {
    return createHmac('sha256', this.secret).update(`chain|${csrf}`).digest('base64url');
  }

  private reportToken(deliveryId: string): string {
    return createHmac('sha256', this.secret).update(`frontchannel|${deliveryId}`).digest('base64url');
  }
}
