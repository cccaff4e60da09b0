import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config, COOKIE_SECRET, type DeliveryChannel, LogoutDelivery, PendingStore, ProviderSession, safeEqual } from '@signoff/core';
import { type FlowContext, FlowExecutor, type FlowStep } from '@signoff/flows';
import { LogoutOperationsService, LogoutProtocolRegistry, type SessionWithProvider } from '@signoff/logout';
import type { Response } from 'express';
import { createHmac } from 'node:crypto';
import { DataSource, In } from 'typeorm';
import { form, h, page } from '../http/html';
import { chainStepPage, chainWaitingPage, type FrontchannelFrame, sendLogoutPage } from './logout-page';

/** A flow stopped at an interactive stage, kept in Redis until the user answers. */
interface PausedFlow {
  flowId: string;
  context: FlowContext;
  resumeAt: number;
  operationId: string | null;
  next: string;
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

const PAUSE_TTL_SECONDS = 15 * 60;
const IFRAME_CHANNELS: DeliveryChannel[] = ['frontchannel_oidc', 'frontchannel_saml_iframe'];
/** Channels settled by the application's answer (a LogoutResponse), not by a page load. */
const ANSWERED_CHANNELS: DeliveryChannel[] = ['frontchannel_saml_iframe', 'frontchannel_saml_native'];

/**
 * Runs an invalidation flow for a browser and renders what it needs: a confirm/message page, the
 * logout page with the front-channel iframes, then the native chain, then `next` (the post-logout
 * redirect URI with its state, the SAML LogoutResponse, or the signed-out page). A `next` of ours
 * (a path) may name `{operation}`: it is replaced by the id of the logout operation the flow started,
 * so the page that finishes the logout can read its outcome. `csrf` is the browser's CSRF token: its
 * forms carry it, and the native chain is bound to the browser it belongs to.
 */
@Injectable()
export class LogoutRunner {
  constructor(
    private readonly executor: FlowExecutor,
    private readonly operations: LogoutOperationsService,
    private readonly protocols: LogoutProtocolRegistry,
    private readonly db: DataSource,
    private readonly store: PendingStore,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(COOKIE_SECRET) private readonly secret: string,
  ) {}

  async run(res: Response, flowId: string, context: FlowContext, next: string, csrf: string): Promise<void> {
    await this.render(res, flowId, context, await this.executor.run(flowId, context), next, csrf);
  }

  /** The user answered a confirm or message stage. */
  async resume(res: Response, handle: unknown, proceed: boolean, csrf: string): Promise<boolean> {
    const paused = await this.store.take<PausedFlow>('logout-flow', handle);
    if (!paused) return false;
    if (!proceed) {
      res.redirect(303, '/');
      return true;
    }
    const operation = paused.operationId ? await this.operations.get(paused.operationId) : null;
    const step = await this.executor.run(paused.flowId, paused.context, paused.resumeAt, operation);
    await this.render(res, paused.flowId, paused.context, step, paused.next, csrf);
    return true;
  }

  /**
   * Records what the logout page saw of one front-channel delivery: `loaded` settles an OIDC iframe;
   * a SAML iframe is settled by its SP's LogoutResponse, so a load only tells whether that came yet;
   * `timeout` fails what is still pending. Null for an unknown delivery or a bad token.
   */
  async frontchannelResult(deliveryId: string, token: unknown, outcome: unknown): Promise<{ settled: boolean } | null> {
    if (typeof token !== 'string' || !safeEqual(token, this.reportToken(deliveryId))) return null;
    const delivery = await this.db.getRepository(LogoutDelivery).findOneBy({ id: deliveryId });
    if (!delivery) return null;
    if (delivery.status !== 'pending') return { settled: true };
    const loaded = outcome === 'loaded';
    if (loaded && ANSWERED_CHANNELS.includes(delivery.channel)) return { settled: false };
    await this.operations.recordFrontchannel(delivery, { ok: loaded, error: loaded ? null : 'the application did not answer in time', messageId: delivery.messageId });
    return { settled: true };
  }

