import { Injectable, Logger } from '@nestjs/common';
import {
  type Actor,
  ANSWERED_ROW,
  AuditService,
  BACKCHANNELS,
  FRONTCHANNELS,
  SSF_CHANNELS,
  Clock,
  type DeliveryChannel,
  type DeliveryStatus,
  leanColumns,
  leanEntities,
  LogoutDelivery,
  LogoutDeliveryPiece,
  LogoutOperation,
  LogoutOperationUser,
  type LogoutOutcome,
  type LogoutTrigger,
  oneOf,
  OPEN_ROW,
  Provider,
  ProviderSession,
  SignoffError,
} from '@signoff/core';
import { DataSource, type EntityManager, In, IsNull, LessThan, Not } from 'typeorm';
import {
  type DeliveryTarget,
  type LogoutReason,
  logoutReasonOf,
  readEachOnce,
  readEachTime,
  type ReadOnce,
  type SessionWithProvider,
} from './logout-protocol';
import { LogoutMetrics } from './logout-metrics';
import { OutboxRelay } from './outbox-relay';
import { PIECES_WAITING_ON_POSTGRES } from './outbox-rows';
import { entitiesWhereOneOf, rowsOf } from './returning-rows';

/** Not final: under way, or (`held`) waiting for its paused SSF stream to be enabled again. */
const OPEN_STATUSES: DeliveryStatus[] = ['pending', 'queued', 'sending', 'held'];
/** Front-channel channels, run by the user's browser: iframes on the logout page, or the main tab (native chain). */
export const IFRAME_CHANNELS: DeliveryChannel[] = ['frontchannel_oidc', 'frontchannel_saml_iframe'];
export const NATIVE_CHANNELS: DeliveryChannel[] = ['frontchannel_saml_native'];
/** How many attempts a delivery row keeps in its log. */
export const ATTEMPT_LOG_SIZE = 20;

/** How often awaitOutcome looks again. */
const OUTCOME_POLL_MS = 100;

/** What came of an operation one waited for: its outcome, `open` when not yet complete, `gone` when it vanished meanwhile. */
export type AwaitedOutcome = LogoutOutcome | 'open' | 'gone';

/** An operation a settle completed: how it ended, and its deliveries' counts (LogoutOperationsService.settleIn). */
export interface SettledOperation {
  operationId: string;
  outcome: LogoutOutcome;
  total: number;
  succeeded: number;
  failed: number;
}

/**
 * A delivery with the provider it tells (what the operation's detail shows of each). The relation
 * loads a deleted application's tombstone like any provider (deletedAt is a plain column, not
 * TypeORM's soft delete), so its deliveries keep showing, with its name and when it was deleted.
 */
export type DeliveryWithProvider = LogoutDelivery & {
  provider: { slug: string; name: string; deletedAt: Date | null };
};

export type OperationWithDeliveries = LogoutOperation & {
  deliveries: DeliveryWithProvider[];
  /** Some of a bulk logout's deliveries are still to be written as rows (OutboxPieces): `deliveries` is not whole yet. */
  writing: boolean;
};

/**
 * An operation as its detail page shows it however many deliveries it has: how many are in each
 * status, how many an administrator may send again, and the initiating application's name.
 */
export type OperationOverview = LogoutOperation & {
  /** Some deliveries are still pieces (a bulk logout on PostgreSQL just after its commit): the counts are not whole yet. */
  writing: boolean;
  deliveryCounts: Partial<Record<DeliveryStatus, number>>;
  retryable: number;
  initiatingProviderName: string | null;
};

/** Which operations `list` returns; every member narrows. */
export interface OperationFilter {
  trigger?: LogoutTrigger;
  /** `open`: not complete yet. */
  outcome?: LogoutOutcome | 'open';
  /** Operations about this user (logout_operation_users). */
  userId?: string;
  /** Operations with a delivery to this provider, or started by it. */
  providerId?: string;
  /** Operations with at least one delivery in this status (e.g. `dead`: what the dashboard counts). */
  deliveryStatus?: DeliveryStatus;
  /** Created at or after. */
  since?: Date;
  /** Created before. */
  until?: Date;
}

