import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config, COOKIE_SECRET, LogoutDelivery, ProviderSession, randomToken, RedisService, safeEqual } from '@signoff/core';
import { type FlowContext, FlowExecutor, type FlowStep } from '@signoff/flows';
import { LogoutOperationsService, LogoutProtocolRegistry, type SessionWithProvider } from '@signoff/logout';
import type { Response } from 'express';
import { createHmac } from 'node:crypto';
import { DataSource, In } from 'typeorm';
import { form, h, page } from '../http/html';
import { type FrontchannelFrame, logoutPage } from './logout-page';

/** A flow stopped at an interactive stage, kept in Redis until the user answers. */
interface PausedFlow {
  flowId: string;
  context: FlowContext;
  resumeAt: number;
  operationId: string | null;
  next: string;
}

const PAUSE_TTL_SECONDS = 15 * 60;

/**
 * Runs an invalidation flow for a browser and renders what it needs: a confirm/message page, the
 * logout page with the front-channel iframes, or the redirect to `next` (the post-logout redirect URI
 * with its state, or the signed-out page).
 */
@Injectable()
export class LogoutRunner {
  constructor(
    private readonly executor: FlowExecutor,
    private readonly operations: LogoutOperationsService,
    private readonly protocols: LogoutProtocolRegistry,
    private readonly db: DataSource,
    private readonly redis: RedisService,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(COOKIE_SECRET) private readonly secret: string,
  ) {}

  async run(res: Response, flowId: string, context: FlowContext, next: string, csrf: string): Promise<void> {
    await this.render(res, flowId, context, await this.executor.run(flowId, context), next, csrf);
  }

  /** The user answered a confirm or message stage. */
  async resume(res: Response, handle: unknown, proceed: boolean, csrf: string): Promise<boolean> {
    if (typeof handle !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(handle)) return false;
    const key = this.redis.key('logout-flow', handle);
    const raw = await this.redis.client.getdel(key);
    if (!raw) return false;
    const paused = JSON.parse(raw) as PausedFlow;
    if (!proceed) {
      res.redirect(303, '/');
      return true;
    }
    const operation = paused.operationId ? await this.operations.get(paused.operationId) : null;
    const step = await this.executor.run(paused.flowId, paused.context, paused.resumeAt, operation);
    await this.render(res, paused.flowId, paused.context, step, paused.next, csrf);
    return true;
  }

  /** Records what the logout page saw of one front-channel delivery. */
  async frontchannelResult(deliveryId: string, token: unknown, outcome: unknown): Promise<boolean> {
    if (typeof token !== 'string' || !safeEqual(token, this.reportToken(deliveryId))) return false;
    const loaded = outcome === 'loaded';
    const now = new Date();
    const result = await this.db.getRepository(LogoutDelivery).update({ id: deliveryId, status: In(['pending']) }, {
      status: loaded ? 'succeeded' : 'failed', attempts: 1, lastError: loaded ? null : 'the page did not load in time', updatedAt: now, completedAt: now,
      attemptLog: [{ at: now.toISOString(), ms: 0, httpStatus: null, result: loaded ? 'succeeded' : 'failed', error: loaded ? null : 'the page did not load in time', messageId: null }],
    });
    if (result.affected) {
      const delivery = await this.db.getRepository(LogoutDelivery).findOneByOrFail({ id: deliveryId });
      await this.operations.settle(delivery.operationId);
    }
    return true;
  }

  private async render(res: Response, flowId: string, context: FlowContext, step: FlowStep, next: string, csrf: string): Promise<void> {
    if (step.kind !== 'done') {
      const handle = randomToken(16);
      const paused: PausedFlow = { flowId, context, resumeAt: step.resumeAt, operationId: step.operation?.id ?? null, next };
      await this.redis.client.set(this.redis.key('logout-flow', handle), JSON.stringify(paused), 'EX', PAUSE_TTL_SECONDS);
      const buttons = `<input type="hidden" name="flow" value="${h(handle)}">${step.kind === 'confirm'
        ? '<button type="submit" name="answer" value="yes">Sign out</button> <button type="submit" name="answer" value="no" class="link">Cancel</button>'
        : '<button type="submit" name="answer" value="yes">Continue</button>'}`;
      res.type('html').send(page(step.kind === 'confirm' ? 'Sign out?' : 'Signing out', `<p>${h(step.text)}</p>${form('/logout/flow', csrf, buttons)}`));
      return;
    }
    const destination = step.redirectTo && next === '/logout/done' ? step.redirectTo : next;
    const frames = step.operation ? await this.frames(step.operation.id) : [];
    if (!frames.length) return res.redirect(303, destination);
    res.type('html').send(logoutPage(frames, destination, this.config.delivery.frontchannelTimeoutMs));
  }

  private async frames(operationId: string): Promise<FrontchannelFrame[]> {
    const deliveries = await this.db.getRepository(LogoutDelivery).find({ where: { operationId, status: 'pending', channel: In(['frontchannel_oidc', 'frontchannel_saml_iframe']) } });
    const frames: FrontchannelFrame[] = [];
    for (const delivery of deliveries) {
      const session = (await this.db.getRepository(ProviderSession).findOne({ where: { id: delivery.providerSessionId }, relations: { provider: true } })) as SessionWithProvider;
      const step = await this.protocols.for(session.provider.protocol).buildFrontchannelStep(delivery, session);
      if (step.kind === 'redirect') continue; // native chains are walked by the SAML issue's controller
      frames.push({ deliveryId: delivery.id, reportToken: this.reportToken(delivery.id), url: step.url, fields: step.kind === 'iframe_post' ? step.fields : undefined });
    }
    return frames;
  }

  private reportToken(deliveryId: string): string {
    return createHmac('sha256', this.secret).update(`frontchannel|${deliveryId}`).digest('base64url');
  }
}

