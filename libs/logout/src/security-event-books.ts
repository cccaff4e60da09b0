import { Inject, Injectable } from '@nestjs/common';
import { Clock, CONFIG, type Config, type DeliveryAttempt, LogoutDelivery, OPEN_ROW } from '@signoff/core';
import { DataSource, In } from 'typeorm';
import { ATTEMPT_LOG_SIZE, LogoutOperationsService } from './logout-operations.service';
import { LogoutOrchestrator, type SignalRequest, type StartedLogout } from './logout-orchestrator';
import { LogoutMetrics } from './logout-metrics';
import { OutboxRelay } from './outbox-relay';
import { rowsOf } from './returning-rows';
import type { SignalDelivery } from './security-events';

/** Why a polled event ended unacknowledged, or an event was not sent: recorded on its delivery. */
export const STREAM_DISABLED = 'skipped: the stream was disabled (SSF 1.0 §8.1.2.1: a disabled stream keeps no events)';
export const STREAM_DELETED = 'skipped: the stream was deleted';

/** Events a stream keeps waiting: poll events not yet acknowledged, push events held while it is paused. */
const KEPT = `(${OPEN_ROW} AND ((channel = 'ssf_poll' AND status IN ('pending', 'held')) OR (channel = 'ssf_push' AND status = 'held')))`;

/** An RFC 8936 §2.2 `setErrs` member: the receiver could not accept this SET. */
export interface SetError {
  err: string;
  description?: string;
}

/**
 * The books of security events (SSF deliveries), for libs/ssf: what a stream's status change does to
 * its events, what a poll hands out and what an acknowledgement records. Only libs/logout touches
 * deliveries; libs/ssf speaks SSF and asks here.
 */
@Injectable()
export class SecurityEventBooks {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly orchestrator: LogoutOrchestrator,
    private readonly operations: LogoutOperationsService,
    private readonly relay: OutboxRelay,
    private readonly metrics: LogoutMetrics,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Events that end no session (an account enabled again, a verification): see LogoutOrchestrator.signalIn. */
  async send(request: SignalRequest): Promise<StartedLogout | null> {
    const started = await this.db.transaction((tx) => this.orchestrator.signalIn(tx, request));
    this.orchestrator.afterCommit(started);
    return started;
  }

  /**
   * The receiver's oldest events not yet acknowledged, at most `max` (RFC 8936 §2.4), and whether more
   * wait. Each hand-out counts as an attempt: a SET not acknowledged is handed out again (§2.4).
   */
  async polled(receiverId: string, max: number): Promise<{ events: SignalDelivery[]; more: boolean }> {
    const rows = await this.db.getRepository(LogoutDelivery).find({
      where: { providerId: receiverId, channel: 'ssf_poll', status: 'pending' },
      select: { id: true, providerId: true, event: true },
      order: { createdAt: 'ASC', id: 'ASC' },
      take: max + 1,
    });
    const events = rows.slice(0, max);
    if (events.length)
      await this.db
        .createQueryBuilder()
        .update(LogoutDelivery)
        .set({ attempts: () => 'attempts + 1', updatedAt: this.clock.now() })
        .where({ id: In(events.map((row) => row.id)), status: 'pending' })
        .execute();
    return {
      events: events.map((row) => ({ id: row.id, receiverId: row.providerId, event: row.event! })),
      more: rows.length > max,
    };
  }