/** An operation as lists show it: the users it is about, and how many of its deliveries are in each status. */
export type OperationListing = LogoutOperation & {
  userIds: string[];
  deliveryCounts: Partial<Record<DeliveryStatus, number>>;
};

/** What the admin console's dashboard shows of the logout engine (`dashboard`). */
export interface DashboardNumbers {
  /** Operations created in the last 24 hours, by outcome (`open`: not complete yet). */
  operationsLast24h: Record<LogoutOutcome | 'open', number>;
  /** Deliveries that failed (refused, or no answer on the front channel) in the last 24 hours. */
  deliveriesFailing: number;
  /** Back-channel deliveries that ran out of attempts in the last 24 hours. */
  deliveriesDead: number;
  /** The outbox: back-channel deliveries not yet sent (pending, queued or sending), and when the oldest was written. */
  outbox: { pending: number; oldestPendingAt: Date | null };
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** What an administrator may send again: only these, and only over a back channel. */
const RETRYABLE: DeliveryStatus[] = ['failed', 'dead'];

/**
 * The books of the logout engine: operations and their deliveries, read, recorded and closed once every
 * delivery has reached a final state. Nothing outside libs/logout reads these tables.
 */
@Injectable()
export class LogoutOperationsService {
  private readonly logger = new Logger(LogoutOperationsService.name);

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly relay: OutboxRelay,
    private readonly metrics: LogoutMetrics,
  ) {}

  /**
   * Operations, newest first, a page at a time, each with the users it is about and its deliveries
   * counted by status. Three queries whatever the page size: the page (and its total), its users,
   * its counts.
   */
  async list(
    filter: OperationFilter,
    page: { limit: number; offset: number },
  ): Promise<{ items: OperationListing[]; total: number }> {
    const query = this.db.getRepository(LogoutOperation).createQueryBuilder('o');
    if (filter.trigger) query.andWhere('o.trigger = :trigger', { trigger: filter.trigger });
    if (filter.outcome === 'open') query.andWhere('o.completed_at IS NULL');
    else if (filter.outcome) query.andWhere('o.outcome = :outcome', { outcome: filter.outcome });
    if (filter.userId)
      query.andWhere(
        'EXISTS (SELECT 1 FROM logout_operation_users ou WHERE ou.operation_id = o.id AND ou.user_id = :userId)',
        { userId: filter.userId },
      );
    if (filter.providerId)
      query.andWhere(
        '(o.initiating_provider_id = :providerId OR EXISTS (SELECT 1 FROM logout_deliveries pd WHERE pd.operation_id = o.id AND pd.provider_id = :providerId))',
        { providerId: filter.providerId },
      );
    if (filter.deliveryStatus)
      query.andWhere(
        'EXISTS (SELECT 1 FROM logout_deliveries sd WHERE sd.operation_id = o.id AND sd.status = :deliveryStatus)',
        { deliveryStatus: filter.deliveryStatus },
      );
    if (filter.since) query.andWhere('o.created_at >= :since', { since: filter.since.getTime() });
    if (filter.until) query.andWhere('o.created_at < :until', { until: filter.until.getTime() });
    const [operations, total] = await query
      .orderBy('o.created_at', 'DESC')
      .addOrderBy('o.id', 'DESC')
      .take(page.limit)
      .skip(page.offset)
      .getManyAndCount();
    if (!operations.length) return { items: [], total };

    const ids = operations.map((operation) => operation.id);
    const users = await this.db
      .getRepository(LogoutOperationUser)
      .find({ where: { operationId: In(ids) }, order: { userId: 'ASC' } });
    const counts: Array<{ operationId: string; status: DeliveryStatus; count: string | number }> = await this.db
      .getRepository(LogoutDelivery)
      .createQueryBuilder('d')
      .select('d.operation_id', 'operationId')
      .addSelect('d.status', 'status')
      .addSelect('COUNT(*)', 'count')
      .where('d.operation_id IN (:...ids)', { ids })
      .groupBy('d.operation_id')
      .addGroupBy('d.status')
      .getRawMany();
    const items = operations.map((operation) =>
      Object.assign(operation, {
        userIds: users.filter((row) => row.operationId === operation.id).map((row) => row.userId),
        deliveryCounts: Object.fromEntries(
          counts.filter((row) => row.operationId === operation.id).map((row) => [row.status, Number(row.count)]),
        ),
      }),
    );
    return { items, total };
  }

