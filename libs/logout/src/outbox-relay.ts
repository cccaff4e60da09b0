import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { BACKCHANNELS, Clock, CONFIG, type Config, LogoutDelivery, OPEN_ROW, within } from '@signoff/core';
import { Brackets, DataSource, In } from 'typeorm';
import { rowsOf } from './returning-rows';
import { type DeliveryBatch, DeliveryQueue } from '@signoff/dispatch';

/** How long a row handed to the queue belongs to it before the relay hands it out again. */
export const LEASE_MS = 60_000;
/** How long a relay pass or a batch waits for Redis to take jobs. */
export const ADD_TIMEOUT_MS = 2000;
/** Rows given back per statement: well within both databases' limits on bound values. */
const GIVE_BACK_CHUNK = 1000;

/**
 * Moves back-channel deliveries from the outbox table to the queue: rows still `pending`, and rows
 * whose lease ran out (their job was lost with Redis, or their worker died). Every idp process kicks
 * it after committing a logout; the worker also runs it every second, so a commit made while Redis
 * was down is delivered once Redis is back. A row handed out is leased: a second pass skips it until
 * the lease runs out, and a worker claims a row once however many jobs name it.
 */
@Injectable()
export class OutboxRelay implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);

  constructor(
    private readonly db: DataSource,
    private readonly queue: DeliveryQueue,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  private running: Promise<number> | null = null;
  private next: Promise<number> | null = null;
  /** The queue's Redis server as last seen (its run id): a new one means it restarted. */
  private redisRunId: string | null = null;

  /**
   * Hands out every due row, `batch` at a time; returns how many. Passes never overlap in a process:
   * one asked for while another runs follows it (once, however many asked meanwhile). Throws a
   * RelayFailure naming what it could not reach: the queue (Redis) or the database.
   */
  relayOnce(batch = 1000): Promise<number> {
    if (!this.running) return this.start(batch);
    this.next ??= this.running
      .catch(() => 0)
      .then(() => {
        this.next = null;
        return this.start(batch);
      });
    return this.next;
  }

  private start(batch: number): Promise<number> {
    const run = (async () => {
      let total = 0;
      for (let handed = batch; handed === batch; total += handed) handed = await this.relayBatch(batch);
      return total;
    })().finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }

  private async relayBatch(limit: number): Promise<number> {
    // Redis first: rows are leased only when the queue can take them (an add left waiting for Redis
    // would run once it is back, beside the next pass's jobs for the same rows).
    const runId = await this.queue.runId(ADD_TIMEOUT_MS);
    if (!runId) throw new RelayFailure('queue', `the queue's Redis did not answer within ${ADD_TIMEOUT_MS} ms`);
    const now = this.clock.now().getTime();
    if (this.redisRunId && runId !== this.redisRunId) {
      // Redis restarted: the jobs it held may be gone with it. Their rows are handed out again now
      // rather than when their lease ends (a minute); a job that did survive finds its rows claimed.
      await this.releaseQueued(now).catch((error: Error) => {
        throw new RelayFailure('database', error.message);
      });
    }
    this.redisRunId = runId;
    const owned = await this.take(limit, now).catch((error: Error) => {
      throw new RelayFailure('database', error.message);
    });
    if (!owned.length) return 0;
    // BullMQ waits for Redis rather than failing; bound the wait so a pass ends.
    const added = await within(
      ADD_TIMEOUT_MS,
      this.queue.add(batchesOf(owned, now, this.config.delivery.batchSize)).then(() => true),
      false,
    );
    if (!added) {
      // Give the rows back as they were: due at the next pass.
      await this.giveBack(owned).catch(() => undefined); // if the database is gone too, their lease runs out
      throw new RelayFailure('queue', `the queue did not take the deliveries within ${ADD_TIMEOUT_MS} ms`);
    }
    return owned.length;
  }

  /**
   * Selects up to `limit` due rows and leases them to this pass in one conditional statement: of two
   * passes at once (two processes), each hands out only the rows it leased, so no row is handed out twice.
   */
  private async take(
    limit: number,
    now: number,
  ): Promise<Array<Pick<LogoutDelivery, 'id' | 'providerId' | 'status' | 'nextAttemptAt'>>> {
    const due = await this.db
      .getRepository(LogoutDelivery)
      .createQueryBuilder('d')
      .select(['d.id', 'd.providerId', 'd.status', 'd.nextAttemptAt'])
      // Open rows by age: the partial index on created_at (OPEN_ROW) holds only rows not final yet.
      .where(`d.${OPEN_ROW}`)
      .andWhere('d.channel IN (:...channels)', { channels: BACKCHANNELS })
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
    if (!due.length) return [];
    const leaseUntil = Math.max(now, ...due.map((row) => row.nextAttemptAt?.getTime() ?? 0)) + LEASE_MS;
    // Only rows still due, as selected: a worker may have claimed one since (status `sending`, a fresh
    // lease), and its attempt, which records only while the row is still its own, must not lose it.
    const [sql, parameters] = this.db.driver.escapeQueryWithParameters(
      `UPDATE logout_deliveries SET status = 'queued', lease_until = :leaseUntil, updated_at = :now
        WHERE id IN (:...ids)
          AND (status = 'pending' OR (status IN ('queued', 'sending') AND lease_until < :now))
        RETURNING id`,
      { ids: due.map((row) => row.id), leaseUntil, now },
    );
    const leased = new Set((await rowsOf<{ id: string }>(this.db, sql, parameters)).map((row) => row.id));
    return due.filter((row) => leased.has(row.id));
  }

  /** Ends the lease of every row handed to the queue and not claimed yet: due at once. */
  private async releaseQueued(now: number): Promise<void> {
    const [sql, parameters] = this.db.driver.escapeQueryWithParameters(
      `UPDATE logout_deliveries SET lease_until = :expired
        WHERE ${OPEN_ROW} AND status = 'queued' AND lease_until >= :now AND channel IN (:...channels)
        RETURNING id`,
      { expired: now - 1, now, channels: BACKCHANNELS },
    );
    const released = await rowsOf<{ id: string }>(this.db, sql, parameters);
    this.logger.log({ msg: 'Redis restarted: deliveries it held are handed out again', deliveries: released.length });
  }

  /** Rows the queue did not take: new ones pending again, the others due again (their lease ended). */
  private async giveBack(rows: Array<Pick<LogoutDelivery, 'id' | 'status'>>): Promise<void> {
    const repo = this.db.getRepository(LogoutDelivery);
    const fresh = rows.filter((row) => row.status === 'pending').map((row) => row.id);
    const others = rows.filter((row) => row.status !== 'pending').map((row) => row.id);
    if (fresh.length) await repo.update({ id: In(fresh), status: 'queued' }, { status: 'pending', leaseUntil: null });
    if (others.length) await repo.update({ id: In(others), status: 'queued' }, { leaseUntil: new Date(0) });
  }

  /**
   * The back-channel rows of a logout about to be written that its process hands to the queue itself
   * right after the commit (handOut), without a relay pass: written `queued` and leased, as a pass
   * would leave them. Changes `rows` in place; returns the rows it leased. If the process dies before
   * handing them out, their lease runs out and the relay hands them out then: late, not lost.
   */
  leaseForHandOut<T extends Pick<LogoutDelivery, 'channel' | 'status' | 'leaseUntil'>>(rows: T[], now: Date): T[] {
    const leased = rows.filter((row) => row.status === 'pending' && BACKCHANNELS.includes(row.channel));
    const leaseUntil = new Date(now.getTime() + LEASE_MS);
    for (const row of leased) Object.assign(row, { status: 'queued', leaseUntil });
    return leased;
  }

  /**
   * After the commit of rows leased by leaseForHandOut: their jobs, added now, without making the
   * caller wait for Redis. Rows the queue does not take are given back (pending: the worker's next
   * relay pass hands them out).
   */
  handOut(rows: Array<Pick<LogoutDelivery, 'id' | 'providerId'>>): void {
    const now = this.clock.now().getTime();
    const fresh = rows.map((row) => ({ ...row, status: 'pending' as const, nextAttemptAt: null }));
    const handing = within(
      ADD_TIMEOUT_MS,
      this.queue.add(batchesOf(fresh, now, this.config.delivery.batchSize)).then(() => true),
      false,
    )
      .catch(() => false)
      .then(async (added) => {
        if (added) return;
        this.logger.debug({
          msg: 'deliveries left to the relay: the queue did not take them',
          deliveries: rows.length,
        });
        for (let start = 0; start < fresh.length; start += GIVE_BACK_CHUNK)
          await this.giveBack(fresh.slice(start, start + GIVE_BACK_CHUNK)).catch(() => undefined); // else their lease runs out
      });
    this.handing.add(handing);
    void handing.finally(() => this.handing.delete(handing));
  }

  /** Hand-outs under way (handOut): a process that stops (the CLI after a deactivation) finishes them first. */
  private readonly handing = new Set<Promise<void>>();

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.handing]);
  }

  /**
   * After a commit: hand the new rows out now, without making the caller wait for Redis. A failure
   * only delays them until the worker's next pass.
   */
  kick(): void {
    // Debug only: the worker's passes report an outage, once, and its end.
    this.relayOnce().catch((error: Error) => {
      this.logger.debug({
        msg: `relay deferred: ${error instanceof RelayFailure ? `the ${error.unreachable} is unreachable` : 'it failed'}; the worker will retry`,
        error: error.message,
      });
    });
  }
}