  /**
   * What a poll request reports (RFC 8936 §2.2): `ack`ed SETs succeeded, those in `errors` failed with
   * the receiver's error. Only this receiver's poll events not yet final: a jti it does not own, or
   * one already final, is ignored (RFC 8936 §2.4: an acknowledgement may come twice). Their operations settle.
   */
  async acknowledge(receiverId: string, ack: string[], errors: Record<string, SetError>): Promise<void> {
    const ids = [...new Set([...ack, ...Object.keys(errors)])];
    if (!ids.length) return;
    const rows = await this.db.getRepository(LogoutDelivery).find({
      // Held too: an event handed out before its stream was paused is still the receiver's to acknowledge.
      where: { id: In(ids), providerId: receiverId, channel: 'ssf_poll', status: In(['pending', 'held']) },
      select: { id: true, operationId: true, status: true, attemptLog: true },
    });
    const now = this.clock.now();
    const acked = new Set(ack);
    let succeeded = 0;
    for (const row of rows) {
      // Acknowledged wins over an error for the same SET (it was received after all).
      const error = Object.hasOwn(errors, row.id) && !acked.has(row.id) ? errors[row.id] : null;
      const message = error ? `${error.err}${error.description ? `: ${error.description}` : ''}`.slice(0, 500) : null;
      const entry: DeliveryAttempt = {
        at: now.toISOString(),
        ms: 0,
        httpStatus: null,
        result: error ? 'failed' : 'succeeded',
        error: message,
        messageId: row.id,
      };
      const written = await this.db.getRepository(LogoutDelivery).update(
        { id: row.id, status: row.status },
        {
          status: error ? 'failed' : 'succeeded',
          lastError: message,
          messageId: row.id,
          attemptLog: [...row.attemptLog, entry].slice(-ATTEMPT_LOG_SIZE),
          updatedAt: now,
          completedAt: now,
        },
      );
      if (written.affected) {
        if (error) this.metrics.signalsEnded('ssf_poll', 'failed');
        else succeeded++;
      }
    }
    this.metrics.signalsEnded('ssf_poll', 'succeeded', succeeded);
    for (const operationId of new Set(rows.map((row) => row.operationId))) await this.operations.settle(operationId);
  }

  /** A stream paused: its events not yet under way wait (`held`) until it is enabled (SSF 1.0 §8.1.2.1). */
  async hold(receiverId: string): Promise<void> {
    await this.db
      .getRepository(LogoutDelivery)
      .update({ providerId: receiverId, status: In(['pending', 'queued']) }, { status: 'held', leaseUntil: null });
  }

  /** A stream enabled again: its held events go out (push) or wait for a poll. */
  async release(receiverId: string): Promise<void> {
    const released = await this.db
      .getRepository(LogoutDelivery)
      .update({ providerId: receiverId, status: 'held' }, { status: 'pending', updatedAt: this.clock.now() });
    if (released.affected) this.relay.kick();
  }

  /** A stream's delivery method changed (push, poll): the events it is owed and not under way go the new way. */
  async switchChannel(receiverId: string, channel: 'ssf_push' | 'ssf_poll'): Promise<void> {
    const repo = this.db.getRepository(LogoutDelivery);
    const other = channel === 'ssf_push' ? 'ssf_poll' : 'ssf_push';
    await repo.update({ providerId: receiverId, channel: other, status: 'held' }, { channel });
    const moved = await repo.update(
      { providerId: receiverId, channel: other, status: In(['pending', 'queued']) },
      { channel, status: 'pending', leaseUntil: null, updatedAt: this.clock.now() },
    );
    if (moved.affected && channel === 'ssf_push') this.relay.kick();
  }

  /** A stream disabled or deleted: the events it was owed and not sent end `skipped`, saying why. */
  async drop(receiverId: string, reason: string): Promise<void> {
    const now = this.clock.now().getTime();
    await this.endWhere(
      `provider_id = :receiver AND status IN ('pending', 'queued', 'held')`,
      { receiver: receiverId },
      { status: 'skipped', reason, now },
    );
  }