  /**
   * Sends a back-channel delivery that failed or died once more, now: back to `pending` with a fresh
   * attempt count (its attempt log keeps the history), its operation reopened to settle again when it
   * is done; audited as `logout.delivery_retried`. A front-channel delivery can be retried only with
   * the user's browser here to run it (`inBrowser`: the user's own logout page asks), nor can one that
   * has not failed: `delivery_not_retryable` (409).
   */
  async retryDelivery(
    deliveryId: string,
    actor: Actor,
    options: { inBrowser?: boolean } = {},
  ): Promise<DeliveryWithProvider> {
    await this.db.transaction(async (tx) => {
      const delivery = await tx.findOneBy(LogoutDelivery, { id: deliveryId });
      if (!delivery) throw new SignoffError('not_found', 'No such logout delivery.');
      const refusal = whyNotRetryable(delivery, options.inBrowser ?? false);
      if (refusal) throw new SignoffError('delivery_not_retryable', refusal);
      if (!(await this.retryIn(tx, delivery, actor)))
        throw new SignoffError('delivery_not_retryable', 'The delivery changed meanwhile (retried by someone else).');
    });
    this.relay.kick();
    return (await this.db
      .getRepository(LogoutDelivery)
      .findOneOrFail({ where: { id: deliveryId }, relations: { provider: true } })) as DeliveryWithProvider;
  }

  /** `retryDelivery` for every back-channel delivery of the operation that failed or died; returns their ids. */
  async retryOperation(operationId: string, actor: Actor): Promise<{ retried: string[] }> {
    const retried = await this.db.transaction(async (tx) => {
      if (!(await tx.existsBy(LogoutOperation, { id: operationId })))
        throw new SignoffError('not_found', 'No such logout operation.');
      const due = await tx.find(LogoutDelivery, {
        where: { operationId, channel: In(BACKCHANNELS), status: In(RETRYABLE) },
        order: { createdAt: 'ASC' },
      });
      const ids: string[] = [];
      for (const delivery of due) if (await this.retryIn(tx, delivery, actor)) ids.push(delivery.id);
      return ids;
    });
    if (retried.length) this.relay.kick();
    return { retried };
  }

  /**
   * Puts one delivery back in the outbox, in the caller's transaction, if it is still as it was read
   * (a concurrent retry may have taken it first): true when it did.
   */
  private async retryIn(tx: EntityManager, delivery: LogoutDelivery, actor: Actor): Promise<boolean> {
    const now = this.clock.now();
    const updated = await tx.update(
      LogoutDelivery,
      { id: delivery.id, status: delivery.status, attempts: delivery.attempts },
      { status: 'pending', attempts: 0, nextAttemptAt: null, leaseUntil: null, completedAt: null, updatedAt: now },
    );
    if (!updated.affected) return false;
    // Open again until this delivery is final: settle() then decides the outcome with the new count.
    await tx.update(LogoutOperation, { id: delivery.operationId }, { completedAt: null, outcome: null });
    await this.audit.record(
      {
        action: 'logout.delivery_retried',
        actor,
        target: { type: 'logout_delivery', id: delivery.id },
        details: {
          operationId: delivery.operationId,
          providerId: delivery.providerId,
          channel: delivery.channel,
          was: delivery.status,
          attempts: delivery.attempts,
        },
      },
      tx,
    );
    return true;
  }

