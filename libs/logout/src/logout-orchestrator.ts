import { Injectable, Logger } from '@nestjs/common';
import {
  type Actor,
  AuditService,
  Clock,
  type DeliveryChannel,
  IdpSession,
  leanEntities,
  LogoutOperation,
  LogoutOperationUser,
  type LogoutTrigger,
  newId,
  oneOf,
  Provider,
  ProviderSession,
  serialize,
  type SessionEndReason,
} from '@signoff/core';
import { type PlannedDelivery, planDeliveries, planSignals, type SessionToTell } from './delivery-plan';
import { OutboxPieces } from './outbox-pieces';
import { insertDeliveries } from './outbox-rows';
import type { EndedForSignals, PlannedSignal } from './security-events';
import { OutboxRelay } from './outbox-relay';
import { IdpSessionsService } from '@signoff/sessions';
import { DataSource, type EntityManager, In, IsNull } from 'typeorm';
import { readOnce, type SessionWithProvider } from './logout-protocol';
import { LogoutMetrics } from './logout-metrics';
import { LogoutOperationsService, type SettledOperation } from './logout-operations.service';
import { LogoutProtocolRegistry } from './protocol-registry';

export interface EndSessionsRequest {
  trigger: LogoutTrigger;
  initiator: Actor;
  reason: SessionEndReason;
  /** Full SLO: end these IdP sessions and every provider session in them. */
  idpSessionIds?: string[];
  /** Or end only these provider sessions (an "app only" flow); the IdP session lives on. */
  providerSessionIds?: string[];
  /** The provider session whose application asked for the logout, if any. */
  initiatingProviderSessionId?: string | null;
  /** Is the user's browser here to run front-channel deliveries? */
  withBrowser: boolean;
  /**
   * With a browser: the IdP sessions that are this browser's (when not given, all of them). A logout
   * "everywhere" also ends the user's sessions on other devices, whose front channel cannot run here:
   * those are told over their back channels only.
   */
  browserIdpSessionIds?: string[];
  /**
   * Users whose grants end too, even those that outlive sessions (offline_access tokens). Defaults to
   * the users of the ending sessions when the trigger ends the user's credentials (GRANT_ENDING_TRIGGERS).
   */
  userIds?: string[];
  /**
   * Users the operation is about besides those of its sessions and `userIds` (e.g. "end all of this
   * user's sessions" when none was live): recorded in the books only, nothing of theirs ends.
   */
  aboutUserIds?: string[];
}

/** Events to the SSF streams that end no session (see LogoutOrchestrator.signalIn). */
export interface SignalRequest {
  trigger: Extract<LogoutTrigger, 'user_activated' | 'ssf_verification'>;
  initiator: Actor;
  /** Users the events are about (an account enabled again). */
  userIds?: string[];
  /** Events the caller built itself (a verification), given the operation's id. */
  signals?: (operationId: string) => PlannedSignal[];
}

/** A logout as its starter sees it: the operation to watch (GET /api/v1/logout-operations/:id) and the IdP sessions it ended. */
export type StartedLogout = Pick<LogoutOperation, 'id' | 'trigger' | 'idpSessionIds' | 'createdAt'>;

/** What a logout owes once its transaction has committed: its metrics, and its rows' jobs. */
interface OwedAfterCommit {
  rows: PlannedDelivery[];
  /** The back-channel rows written `queued`, whose jobs this process adds (OutboxRelay.handOut). */
  toHandOut: PlannedDelivery[];
  /** Pieces of the outbox written for after the commit (OutboxPieces.unpackAfterCommit). */
  pieces: number;
  /** The operation, when it completed in its own transaction (nothing to deliver): announced after the commit. */
  settled: SettledOperation | null;
}

/** Triggers after which none of the user's grants may be used again, even after a reactivation. */
const GRANT_ENDING_TRIGGERS: readonly string[] = ['user_deactivated', 'password_changed', 'global_revocation'];

/**
 * Ends sessions and starts telling the applications. In ONE transaction: the sessions end, the
 * operation and one delivery per (provider session, channel) are written — the outbox — and each
 * protocol does its bookkeeping (OIDC revokes tokens). After the commit the relay hands the
 * back-channel rows to the queue; if Redis is down they wait in the table, late but not lost. A bulk
 * logout on PostgreSQL writes its back-channel deliveries past the first ROWS_AT_ONCE as pieces, turned
 * into rows right after the commit (outbox-rows.ts, ROWS_AT_ONCE; OutboxPieces).
 */
