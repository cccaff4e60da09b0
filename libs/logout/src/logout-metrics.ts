import { Injectable, type OnModuleInit } from '@nestjs/common';
import {
  BACKCHANNELS,
  type DeliveryChannel,
  type DeliveryStatus,
  type LogoutOutcome,
  type LogoutTrigger,
  Metrics,
  OPEN_ROW,
  OUTBOX_STATUSES,
  type OutboxReading,
  QUEUE_STATES,
} from '@signoff/core';
import { DeliveryQueue } from '@signoff/dispatch';
import { DataSource } from 'typeorm';
import type { AttemptRecord } from './attempt-recorder';
import { PIECES_WAITING_ON_POSTGRES } from './outbox-rows';

/**
 * What the logout engine counts (Metrics, libs/core), in its own terms: operations started and
 * settled, deliveries ended, back-channel attempts (latency, retries, redeliveries). It also hands
 * Metrics the scrape-time readers of the outbox table and of the delivery queue, which only the
 * engine may read. Counting never fails the work it counts.
 */
@Injectable()
export class LogoutMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly db: DataSource,
    private readonly queue: DeliveryQueue,
  ) {}

  onModuleInit(): void {
    this.metrics.readOutboxWith(() => this.readOutbox());
    this.metrics.readQueueWith(async () => this.queue.instance.getJobCounts(...QUEUE_STATES));
  }

  /** An operation written, with its deliveries: those written `skipped` (no browser to run them) ended already. */
  started(trigger: LogoutTrigger, deliveries: Array<{ channel: DeliveryChannel; status: DeliveryStatus }>): void {
    this.metrics.logoutStarted(trigger);
    for (const delivery of deliveries)
      if (delivery.status === 'skipped') this.metrics.deliveryEnded(delivery.channel, 'skipped');
  }

  /** An operation settled (only the settle that completed it counts). */
  ended(outcome: LogoutOutcome): void {
    this.metrics.logoutEnded(outcome);
  }

  /** A front-channel delivery recorded as final (the browser's report, the application's answer, or abandoned). */
  frontchannelEnded(channel: DeliveryChannel, status: 'succeeded' | 'failed', count = 1): void {
    this.metrics.deliveryEnded(channel, status, count);
  }

  /** Security events that ended outside an attempt: acknowledged or refused by a poll, dropped, expired. */
  signalsEnded(channel: 'ssf_push' | 'ssf_poll', status: 'succeeded' | 'failed' | 'dead' | 'skipped', count = 1): void {
    if (count) this.metrics.deliveryEnded(channel, status, count);
  }

  /**
   * Back-channel attempts just committed (`recorded[i]`: record i was still its attempt's to write; a
   * stale one is another's to count): each attempt's latency, and the retry it schedules or the end of
   * its delivery. An attempt whose entries include interrupted ones (BackchannelDeliverer's
   * interruptedAttempts: the row was left `sending` and claimed again) is a redelivery.
   */
  recorded(records: AttemptRecord[], recorded: boolean[]): void {
    records.forEach((record, index) => {
      if (!recorded[index]) return;
      const channel = record.channel as DeliveryChannel;
      const attempt = record.entries[record.entries.length - 1];
      this.metrics.attemptRecorded(
        channel,
        record.status === 'queued' ? 'retry' : record.status,
        Math.max(0, attempt?.ms ?? 0) / 1000,
      );
      if (record.entries.length > 1) this.metrics.redelivered(channel);
    });
  }

  /**
   * One grouped query: back-channel rows not yet final, by status, and the oldest one's creation. On
   * PostgreSQL a bulk logout's deliveries still in pieces (OutboxPieces) count as `pending`: written
   * and not handed out yet.
   */
  private async readOutbox(): Promise<OutboxReading> {
    const [sql, parameters] = this.db.driver.escapeQueryWithParameters(
      `SELECT status, COUNT(*) AS count, MIN(created_at) AS oldest FROM logout_deliveries
        WHERE ${OPEN_ROW} AND status IN (:...open) AND channel IN (:...channels) GROUP BY status`,
      { open: OUTBOX_STATUSES, channels: BACKCHANNELS },
    );
    const rows: Array<{ status: string; count: string | number; oldest: string | number | null }> = await this.db.query(
      sql,
      parameters,
    );
    if (this.db.options.type === 'postgres')
      rows.push(
        ...((await this.db.query(PIECES_WAITING_ON_POSTGRES)) as Array<Omit<(typeof rows)[number], 'status'>>).map(
          (row) => ({ ...row, status: 'pending' }),
        ),
      );
    const reading: OutboxReading = { byStatus: {}, oldestCreatedAt: null };
    for (const row of rows) {
      const status = row.status as (typeof OUTBOX_STATUSES)[number];
      reading.byStatus[status] = (reading.byStatus[status] ?? 0) + Number(row.count);
      const oldest = row.oldest === null ? null : Number(row.oldest);
      if (oldest !== null && (reading.oldestCreatedAt === null || oldest < reading.oldestCreatedAt))
        reading.oldestCreatedAt = oldest;
    }
    return reading;
  }
}