  /** The dashboard's numbers about logouts, for the 24 hours before `now`. */
  async dashboard(now: Date): Promise<DashboardNumbers> {
    const since = now.getTime() - DAY_MS;
    const outcomes: Array<{ outcome: LogoutOutcome | null; count: string | number }> = await this.db
      .getRepository(LogoutOperation)
      .createQueryBuilder('o')
      .select('o.outcome', 'outcome')
      .addSelect('COUNT(*)', 'count')
      .where('o.created_at >= :since', { since })
      .groupBy('o.outcome')
      .getRawMany();
    const operationsLast24h = { complete: 0, partial: 0, failed: 0, open: 0 };
    for (const row of outcomes) operationsLast24h[row.outcome ?? 'open'] += Number(row.count);
    const finalSince = (status: DeliveryStatus) =>
      this.db
        .getRepository(LogoutDelivery)
        .createQueryBuilder('d')
        .where('d.status = :status AND d.completed_at >= :since', { status, since })
        .getCount();
    const outbox: { pending: string | number; oldest: string | number | null } | undefined = await this.db
      .getRepository(LogoutDelivery)
      .createQueryBuilder('d')
      .select('COUNT(*)', 'pending')
      .addSelect('MIN(d.created_at)', 'oldest')
      // Under way only: an event held for a paused SSF stream waits on purpose, it is not stuck.
      .where(`d.${OPEN_ROW}`)
      .andWhere('d.status IN (:...open)', { open: OPEN_STATUSES.filter((status) => status !== 'held') })
      .andWhere('d.channel IN (:...channels)', { channels: BACKCHANNELS })
      .getRawOne();
    // A bulk logout's deliveries still in pieces (OutboxPieces, PostgreSQL): written, not handed out yet.
    const [pieces] = (
      this.db.options.type === 'postgres' ? await this.db.query(PIECES_WAITING_ON_POSTGRES) : []
    ) as Array<{ count: string | number; oldest: string | number | null }>;
    const oldest = [outbox?.oldest, pieces?.oldest].filter((at) => at !== null && at !== undefined).map(Number);
    return {
      operationsLast24h,
      deliveriesFailing: await finalSince('failed'),
      deliveriesDead: await finalSince('dead'),
      outbox: {
        pending: Number(outbox?.pending ?? 0) + Number(pieces?.count ?? 0),
        oldestPendingAt: oldest.length ? new Date(Math.min(...oldest)) : null,
      },
    };
  }