  /**
   * Events a stream keeps waiting (poll events not acknowledged, push events held for a paused
   * stream) beyond its bounds (SSF_POLL_MAX_EVENTS, SSF_POLL_MAX_AGE; RFC 8936 §2 lets a transmitter
   * discard what is not polled for too long) end `dead`, oldest first, saying so. Each statement
   * names its rows by a subquery, never by a list of ids: there may be more than a database binds.
   */
  async expireKept(receiverId?: string): Promise<number> {
    const { pollMaxEvents, pollMaxAgeMs } = this.config.ssf;
    const now = this.clock.now().getTime();
    const byReceiver = receiverId ? ' AND provider_id = :receiver' : '';
    let ended = await this.endWhere(
      `${KEPT}${byReceiver} AND created_at < :oldest`,
      { receiver: receiverId, oldest: now - pollMaxAgeMs },
      {
        status: 'dead',
        reason: `dead: not acknowledged or sent within SSF_POLL_MAX_AGE (${Math.round(pollMaxAgeMs / 1000)} s)`,
        now,
      },
    );
    const [sql, parameters] = this.db.driver.escapeQueryWithParameters(
      `SELECT provider_id AS receiver, COUNT(*) AS count FROM logout_deliveries
        WHERE ${KEPT}${byReceiver} GROUP BY provider_id HAVING COUNT(*) > :max`,
      { receiver: receiverId, max: pollMaxEvents },
    );
    const over: Array<{ receiver: string; count: string | number }> = await this.db.query(sql, parameters);
    for (const { receiver, count } of over)
      ended += await this.endWhere(
        `id IN (SELECT id FROM logout_deliveries WHERE provider_id = :receiver AND ${KEPT}
                 ORDER BY created_at, id LIMIT :excess)`,
        { receiver, excess: Number(count) - pollMaxEvents },
        {
          status: 'dead',
          reason: `dead: more than SSF_POLL_MAX_EVENTS (${pollMaxEvents}) events waited for this stream`,
          now,
        },
      );
    return ended;
  }

  /**
   * Push events the worker claimed for a stream that cannot take them now (SecurityEventTransmitter
   * pushStates): held for a paused stream, moved to the poll channel for a stream that polls now,
   * skipped for a stream disabled or gone. The claim counted an attempt that was not made: undone.
   */
  async reroute(rows: ReadonlyArray<{ id: string; state: 'paused' | 'poll' | 'disabled' | 'gone' }>): Promise<void> {
    const now = this.clock.now().getTime();
    const ids = (state: string) => rows.filter((row) => row.state === state).map((row) => row.id);
    const back = `attempts = attempts - 1, lease_until = NULL, updated_at = :now`;
    const held = ids('paused');
    if (held.length)
      await this.run(
        `UPDATE logout_deliveries SET status = 'held', ${back} WHERE id IN (:...ids) AND status = 'sending'`,
        { ids: held, now },
      );
    const polled = ids('poll');
    if (polled.length)
      await this.run(
        `UPDATE logout_deliveries SET channel = 'ssf_poll', status = 'pending', ${back} WHERE id IN (:...ids) AND status = 'sending'`,
        { ids: polled, now },
      );
    for (const [state, reason] of [
      ['disabled', STREAM_DISABLED],
      ['gone', STREAM_DELETED],
    ] as const) {
      const gone = ids(state);
      if (gone.length)
        await this.endWhere(
          `id IN (:...ids) AND status = 'sending'`,
          { ids: gone },
          { status: 'skipped', reason, now },
        );
    }
  }

  /** Ends the rows `where` names, in one statement; settles their operations; returns how many. */
  private async endWhere(
    where: string,
    parameters: Record<string, unknown>,
    end: { status: 'skipped' | 'dead'; reason: string; now: number },
  ): Promise<number> {
    const [sql, bound] = this.db.driver.escapeQueryWithParameters(
      `UPDATE logout_deliveries SET status = :status, last_error = :reason, lease_until = NULL, updated_at = :now, completed_at = :now
        WHERE ${where} RETURNING operation_id, channel`,
      { ...parameters, ...end },
    );
    const rows = await rowsOf<{ operation_id: string; channel: 'ssf_push' | 'ssf_poll' }>(this.db, sql, bound);
    for (const channel of ['ssf_push', 'ssf_poll'] as const)
      this.metrics.signalsEnded(channel, end.status, rows.filter((row) => row.channel === channel).length);
    for (const operationId of new Set(rows.map((row) => String(row.operation_id))))
      await this.operations.settle(operationId);
    return rows.length;
  }

  private async run(sql: string, parameters: Record<string, unknown>): Promise<void> {
    const [text, bound] = this.db.driver.escapeQueryWithParameters(sql, parameters);
    await this.db.query(text, bound);
  }
}