/** A relay pass that could not reach the queue (Redis) or the database: logs name which. */
export class RelayFailure extends Error {
  constructor(
    readonly unreachable: 'queue' | 'database',
    message: string,
  ) {
    super(message);
    this.name = 'RelayFailure';
  }
}

/**
 * The jobs for a pass's rows: each application's rows together (their settings are read once per
 * job, and a slow application holds up its own jobs more than others'), at most `size` (DELIVERY_BATCH_SIZE) a job; rows
 * that wait for a retry go in jobs of their own, delayed until then. New rows are `fresh`: due
 * retries and recovered rows, which are late already, run first.
 */
export function batchesOf(
  rows: Array<Pick<LogoutDelivery, 'id' | 'providerId' | 'status' | 'nextAttemptAt'>>,
  now: number,
  size: number,
): DeliveryBatch[] {
  const groups = new Map<string, DeliveryBatch>();
  const batches: DeliveryBatch[] = [];
  const sorted = [...rows].sort((a, b) => (a.providerId < b.providerId ? -1 : a.providerId > b.providerId ? 1 : 0));
  for (const row of sorted) {
    const delayMs = Math.max(0, (row.nextAttemptAt?.getTime() ?? now) - now);
    const fresh = row.status === 'pending';
    const key = `${delayMs}:${fresh}`;
    let batch = groups.get(key);
    if (!batch || batch.ids.length === size) {
      groups.set(key, (batch = { ids: [], delayMs, fresh }));
      batches.push(batch);
    }
    batch.ids.push(row.id);
  }
  return batches;
}