  /**
   * Front-channel deliveries whose logout page never reported (the tab was closed) fail once they
   * are older than `olderThanMs`, so their operations can complete. Returns how many.
   */
  async failAbandonedFrontchannel(olderThanMs: number): Promise<number> {
    const now = this.clock.now();
    const abandoned = await this.db.getRepository(LogoutDelivery).find({
      where: {
        completedAt: IsNull(),
        status: 'pending',
        channel: In(FRONTCHANNELS),
        // Since it was last (re)started: a front channel the user tried again from the summary page
        // is pending again, with its old createdAt, and must get its full time in the new frame.
        updatedAt: LessThan(new Date(now.getTime() - olderThanMs)),
      },
      select: { id: true, operationId: true, channel: true },
      take: 500,
    });
    if (!abandoned.length) return 0;
    // RETURNING: only the rows this statement failed are counted (one the browser reported meanwhile,
    // or another sweep failed, was counted where it was recorded).
    const [sql, parameters] = this.db.driver.escapeQueryWithParameters(
      `UPDATE logout_deliveries SET status = 'failed', last_error = :error, updated_at = :now, completed_at = :now
        WHERE id IN (:...ids) AND status = 'pending' RETURNING id, channel`,
      {
        ids: abandoned.map((row) => row.id),
        now: now.getTime(),
        error:
          'the logout page never reported (the browser left, or ran no script): whether the application was told is unknown',
      },
    );
    const failed = await rowsOf<{ id: string; channel: DeliveryChannel }>(this.db, sql, parameters);
    for (const row of failed) this.metrics.frontchannelEnded(row.channel, 'failed');
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
    const recorded = await this.db.transaction(async (tx) => {
      // The row as it is now, not as the caller read it: a timeout report, the chain or the sweeper may
      // have failed it meanwhile, and the attempt log must not lose their entries.
      const current = await tx.findOneBy(LogoutDelivery, { id: delivery.id, status: In(from) });
      if (!current) return null;
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
      if (!updated.affected) return null; // another writer changed the row first; its record stands
      // A failed delivery may have completed its operation: a confirmation reopens it, to settle again with the new count.
      if (current.status === 'failed' && outcome.ok)
        await tx.update(LogoutOperation, { id: current.operationId }, { completedAt: null, outcome: null });
      return current;
    });
    if (!recorded) return;
    // Counted once committed: a transaction that fails to commit recorded nothing.
    this.metrics.frontchannelEnded(recorded.channel, result);
    // Settled after the commit, not inside it: two frames of one logout report at once, and under
    // PostgreSQL's read committed each transaction would see the other's delivery still pending, so
    // neither would settle the operation. After both commits, the later settle sees both.
    await this.settle(recorded.operationId);
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
    if (!delivery.providerSessionId) throw new Error(`delivery ${delivery.id} tells a stream, not a provider session`);
    const session = (await this.db.getRepository(ProviderSession).findOneOrFail({
      where: { id: delivery.providerSessionId },
      relations: { provider: true },
    })) as SessionWithProvider;
    const operation = await this.db
      .getRepository(LogoutOperation)
      .findOneOrFail({ where: { id: delivery.operationId }, select: { id: true, trigger: true, initiatorType: true } });
    return { session, reason: logoutReasonOf(operation) };
  }

  /**
   * The targets of a batch of deliveries, by delivery id, in three reads however many there are: their
   * provider sessions, their providers and their operations. A delivery whose session is gone has none.
   */
  async targetsOf(
    deliveries: Array<{ id: string; providerSessionId: string; operationId: string }>,
    once: ReadOnce = readEachTime,
  ): Promise<Map<string, DeliveryTarget>> {
    const [isOneOf, ids] = oneOf(
      this.db.manager,
      'id',
      [...new Set(deliveries.map((delivery) => delivery.providerSessionId))],
      1,
    );
    const found = leanEntities(
      this.db.manager,
      ProviderSession,
      // A named statement: the worker reads targets for every batch, with the same text each time
      // (its columns named: see leanColumns).
      await rowsOf(
        this.db,
        `SELECT ${leanColumns(this.db.manager, ProviderSession)} FROM provider_sessions WHERE ${isOneOf}`,
        [ids],
        {
          name: 'signoff_delivery_targets',
        },
      ),
    ) as SessionWithProvider[];
    // The providers apart, through `once` (the worker's batches share them for a second, as they
    // share the applications' settings): a batch's sessions share a few applications.
    const providers = await readEachOnce(
      once,
      'provider:',
      found.map((session) => session.providerId),
      (ids) => entitiesWhereOneOf(this.db, Provider, 'id', ids),
      (provider) => provider.id,
    );
    const sessions = new Map<string, SessionWithProvider>();
    for (const session of found) {
      session.provider = providers.get(session.providerId)!;
      if (session.provider) sessions.set(session.id, session);
    }
    // An operation's trigger and initiator never change: `once` may keep them as long as it likes.
    const reasons = new Map<string, LogoutReason>();
    for (const [id, reason] of await Promise.all(
      [...new Set(deliveries.map((delivery) => delivery.operationId))].map(
        async (id) =>
          [
            id,
            await once(`operation-reason:${id}`, async () => {
              const operation = await this.db
                .getRepository(LogoutOperation)
                .findOne({ where: { id }, select: { id: true, trigger: true, initiatorType: true } });
              return operation ? logoutReasonOf(operation) : null;
            }),
          ] as const,
      ),
    ))
      if (reason) reasons.set(id, reason);
    const targets = new Map<string, DeliveryTarget>();
    for (const delivery of deliveries) {
      const session = sessions.get(delivery.providerSessionId);
      const reason = reasons.get(delivery.operationId);
      if (session && reason) targets.set(delivery.id, { session, reason });
    }
    return targets;
  }