  /**
   * The next step of a native chain: the browser came back from an application (or from the logout
   * page). An application that has not answered is waited for until the front-channel timeout, then
   * recorded as failed; `skip` gives up on it at once. `csrf` is the requesting browser's CSRF token
   * (null without a browser cookie): every SP in the chain sees the handle as RelayState, so only the
   * browser that started the chain may advance or skip it; any other request changes nothing.
   * 'unknown' when the chain is unknown or expired, 'foreign' when it is another browser's.
   */
  async chain(res: Response, handle: string, skip: boolean, csrf: string | null): Promise<'shown' | 'unknown' | 'foreign'> {
    const chain = await this.store.peek<NativeChain>('logout-chain', handle);
    if (!chain) return 'unknown';
    if (!csrf || !safeEqual(chain.browser, this.browserBinding(csrf))) return 'foreign';
    if (chain.current) {
      const delivery = await this.db.getRepository(LogoutDelivery).findOne({ where: { id: chain.current.deliveryId }, relations: { provider: true } });
      if (delivery?.status === 'pending') {
        const remaining = chain.current.startedAt + this.config.delivery.frontchannelTimeoutMs - Date.now();
        if (!skip && remaining > 0) {
          res.type('html').send(chainWaitingPage(delivery.provider.name, `/logout/chain/${handle}?skip=1`, `/logout/chain/${handle}`, remaining));
          return 'shown';
        }
        await this.operations.recordFrontchannel(delivery, { ok: false, error: 'the application did not answer its logout request', messageId: delivery.messageId });
      }
      chain.current = null;
    }
    const deliveryId = chain.queue.shift();
    if (!deliveryId) {
      await this.store.drop('logout-chain', handle);
      res.redirect(303, chain.next);
      return 'shown';
    }
    const delivery = await this.db.getRepository(LogoutDelivery).findOneByOrFail({ id: deliveryId });
    const session = await this.sessionOf(delivery);
    const step = await this.step(delivery, session, handle);
    chain.current = { deliveryId, startedAt: Date.now() };
    await this.store.save('logout-chain', handle, chain, PAUSE_TTL_SECONDS);
    res.type('html').send(chainStepPage(session.provider.name, step, `/logout/chain/${handle}`, this.config.delivery.frontchannelTimeoutMs));
    return 'shown';
  }

  private async render(res: Response, flowId: string, context: FlowContext, step: FlowStep, next: string, csrf: string): Promise<void> {
    if (step.kind !== 'done') {
      const paused: PausedFlow = { flowId, context, resumeAt: step.resumeAt, operationId: step.operation?.id ?? null, next };
      const handle = await this.store.put('logout-flow', paused, PAUSE_TTL_SECONDS);
      const buttons = `<input type="hidden" name="flow" value="${h(handle)}">${step.kind === 'confirm'
        ? '<button type="submit" name="answer" value="yes">Sign out</button> <button type="submit" name="answer" value="no" class="link">Cancel</button>'
        : '<button type="submit" name="answer" value="yes">Continue</button>'}`;
      res.type('html').send(page(step.kind === 'confirm' ? 'Sign out?' : 'Signing out', `<p>${h(step.text)}</p>${form('/logout/flow', csrf, buttons)}`));
      return;
    }
    const operationId = step.operation?.id ?? null;
    let destination = step.redirectTo && next === '/logout/done' ? step.redirectTo : next;
    if (destination.startsWith('/')) destination = destination.replace('{operation}', operationId ?? 'none');
    const pending = operationId
      ? await this.db.getRepository(LogoutDelivery).find({ where: { operationId, status: 'pending', channel: In([...IFRAME_CHANNELS, 'frontchannel_saml_native']) }, order: { createdAt: 'ASC' } })
      : [];
    const native = pending.filter((delivery) => delivery.channel === 'frontchannel_saml_native');
    if (native.length) {
      const chain: NativeChain = { next: destination, browser: this.browserBinding(csrf), queue: native.map((delivery) => delivery.id), current: null };
      const handle = await this.store.put('logout-chain', chain, PAUSE_TTL_SECONDS);
      destination = `/logout/chain/${handle}`;
    }
    const frames: FrontchannelFrame[] = [];
    for (const delivery of pending.filter((row) => IFRAME_CHANNELS.includes(row.channel))) {
      const step = await this.step(delivery, await this.sessionOf(delivery));
      frames.push({ deliveryId: delivery.id, reportToken: this.reportToken(delivery.id), url: step.url, fields: step.fields });
    }
    if (!frames.length) return res.redirect(303, destination);
    sendLogoutPage(res, frames, destination, this.config.delivery.frontchannelTimeoutMs);
  }

  private async sessionOf(delivery: LogoutDelivery): Promise<SessionWithProvider> {
    return (await this.db.getRepository(ProviderSession).findOneOrFail({ where: { id: delivery.providerSessionId }, relations: { provider: true } })) as SessionWithProvider;
  }

  /** Builds a delivery's front-channel step and records its message id (a LogoutResponse's InResponseTo finds the delivery by it). */
  private async step(delivery: LogoutDelivery, session: SessionWithProvider, relayState?: string) {
    const step = await this.protocols.for(session.provider.protocol).buildFrontchannelStep(delivery, session, relayState);
    if (step.messageId) await this.db.getRepository(LogoutDelivery).update({ id: delivery.id }, { messageId: step.messageId });
    return step;
  }

  /** What a chain keeps of the browser that started it: an HMAC of its CSRF token (itself an HMAC of the browser id), never the id. */
  private browserBinding(csrf: string): string {
    return createHmac('sha256', this.secret).update(`chain|${csrf}`).digest('base64url');
  }

  private reportToken(deliveryId: string): string {
    return createHmac('sha256', this.secret).update(`frontchannel|${deliveryId}`).digest('base64url');
  }
}

