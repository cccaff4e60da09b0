import { Injectable } from '@nestjs/common';
import {
  BACKCHANNELS,
  Clock,
  type DeliveryChannel,
  type DeliveryStatus,
  LogoutDelivery,
  LogoutOperation,
  type LogoutOutcome,
  ProviderSession,
} from '@signoff/core';
import { DataSource, type EntityManager, In, IsNull, LessThan, Not } from 'typeorm';
import { type DeliveryTarget, logoutReasonOf, type SessionWithProvider } from './logout-protocol';

const OPEN_STATUSES: DeliveryStatus[] = ['pending', 'queued', 'sending'];
/** Front-channel channels, run by the user's browser: iframes on the logout page, or the main tab (native chain). */
export const IFRAME_CHANNELS: DeliveryChannel[] = ['frontchannel_oidc', 'frontchannel_saml_iframe'];
export const NATIVE_CHANNELS: DeliveryChannel[] = ['frontchannel_saml_native'];
/** Channels settled by the application's answer (a LogoutResponse), not by a page load. */
export const ANSWERED_CHANNELS: DeliveryChannel[] = ['frontchannel_saml_iframe', 'frontchannel_saml_native'];
/** How many attempts a delivery row keeps in its log. */
export const ATTEMPT_LOG_SIZE = 20;

/** How often awaitOutcome looks again. */
const OUTCOME_POLL_MS = 100;

/** What came of an operation one waited for: its outcome, `open` when not yet complete, `gone` when it vanished meanwhile. */
export type AwaitedOutcome = LogoutOutcome | 'open' | 'gone';

export type OperationWithDeliveries = LogoutOperation & {
  deliveries: Array<LogoutDelivery & { provider: { slug: string; name: string } }>;
};

/**
 * The books of the logout engine: operations and their deliveries, read, recorded and closed once every
 * delivery has reached a final state. Nothing outside libs/logout reads these tables.
 */