  /** The ID of the message a front-channel step carries: the application's answer names it (InResponseTo). */
  async recordMessageId(deliveryId: string, messageId: string): Promise<void> {
    await this.db.getRepository(LogoutDelivery).update({ id: deliveryId }, { messageId });
  }

  /** The front-channel delivery to `providerId` whose message is `messageId`: what an application's answer settles. */
  answeredBy(providerId: string, messageId: string): Promise<(LogoutDelivery & { provider: { name: string } }) | null> {
    return (
      this.db
        .getRepository(LogoutDelivery)
        .createQueryBuilder('d')
        .leftJoinAndSelect('d.provider', 'provider')
        // Found by its message (one row) through the partial index on message_id, whose condition is
        // said as the index says it; the application is checked on that row (`|| ''` keeps SQLite, which
        // has no statistics, from choosing the index on provider_id: all of the application's rows).
        .where(`d.message_id = :messageId AND d.${ANSWERED_ROW}`, { messageId })
        .andWhere("d.provider_id || '' = :providerId", { providerId })
        .getOne()
    );
  }

  /** The users an operation is about (see `list`), by id. */
  async userIdsOf(operationId: string): Promise<string[]> {
    const rows = await this.db
      .getRepository(LogoutOperationUser)
      .find({ where: { operationId }, order: { userId: 'ASC' } });
    return rows.map((row) => row.userId);
  }

  /** An operation with its counts (see OperationOverview), without its deliveries: `deliveriesOf` pages them. */
  async overview(id: string): Promise<OperationOverview | null> {
    const operation = await this.db.getRepository(LogoutOperation).findOneBy({ id });
    if (!operation) return null;
    // Before the counts, as in `get`: once no piece is left, the counts below see every row.
    const writing = await this.writing(id);
    const counts: Array<{ status: DeliveryStatus; count: string | number }> = await this.db
      .getRepository(LogoutDelivery)
      .createQueryBuilder('d')
      .select('d.status', 'status')
      .addSelect('COUNT(*)', 'count')
      .where('d.operation_id = :id', { id })
      .groupBy('d.status')
      .getRawMany();
    const retryable = await this.db.getRepository(LogoutDelivery).countBy({
      operationId: id,
      channel: In(BACKCHANNELS),
      status: In(RETRYABLE),
    });
    const initiating = operation.initiatingProviderId
      ? await this.db.getRepository(Provider).findOneBy({ id: operation.initiatingProviderId })
      : null;
    return Object.assign(operation, {
      writing,
      deliveryCounts: Object.fromEntries(counts.map((row) => [row.status, Number(row.count)])),
      retryable,
      initiatingProviderName: initiating?.name ?? null,
    });
  }

