import { Inject, Injectable, Logger } from '@nestjs/common';
import { BACKCHANNELS, Clock, CONFIG, type Config, LogoutDelivery, within } from '@signoff/core';
import { Brackets, DataSource, In } from 'typeorm';
import { DeliveryQueue } from '@signoff/dispatch';

/** How long a row handed to the queue belongs to it before the relay hands it out again. */
export const LEASE_MS = 60_000;
const ADD_TIMEOUT_MS = 2000;

/**
 * Moves back-channel deliveries from the outbox table to the queue: rows still `pending`, and rows
 * whose lease ran out (their job was lost with Redis, or their worker died). Every idp process kicks
 * it after committing a logout; the worker also runs it every second, so a commit made while Redis
 * was down is delivered once Redis is back. Job id = delivery id: a second pass cannot duplicate.
 */
@Injectable()
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);

  constructor(
    private readonly db: DataSource,
    private readonly queue: DeliveryQueue,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Hands out every due row, `batch` at a time; returns how many. Throws when Redis is unreachable. */
  async relayOnce(batch = 1000): Promise<number> {
    let total = 0;
    for (let handed = batch; handed === batch; total += handed) handed = await this.relayBatch(batch);
    return total;
  }

  private async relayBatch(limit: number): Promise<number> {
    const now = this.clock.now().getTime();
    const due = await this.db
      .getRepository(LogoutDelivery)
      .createQueryBuilder('d')
      .select(['d.id', 'd.nextAttemptAt'])
      .where('d.channel IN (:...channels)', { channels: BACKCHANNELS })
      .andWhere(
        new Brackets((q) =>
          q
            .where("d.status = 'pending'")
            .orWhere("d.status IN ('queued', 'sending') AND d.lease_until < :now", { now }),
        ),
      )
      .orderBy('d.created_at', 'ASC')
      .take(limit)
      .getMany();
    if (!due.length) return 0;
    // BullMQ waits for Redis rather than failing; bound the wait so a pass ends and the rows stay pending.
    const added = await within(
      ADD_TIMEOUT_MS,
      this.queue
        .add(due.map((row) => ({ id: row.id, delayMs: row.nextAttemptAt ? row.nextAttemptAt.getTime() - now : 0 })))
        .then(() => true),
      false,
    );
    if (!added) throw new Error(`the queue did not take the deliveries within ${ADD_TIMEOUT_MS} ms`);
    const leaseUntil = new Date(Math.max(now, ...due.map((row) => row.nextAttemptAt?.getTime() ?? 0)) + LEASE_MS);
    await this.db
      .getRepository(LogoutDelivery)
      .createQueryBuilder()
      .update()
      .set({ status: 'queued', leaseUntil, updatedAt: new Date(now) })
      .where({ id: In(due.map((row) => row.id)) })
      // Only rows still due, as selected: a worker may have claimed one since (status `sending`, a fresh
      // lease), and its attempt, which records only while the row is still its own, must not lose it.
      .andWhere(
        new Brackets((q) =>
          q.where("status = 'pending'").orWhere("status IN ('queued', 'sending') AND lease_until < :now", { now }),
        ),
      )
      .execute();
    return due.length;
  }

  /**
   * After a commit: hand the new rows out now, without making the caller wait for Redis. A failure
   * only delays them until the worker's next pass.
   */
  kick(): void {
    this.relayOnce().catch((error: Error) => {
      this.logger.warn({
        msg: 'relay deferred: the queue is unreachable; the worker will retry',
        error: error.message,
      });
    });
  }
}