@Injectable()
export class LogoutOperationsService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  /**
   * Front-channel deliveries whose logout page never reported (the tab was closed) fail once they
   * are older than `olderThanMs`, so their operations can complete. Returns how many.
   */
  async failAbandonedFrontchannel(olderThanMs: number): Promise<number> {
    const now = this.clock.now();
    const abandoned = await this.db.getRepository(LogoutDelivery).find({
      where: {
        status: 'pending',
        channel: Not(In(BACKCHANNELS)),
        createdAt: LessThan(new Date(now.getTime() - olderThanMs)),
      },
      select: { id: true, operationId: true },
      take: 500,
    });
    if (!abandoned.length) return 0;
    await this.db.getRepository(LogoutDelivery).update(
      { id: In(abandoned.map((row) => row.id)), status: 'pending' },
      {
        status: 'failed',
        lastError: 'the logout page never reported: the browser left before the application was told',
        updatedAt: now,
        completedAt: now,
      },
    );
    for (const operationId of new Set(abandoned.map((row) => row.operationId))) await this.settle(operationId);
    return abandoned.length;
  }

  /**
   * The outcome of a front-channel delivery, as the browser saw it or the application answered:
   * recorded when the delivery is still in one of `from` (its attempt log appended), and its operation
   * settled — reopened first when a delivery that had failed turns out confirmed after all.
   */
  async recordFrontchannel(
    delivery: Pick<LogoutDelivery, 'id'>,
    outcome: { ok: boolean; error: string | null; messageId: string | null },
    from: DeliveryStatus[] = ['pending'],
  ): Promise<void> {
    const now = this.clock.now();
    const result: DeliveryStatus = outcome.ok ? 'succeeded' : 'failed';
    await this.db.transaction(async (tx) => {
      // The row as it is now, not as the caller read it: a timeout report, the chain or the sweeper may
      // have failed it meanwhile, and the attempt log must not lose their entries.
      const current = await tx.findOneBy(LogoutDelivery, { id: delivery.id, status: In(from) });
      if (!current) return;
      const updated = await tx.update(
        LogoutDelivery,
        { id: current.id, status: current.status, attempts: current.attempts },
        {
          status: result,
          attempts: current.attempts + 1,
          lastError: outcome.error,
          updatedAt: now,
          completedAt: now,
          attemptLog: [
            ...current.attemptLog,
            {
              at: now.toISOString(),
              ms: 0,
              httpStatus: null,
              result,
              error: outcome.error,
              messageId: outcome.messageId,
            },
          ].slice(-ATTEMPT_LOG_SIZE),
        },
      );
      if (!updated.affected) return; // another writer changed the row first; its record stands
      // A failed delivery may have completed its operation: a confirmation reopens it, to settle again with the new count.
      if (current.status === 'failed' && outcome.ok)
        await tx.update(LogoutOperation, { id: current.operationId }, { completedAt: null, outcome: null });
      await this.settle(current.operationId, tx);
    });
  }

  /** A delivery, with its provider. */
  delivery(id: string): Promise<(LogoutDelivery & { provider: { name: string } }) | null> {
    return this.db.getRepository(LogoutDelivery).findOne({ where: { id }, relations: { provider: true } });
  }

  /** The front-channel deliveries of an operation that the browser still has to run, oldest first. */
  openFrontchannel(operationId: string): Promise<LogoutDelivery[]> {
    return this.db.getRepository(LogoutDelivery).find({
      where: { operationId, status: 'pending', channel: In([...IFRAME_CHANNELS, ...NATIVE_CHANNELS]) },
      order: { createdAt: 'ASC' },
    });
  }

  /** The provider session a delivery tells, and the reason its operation gives. */
  async targetOf(delivery: LogoutDelivery): Promise<DeliveryTarget> {
    const session = (await this.db.getRepository(ProviderSession).findOneOrFail({
      where: { id: delivery.providerSessionId },
      relations: { provider: true },
    })) as SessionWithProvider;
    const operation = await this.db
      .getRepository(LogoutOperation)
      .findOneOrFail({ where: { id: delivery.operationId }, select: { id: true, trigger: true, initiatorType: true } });
    return { session, reason: logoutReasonOf(operation) };
  }

  /** The ID of the message a front-channel step carries: the application's answer names it (InResponseTo). */
  async recordMessageId(deliveryId: string, messageId: string): Promise<void> {
    await this.db.getRepository(LogoutDelivery).update({ id: deliveryId }, { messageId });
  }

  /** The front-channel delivery to `providerId` whose message is `messageId`: what an application's answer settles. */
  answeredBy(providerId: string, messageId: string): Promise<(LogoutDelivery & { provider: { name: string } }) | null> {
    return this.db
      .getRepository(LogoutDelivery)
      .findOne({ where: { messageId, providerId, channel: In(ANSWERED_CHANNELS) }, relations: { provider: true } });
  }

  async get(id: string): Promise<OperationWithDeliveries | null> {
    const operation = await this.db.getRepository(LogoutOperation).findOneBy({ id });
    if (!operation) return null;
    const deliveries = await this.db
      .getRepository(LogoutDelivery)
      .find({ where: { operationId: id }, relations: { provider: true }, order: { createdAt: 'ASC' } });
    return Object.assign(operation, { deliveries });
  }

  /**
   * Waits up to `waitMs` for an operation to complete: an answer owed to the application that
   * started a logout (a SAML LogoutResponse) goes out once the other participants had their chance.
   * Null when there is no such operation started by `initiatingProviderId` (when given).
   */
  async awaitOutcome(
    operationId: string,
    waitMs: number,
    initiatingProviderId?: string,
  ): Promise<AwaitedOutcome | null> {
    const deadline = Date.now() + waitMs;
    for (let first = true; ; first = false) {
      const operation = await this.db
        .getRepository(LogoutOperation)
        .findOneBy({ id: operationId, ...(initiatingProviderId ? { initiatingProviderId } : {}) });
      if (!operation) return first ? null : 'gone';
      if (operation.completedAt) return operation.outcome!;
      if (Date.now() >= deadline) return 'open';
      await new Promise((resolve) => setTimeout(resolve, OUTCOME_POLL_MS));
    }
  }

  /**
   * Completes the operation if no delivery is still under way: `complete` when every one succeeded,
   * `failed` when every one failed (or died), `partial` otherwise. Safe to call any number of times.
   *
   * A `skipped` delivery (a front-channel-only application, in a logout without a browser: see
   * delivery-plan.ts) is no failure, since nothing went wrong that trying again could fix, but no
   * success either: that application was not told, and its own session lives on. So an operation with
   * skipped deliveries is `partial`, even when they are all it had: the sessions at Signoff ended, not
   * every application heard of it, and a SAML SP that started the logout over SOAP must be answered
   * PartialLogout, not Success (SAML core §3.7.3.2, statusForOutcome).
   */
  async settle(operationId: string, tx: EntityManager = this.db.manager): Promise<void> {
    // One index probe while deliveries are open: a logout of thousands of sessions settles after each of them.
    if (await tx.exists(LogoutDelivery, { where: { operationId, status: In(OPEN_STATUSES) } })) return;
    const total = await tx.count(LogoutDelivery, { where: { operationId } });
    const succeeded = await tx.count(LogoutDelivery, { where: { operationId, status: 'succeeded' } });
    const failed = await tx.count(LogoutDelivery, { where: { operationId, status: In(['failed', 'dead']) } });
    const outcome: LogoutOutcome = succeeded === total ? 'complete' : failed === total ? 'failed' : 'partial';
    await tx.update(
      LogoutOperation,
      { id: operationId, completedAt: IsNull() },
      { completedAt: this.clock.now(), outcome },
    );
  }
}