  /**
   * A page of an operation's deliveries, with their providers: those not confirmed first (failed and
   * dead, then those under way), then the confirmed, each oldest first. A bulk logout has thousands:
   * what needs a look comes first.
   */
  async deliveriesOf(id: string, page: { limit: number; offset: number }): Promise<DeliveryWithProvider[]> {
    return (
      (await this.db
        .getRepository(LogoutDelivery)
        .createQueryBuilder('d')
        .leftJoinAndSelect('d.provider', 'provider')
        .addSelect(`CASE d.status WHEN 'failed' THEN 0 WHEN 'dead' THEN 0 WHEN 'succeeded' THEN 2 ELSE 1 END`, 'rank')
        .where('d.operation_id = :id', { id })
        .orderBy('rank', 'ASC')
        .addOrderBy('d.created_at', 'ASC')
        .addOrderBy('d.id', 'ASC')
        // limit/offset, not take/skip: the join is many-to-one, one row per delivery.
        .limit(page.limit)
        .offset(page.offset)
        .getMany()) as DeliveryWithProvider[]
    );
  }

  /** An operation with every delivery (and its provider), oldest delivery first. */
  async get(id: string): Promise<OperationWithDeliveries | null> {
    const operation = await this.db.getRepository(LogoutOperation).findOneBy({ id });
    if (!operation) return null;
    // Before the rows: a piece gone by now has its rows committed, so the read below sees them.
    const writing = await this.writing(id);
    const deliveries = await this.db
      .getRepository(LogoutDelivery)
      .find({ where: { operationId: id }, relations: { provider: true }, order: { createdAt: 'ASC' } });
    return Object.assign(operation, { deliveries, writing });
  }

  /**
   * Whether some of the operation's deliveries are still pieces (OutboxPieces), not rows yet. Asked
   * before the rows are read: a piece is deleted in the statement that commits its rows, so once
   * none is left, every later read sees them all.
   */
  private writing(operationId: string, tx: EntityManager = this.db.manager): Promise<boolean> {
    return tx.exists(LogoutDeliveryPiece, { where: { operationId } });
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
      // SSF events are no session participant's answer (a poll receiver may fetch them hours later):
      // the initiator hears how its fellow applications did as soon as they are done.
      const writing = await this.writing(operationId);
      const participants = await this.db
        .getRepository(LogoutDelivery)
        .find({ where: { operationId, channel: Not(In(SSF_CHANNELS)) }, select: { id: true, status: true } });
      const outcome = writing ? null : participantsOutcome(participants.map((delivery) => delivery.status));
      if (outcome && (await this.db.getRepository(LogoutDelivery).existsBy({ operationId, channel: In(SSF_CHANNELS) })))
        return outcome;
      if (Date.now() >= deadline) return 'open';
      await new Promise((resolve) => setTimeout(resolve, OUTCOME_POLL_MS));
    }
  }

  /**
   * Settles the operations left open with nothing under way: a settle that failed after its
   * deliveries were recorded (the database went away in between). The worker runs it now and then;
   * returns how many it settled.
   */
  async settleOpen(limit = 100): Promise<number> {
    const open = await this.db
      .getRepository(LogoutOperation)
      .createQueryBuilder('o')
      .select('o.id')
      .where('o.completed_at IS NULL')
      .andWhere(
        `NOT EXISTS (SELECT 1 FROM logout_deliveries d WHERE d.operation_id = o.id AND d.${OPEN_ROW} AND d.status IN (:...statuses))`,
        { statuses: OPEN_STATUSES },
      )
      .andWhere('NOT EXISTS (SELECT 1 FROM logout_delivery_pieces p WHERE p.operation_id = o.id)')
      .take(limit)
      .getMany();
    for (const operation of open) await this.settle(operation.id);
    return open.length;
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
  async settle(operationId: string): Promise<void> {
    const settled = await this.settleIn(this.db.manager, operationId);
    if (settled) await this.announce(settled);
  }

  /**
   * settle, inside the caller's transaction: answers how the operation ended if this call completed it
   * (else null), for the caller to announce once its transaction has committed. A transaction rolled
   * back afterwards completed nothing, and must be neither counted nor logged as a logout that ended.
   */
  async settleIn(tx: EntityManager, operationId: string): Promise<SettledOperation | null> {
    // A bulk logout's deliveries still being written after its commit (OutboxPieces): not over yet.
    // Asked first: each statement sees what was committed when it began, and a piece is deleted in
    // the statement that commits its rows, so if none is left here the next read sees those rows.
    if (await this.writing(operationId, tx)) return null;
    // One index probe while deliveries are open: a logout of thousands of sessions settles after each of them.
    if (await tx.exists(LogoutDelivery, { where: { operationId, completedAt: IsNull(), status: In(OPEN_STATUSES) } }))
      return null;
    const total = await tx.count(LogoutDelivery, { where: { operationId } });
    const succeeded = await tx.count(LogoutDelivery, { where: { operationId, status: 'succeeded' } });
    const failed = await tx.count(LogoutDelivery, { where: { operationId, status: In(['failed', 'dead']) } });
    const outcome = outcomeOf({ total, succeeded, failed });
    const settled = await tx.update(
      LogoutOperation,
      { id: operationId, completedAt: IsNull() },
      { completedAt: this.clock.now(), outcome },
    );
    return settled.affected ? { operationId, outcome, total, succeeded, failed } : null;
  }

  /**
   * An operation completed (settleIn said so, and its transaction has committed): counted, and when it
   * ended `partial` or `failed`, logged at warn with the applications that were not told and why (the
   * first few), so the log says what the console shows. The log's read failing loses the log line only.
   */
  async announce({ operationId, outcome, ...counts }: SettledOperation): Promise<void> {
    this.metrics.ended(outcome);
    if (outcome === 'complete') return;
    const unfinished = (await this.db.manager
      .find(LogoutDelivery, {
        where: { operationId, status: Not('succeeded') },
        relations: { provider: true },
        order: { createdAt: 'ASC' },
        take: 10,
      })
      .catch(() => [])) as DeliveryWithProvider[];
    this.logger.warn({
      msg: `logout ${outcome}: ${counts.total - counts.succeeded} of ${counts.total} deliveries not confirmed (${counts.failed} failed or dead, ${counts.total - counts.succeeded - counts.failed} skipped)`,
      operation: operationId,
      outcome,
      applications: unfinished.map((delivery) => ({
        application: delivery.provider?.slug,
        channel: delivery.channel,
        status: delivery.status,
        reason: delivery.lastError,
      })),
    });
  }
}