@Injectable()
export class LogoutOrchestrator {
  private readonly logger = new Logger(LogoutOrchestrator.name);

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly sessions: IdpSessionsService,
    private readonly protocols: LogoutProtocolRegistry,
    private readonly operations: LogoutOperationsService,
    private readonly audit: AuditService,
    private readonly relay: OutboxRelay,
    private readonly pieces: OutboxPieces,
    private readonly metrics: LogoutMetrics,
  ) {}

  async endSessions(request: EndSessionsRequest): Promise<StartedLogout> {
    const operation = await this.db.transaction((tx) => this.endSessionsIn(tx, request));
    this.afterCommit(operation);
    return operation;
  }

  /** What each logout written by this process owes once it is committed (afterCommit). */
  private readonly owed = new WeakMap<StartedLogout, OwedAfterCommit>();

  /**
   * Hands the committed back-channel deliveries of `started` (what endSessionsIn or signalIn answered)
   * to the queue, and counts the logout in the metrics (and its end, when it had nothing to deliver and
   * completed at once: LogoutOperationsService.announce); call after committing their transaction. A
   * transaction that rolled back never calls it: its rows were never written, nothing is counted,
   * and the map forgets them with the operation.
   */
  afterCommit(started: StartedLogout | null): void {
    const owed = started ? this.owed.get(started) : undefined;
    if (!started || !owed) return;
    this.owed.delete(started);
    this.metrics.started(started.trigger, owed.rows);
    if (owed.settled) void this.operations.announce(owed.settled).catch(() => undefined);
    if (owed.toHandOut.length) this.relay.handOut(owed.toHandOut);
    if (owed.pieces) this.pieces.unpackAfterCommit(started.id, owed.pieces);
  }

  /** endSessions inside the caller's transaction (e.g. with the user's deactivation); then call afterCommit. */
  async endSessionsIn(tx: EntityManager, request: EndSessionsRequest): Promise<StartedLogout> {
    const now = this.clock.now();
    const idpSessionIds = request.idpSessionIds ?? [];
    // Read raw and built lean (leanEntities): a bulk logout ends thousands, and the query builder's
    // hydration of them cost more than the statement.
    const [isOneOf, ids] = request.providerSessionIds
      ? oneOf(tx, 'id', request.providerSessionIds, 1)
      : oneOf(tx, 'idp_session_id', idpSessionIds, 1);
    // Two logouts of the same sessions at once (a second click, an application's logout during a
    // deactivation) must not both end them: the second would tell the applications again, and fail on
    // the outbox's one row per (session, channel). So the sessions are locked as they are read.
    // PostgreSQL: FOR UPDATE, where the second waits for the first to commit and then leaves out the
    // sessions it ended (READ COMMITTED reads a locked row again). SQLite: its write lock, taken before
    // the read (serialize), which another process's logout waits for; in one process they take turns.
    const postgres = tx.connection.options.type === 'postgres';
    if (!postgres) await serialize(tx, 'provider-sessions');
    const ending = leanEntities(
      tx,
      ProviderSession,
      await tx.query(
        `SELECT * FROM provider_sessions WHERE ${isOneOf} AND ended_at IS NULL ORDER BY created_at, id${postgres ? ' FOR UPDATE' : ''}`,
        [ids],
      ),
    ) as SessionWithProvider[];
    // The providers apart, once each: thousands of sessions share a handful of applications, and
    // hydrating a joined provider per session costs more than the rest of the logout's reads.
    const providers = new Map(
      (await tx.find(Provider, { where: { id: In([...new Set(ending.map((session) => session.providerId))]) } })).map(
        (provider) => [provider.id, provider],
      ),
    );
    for (const session of ending) session.provider = providers.get(session.providerId)!;

    if (request.providerSessionIds)
      for (const chunk of chunks(ending))
        await tx.update(
          ProviderSession,
          { id: In(chunk.map((session) => session.id)), endedAt: IsNull() },
          { endedAt: now, state: 'ended' },
        );
    // The IdP sessions this logout ended (not those that had ended already): each is revoked once, in
    // the security events of the logout that ended it.
    const endedIdp = request.providerSessionIds
      ? new Set<string>()
      : new Set(await this.sessions.end(idpSessionIds, request.reason, request.initiator, tx));

    const initiating = ending.find((session) => session.id === request.initiatingProviderSessionId);
    const operation = await tx.save(LogoutOperation, {
      id: newId(),
      trigger: request.trigger,
      initiatorType: request.initiator.type,
      initiatorId: request.initiator.id ?? null,
      initiatingProviderId: initiating?.providerId ?? null,
      idpSessionIds: request.providerSessionIds
        ? [...new Set(ending.map((session) => session.idpSessionId))]
        : idpSessionIds,
      createdAt: now,
      completedAt: null,
      outcome: null,
    });

    // The protocols choose the channels (and leave out whom they need not tell); the plan turns that into rows.
    // Asked once per application (LogoutProtocol.channels): a bulk logout ends thousands of sessions
    // of a few applications.
    const toTell: SessionToTell[] = [];
    const once = readOnce();
    // The applications' settings first, a query per protocol, not one per application.
    await this.protocols.readSettingsOf(ending, once);
    const channelsOf = new Map<string, readonly DeliveryChannel[]>();
    for (const session of ending) {
      if (!this.protocols.has(session.provider.protocol)) continue;
      let channels = channelsOf.get(session.providerId);
      if (!channels) {
        channels = await this.protocols.for(session.provider.protocol).channels(session, {
          initiatingProviderSessionId: request.initiatingProviderSessionId ?? null,
          initiatingProviderId: initiating?.providerId ?? null,
          once,
        });
        channelsOf.set(session.providerId, channels);
      }
      const elsewhere = request.browserIdpSessionIds
        ? !request.browserIdpSessionIds.includes(session.idpSessionId)
        : false;
      toTell.push({ session, channels, elsewhere });
    }
    const userIds =
      request.userIds ??
      (GRANT_ENDING_TRIGGERS.includes(request.trigger) ? [...new Set(ending.map((session) => session.userId))] : []);
    const idpSessions = await this.idpSessionsOf(tx, operation.idpSessionIds);
    const signals = await this.signalsFor(tx, operation, {
      idpSessions: idpSessions.filter((session) => endedIdp.has(session.id)),
      providerSessions: request.providerSessionIds ? ending : [],
      // Not aboutUserIds: nothing of theirs ended (a user inactive already heard account-disabled then).
      userIds,
    });
    const plan = { operationId: operation.id, now, newId };
    const rows = [
      ...planDeliveries({ ...plan, sessions: toTell, withBrowser: request.withBrowser }),
      ...planSignals(plan, signals),
    ];
    const leased = new Set(this.relay.leaseForHandOut(rows, now));
    const written = await insertDeliveries(tx, rows);
    // Rows written after the commit are handed out as they are written (OutboxPieces).
    const toHandOut = written.rows.filter((row) => leased.has(row));

    for (const protocol of new Set(ending.map((session) => session.provider.protocol))) {
      if (!this.protocols.has(protocol)) continue;
      await this.protocols.for(protocol).sessionsEnded(
        tx,
        ending.filter((session) => session.provider.protocol === protocol),
      );
    }
    if (userIds.length) for (const protocol of this.protocols.all()) await protocol.grantsEnded?.(tx, userIds);
    await this.recordUsers(tx, operation, [
      ...idpSessions.map((session) => session.userId),
      ...ending.map((session) => session.userId),
      ...userIds,
      ...(request.aboutUserIds ?? []),
    ]);
    await this.audit.record(
      {
        action: 'logout.started',
        actor: request.initiator,
        target: { type: 'logout_operation', id: operation.id },
        details: {
          trigger: request.trigger,
          idpSessions: operation.idpSessionIds.length,
          providerSessions: ending.length,
          deliveries: rows.length,
        },
      },
      tx,
    );
    const settled = await this.operations.settleIn(tx, operation.id);
    this.owed.set(operation, { rows, toHandOut, settled, pieces: written.pieces });
    this.logger.log({
      msg: 'logout started',
      operation: operation.id,
      trigger: request.trigger,
      deliveries: rows.length,
    });
    return operation;
  }

  /**
   * Tells the SSF streams something that ends no session (an account enabled again, a verification
   * a receiver asked for): an operation of its own, written only when some stream is owed an event
   * (null otherwise). `signals`: events the caller built, given the operation's id (their txn).
   */
  async signalIn(tx: EntityManager, request: SignalRequest): Promise<StartedLogout | null> {
    const now = this.clock.now();
    const operation: LogoutOperation = {
      id: newId(),
      trigger: request.trigger,
      initiatorType: request.initiator.type,
      initiatorId: request.initiator.id ?? null,
      initiatingProviderId: null,
      idpSessionIds: [],
      createdAt: now,
      completedAt: null,
      outcome: null,
    };
    const signals = [
      ...(request.signals?.(operation.id) ?? []),
      ...(await this.signalsFor(tx, operation, {
        idpSessions: [],
        providerSessions: [],
        userIds: request.userIds ?? [],
      })),
    ];
    if (!signals.length) return null;
    await tx.save(LogoutOperation, operation);
    const rows = planSignals({ operationId: operation.id, now, newId }, signals);
    const leased = new Set(this.relay.leaseForHandOut(rows, now));
    const written = await insertDeliveries(tx, rows);
    // Rows written after the commit are handed out as they are written (OutboxPieces).
    const toHandOut = written.rows.filter((row) => leased.has(row));
    await this.recordUsers(tx, operation, request.userIds ?? []);
    await this.audit.record(
      {
        action: 'logout.started',
        actor: request.initiator,
        target: { type: 'logout_operation', id: operation.id },
        details: { trigger: request.trigger, idpSessions: 0, providerSessions: 0, deliveries: rows.length },
      },
      tx,
    );
    const settled = await this.operations.settleIn(tx, operation.id);
    this.owed.set(operation, { rows, toHandOut, settled, pieces: written.pieces });
    return operation;
  }

  /** The events the registered SSF transmitter owes its streams for what this operation ended; [] without one. */
  private async signalsFor(
    tx: EntityManager,
    operation: LogoutOperation,
    ended: Pick<EndedForSignals, 'idpSessions' | 'providerSessions' | 'userIds'>,
  ): Promise<PlannedSignal[]> {
    const transmitter = this.protocols.signals;
    if (!transmitter) return [];
    return transmitter.eventsFor(tx, {
      operationId: operation.id,
      trigger: operation.trigger,
      initiatorType: operation.initiatorType,
      at: operation.createdAt,
      idpSessions: ended.idpSessions,
      providerSessions: ended.providerSessions,
      userIds: [...new Set(ended.userIds)],
    });
  }

  /** The IdP sessions of `ids` with their users (an IdP session may have no provider session). */
  private async idpSessionsOf(tx: EntityManager, ids: string[]): Promise<Array<{ id: string; userId: string }>> {
    const found: Array<{ id: string; userId: string }> = [];
    for (const chunk of chunks(ids))
      found.push(...(await tx.find(IdpSession, { where: { id: In(chunk) }, select: { id: true, userId: true } })));
    return found;
  }

  /** The users the operation is about (logout_operation_users), once each. */
  private async recordUsers(tx: EntityManager, operation: LogoutOperation, userIds: string[]): Promise<void> {
    const rows = [...new Set(userIds)].map((userId) => ({ operationId: operation.id, userId }));
    for (const chunk of chunks(rows)) await tx.insert(LogoutOperationUser, chunk);
  }

  /** The live IdP sessions of a user, or of several (for deactivation). */
  async liveSessionIdsOf(userIds: string | string[], tx: EntityManager = this.db.manager): Promise<string[]> {
    const ids: string[] = [];
    for (const chunk of chunks(typeof userIds === 'string' ? [userIds] : userIds)) {
      const live = await tx.find(IdpSession, { where: { userId: In(chunk), endedAt: IsNull() }, select: { id: true } });
      ids.push(...live.map((session) => session.id));
    }
    return ids;
  }
}

const CHUNK = 400;
function chunks<T>(items: T[]): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += CHUNK) result.push(items.slice(start, start + CHUNK));
  return result;
}