/** Why an administrator cannot send this delivery again, or null when they can. */
function whyNotRetryable(delivery: LogoutDelivery, inBrowser: boolean): string | null {
  if (delivery.channel === 'ssf_poll')
    return 'A polled security event cannot be sent again: the receiver fetches it (RFC 8936), and has not acknowledged it.';
  if (!inBrowser && !BACKCHANNELS.includes(delivery.channel))
    return `A ${delivery.channel} delivery cannot be retried: only the user's browser can run a front-channel logout, and it has left.`;
  if (!RETRYABLE.includes(delivery.status))
    return `Only a failed or dead delivery can be retried; this one is ${delivery.status}.`;
  return null;
}

/**
 * An operation's outcome once none of its deliveries is open: `complete` when every one succeeded
 * (none at all included), `failed` when every one failed or died, `partial` otherwise.
 */
function outcomeOf(counts: { total: number; succeeded: number; failed: number }): LogoutOutcome {
  if (counts.succeeded === counts.total) return 'complete';
  return counts.failed === counts.total ? 'failed' : 'partial';
}

/**
 * The outcome of a logout for the applications whose sessions it ended (SSF events left out), from
 * their deliveries' statuses, as LogoutOperationsService.settle decides it; null while one is open.
 */
export function participantsOutcome(statuses: readonly DeliveryStatus[]): LogoutOutcome | null {
  if (statuses.some((status) => OPEN_STATUSES.includes(status))) return null;
  return outcomeOf({
    total: statuses.length,
    succeeded: statuses.filter((status) => status === 'succeeded').length,
    failed: statuses.filter((status) => status === 'failed' || status === 'dead').length,
  });
}
