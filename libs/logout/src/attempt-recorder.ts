import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import {
  Clock,
  type DeliveryAttempt,
  type DeliveryStatus,
  isDatabaseAway,
  jsonParameter,
  SHUTDOWN_STEP_MS,
  sqliteStatementEach,
  within,
} from '@signoff/core';
import { DeliveryQueue } from '@signoff/dispatch';
import { DataSource } from 'typeorm';
import { ATTEMPT_LOG_SIZE, LogoutOperationsService } from './logout-operations.service';
import { LogoutMetrics } from './logout-metrics';
import { ADD_TIMEOUT_MS, LEASE_MS } from './outbox-relay';
import { rowsOf } from './returning-rows';

/** What one back-channel attempt came to, for the row that was claimed for it. */
export interface AttemptRecord {
  deliveryId: string;
  operationId: string;
  /** The delivery's channel (a back channel): what the metrics count it under. */
  channel: string;
  /** The attempt's number: the row is recorded only while it is still this attempt's (status `sending`, this count). */
  attempt: number;
  /** The row's log before this attempt: the entries to add go after it, the oldest dropped past ATTEMPT_LOG_SIZE. */
  log: DeliveryAttempt[];
  /** The entries to add: this attempt's, after any for attempts that were cut short before they were recorded. */
  entries: DeliveryAttempt[];
  status: Extract<DeliveryStatus, 'succeeded' | 'queued' | 'failed' | 'dead'>;
  httpStatus: number | null;
  error: string | null;
  messageId: string | null;
  /** With status `queued`: the wait before the next attempt. */
  retryInMs: number;
}

/** Records per commit, at most: the transaction stays short on PostgreSQL and SQLite alike. */
const FLUSH_ROWS = 250;
/** How long a record waits for others to share its commit. */
const FLUSH_MS = 20;
/** Commits under way at once; what comes in meanwhile waits for one of them to end. */
const WRITES_AT_ONCE = 2;
/** The longest wait between two tries of a write the database refused (250 ms, doubling: ~16 s in all). */
const WRITE_RETRY_MAX_MS = 8000;
/**
 * How often an operation is settled while its deliveries are being recorded: at once after the first
 * commit that ends one of them, then at most once per window, the last one after the window in which
 * its last delivery ended. A fan-out of thousands is recorded in hundreds of commits; each settle is
 * a read of its deliveries, and all but the last find some still open.
 */
const SETTLE_EVERY_MS = 100;

/**
 * What a record writes to its row: its key in the statement's JSON (short: a fan-out of 10,000 sends
 * 10,000 of them, built in the worker's busiest thread) and how PostgreSQL reads it from there.
 */
const RECORD_COLUMNS = [
  ['id', 'varchar'], // the delivery
  ['attempt', 'integer'],
  ['status', 'varchar'],
  ['http', 'integer'], // last_http_status
  ['error', 'text'],
  ['message', 'varchar'], // message_id
  ['log', 'json'], // attempt_log
  ['next', 'bigint'], // next_attempt_at
  ['lease', 'bigint'],
  ['done', 'bigint'], // completed_at
] as const;

/**
 * One record as the statement takes it: an object of RECORD_COLUMNS. Its nulls are left out (undefined)
 * of PostgreSQL's JSON, where json_to_recordset reads a missing key as NULL.
 */
type RecordRow = Record<(typeof RECORD_COLUMNS)[number][0], unknown>;

/**
 * PostgreSQL: every record in one statement, the records as ONE parameter, a JSON array of objects
 * that json_to_recordset turns into rows: the text is the same however many there are (prepared once
 * per connection), and nothing is converted value by value (2,500 bound values, or array literals of
 * escaped JSON, at 250 records). It answers the records NOT written (nearly always none: the 250 rows
 * written would each be sent, parsed and looked up again, in the worker's busiest thread, to learn
 * that all were).
 */
const RECORD_ON_POSTGRES = `WITH v AS (
    SELECT * FROM json_to_recordset(CAST($1 AS json)) AS r(${RECORD_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')})
  ), written AS (
    UPDATE logout_deliveries
       SET status = v.status, last_http_status = v.http, last_error = v.error, message_id = v.message,
           attempt_log = CAST(v.log AS text), next_attempt_at = v.next, lease_until = v.lease,
           completed_at = v.done, updated_at = $2
      FROM v
     WHERE logout_deliveries.id = v.id AND logout_deliveries.status = 'sending' AND attempts = v.attempt
    RETURNING logout_deliveries.id, attempts)
  SELECT v.id, v.attempt AS attempts FROM v
   WHERE NOT EXISTS (SELECT 1 FROM written WHERE written.id = v.id AND written.attempts = v.attempt)`;

/**
 * SQLite: one bound UPDATE per record, all in one transaction (sqliteStatementEach), each answering by
 * its count of changed rows whether it wrote its row. Read out of one JSON parameter instead, the 250
 * records of a commit took about twice as long: SQLite parses a record's object again for each of
 * its ten fields.
 */
const RECORD_ON_SQLITE = `UPDATE logout_deliveries
     SET status = ?, last_http_status = ?, last_error = ?, message_id = ?, attempt_log = ?, next_attempt_at = ?,
         lease_until = ?, completed_at = ?, updated_at = ?
   WHERE id = ? AND status = 'sending' AND attempts = ?`;

/**
 * Records back-channel attempts in group commits: the results that come in within a few milliseconds,
 * from every batch the worker runs, are written in one statement (one commit instead of one per
 * delivery). After the commit it schedules the retries (one job for the rows that wait alike) and
 * settles each operation that may have ended. `record` resolves once its row is written, with whether
 * it was still the attempt's to write: a worker that stalled past its lease may find its row claimed
 * again by another, or reset by an administrator's retry, and their record stands.
 */
@Injectable()
export class AttemptRecorder implements BeforeApplicationShutdown {
  private readonly logger = new Logger(AttemptRecorder.name);
  /** Records waiting for their write, each with when it came in (performance.now()). */
  private buffer: Array<{
    record: AttemptRecord;
    done: (recorded: boolean) => void;
    fail: (error: Error) => void;
    at: number;
  }> = [];
  private timer?: NodeJS.Timeout;
  private readonly writing = new Set<Promise<void>>();
  /** Set at shutdown: a refused write is not tried again (the database is closing). */
  private stopping = false;
  /** The operations settled within the last SETTLE_EVERY_MS, and whether a delivery of each ended since. */
  private readonly settledLately = new Map<string, { endedSince: boolean; timer: NodeJS.Timeout }>();
  /** Settles under way after their window (nobody awaits them): shutdown waits for them. */
  private readonly settling = new Set<Promise<void>>();

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly queue: DeliveryQueue,
    private readonly operations: LogoutOperationsService,
    private readonly metrics: LogoutMetrics,
  ) {}

  record(record: AttemptRecord): Promise<boolean> {
    return new Promise((done, fail) => {
      this.buffer.push({ record, done, fail, at: performance.now() });
      this.flushWhenDue();
    });
  }

  /**
   * Writes what has gathered once FLUSH_ROWS have, or once the oldest has waited FLUSH_MS, unless
   * WRITES_AT_ONCE writes are under way: then the first of them to end looks again. Each commit takes
   * everything that came in meanwhile (as a database's own group commit does), so a busy worker writes
   * in few large statements instead of many small ones. A write that ends does not take what came in
   * during it at once: on PostgreSQL a write ends within a millisecond or two, and taking its
   * followers then made statements of a few dozen rows (370 for 10,000 records).
   */
  private flushWhenDue(): void {
    if (!this.buffer.length || this.writing.size >= WRITES_AT_ONCE) return;
    const waited = performance.now() - this.buffer[0].at;
    if (this.buffer.length >= FLUSH_ROWS || waited >= FLUSH_MS || this.stopping) return this.flush();
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS - waited);
  }

  /** Writes what has gathered without waiting for more (unless WRITES_AT_ONCE writes are under way). */
  flushNow(): void {
    this.flush();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.buffer.length || this.writing.size >= WRITES_AT_ONCE) return;
    const taken = this.buffer.slice(0, FLUSH_ROWS);
    this.buffer = this.buffer.slice(FLUSH_ROWS);
    const writing = this.writeRetrying(taken.map((item) => item.record)).then(
      (recorded) => taken.forEach((item, index) => item.done(recorded[index])),
      (error: Error) => taken.forEach((item) => item.fail(error)),
    );
    this.writing.add(writing);
    void writing.finally(() => {
      this.writing.delete(writing);
      this.flushWhenDue();
    });
  }

  /**
   * A write refused because the database went away (a restart) is tried again for a while: the
   * outcomes are known, and a row left `sending` would wait for its lease and be sent again. Safe to
   * repeat: the update writes a row only while it is still the attempt's. Any other failure (the
   * database refused the records themselves) would only fail again: the batch fails at once, and its
   * job runs again after its backoff.
   */
  private async writeRetrying(records: AttemptRecord[]): Promise<boolean[]> {
    for (let waitMs = 250; ; waitMs *= 2) {
      try {
        return await this.write(records);
      } catch (error) {
        // Shutting down, the database is closing: the rows keep their lease, the relay hands them out again.
        if (waitMs > WRITE_RETRY_MAX_MS || this.stopping || !isDatabaseAway(error)) throw error;
        this.logger.debug({ msg: 'recording waits for the database', error: (error as Error).message, waitMs });
        await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
      }
    }
  }

  private async write(records: AttemptRecord[]): Promise<boolean[]> {
    const now = this.clock.now().getTime();
    const recorded = await this.update(records, now);
    this.metrics.recorded(records, recorded);
    // What follows the commit cannot undo it: a failure is logged, and the worker's sweep settles
    // what was left open (LogoutOperationsService.settleOpen); a lost retry job, the relay hands out again.
    const ended = records.filter((record, index) => recorded[index] && record.status !== 'queued');
    for (const operationId of new Set(ended.map((record) => record.operationId))) await this.settleSoon(operationId);
    await this.scheduleRetries(records.filter((record, index) => recorded[index] && record.status === 'queued'));
    return recorded;
  }

  /**
   * Settles an operation one of whose deliveries just ended: at once when it was not settled within
   * the last SETTLE_EVERY_MS (what a logout of a few applications always gets), else once at the end
   * of that window. A window's settle reads what every commit before it wrote, so the operation's last
   * delivery is always followed by one.
   */
  private async settleSoon(operationId: string): Promise<void> {
    const lately = this.settledLately.get(operationId);
    if (lately) {
      lately.endedSince = true;
      return;
    }
    const window = {
      endedSince: false,
      timer: setTimeout(() => {
        this.settledLately.delete(operationId);
        if (window.endedSince) this.track(this.settleSoon(operationId));
      }, SETTLE_EVERY_MS).unref(),
    };
    this.settledLately.set(operationId, window);
    await this.operations.settle(operationId).catch((error: Error) =>
      this.logger.warn({
        msg: 'operation left to the sweep: settling failed',
        operation: operationId,
        error: error.message,
      }),
    );
  }

  /**
   * The caller holds no more attempts of the operation: if a delivery of it ended since its last
   * settle, it is settled now instead of at the end of the window (the window's purpose, sparing the
   * reads while more are coming, is gone).
   */
  settleNow(operationId: string): void {
    const window = this.settledLately.get(operationId);
    if (!window?.endedSince) return;
    clearTimeout(window.timer);
    this.settledLately.delete(operationId);
    this.track(this.settleSoon(operationId));
  }

  private track(settling: Promise<void>): void {
    this.settling.add(settling);
    void settling.finally(() => this.settling.delete(settling));
  }

  /**
   * Every record in one commit (RECORD_ON_POSTGRES, RECORD_ON_SQLITE), each row only while it is still
   * its attempt's; returns, for each record, whether its row was written.
   */
  private async update(records: AttemptRecord[], now: number): Promise<boolean[]> {
    const rows = records.map((record): RecordRow => {
      const retry = record.status === 'queued';
      const nextAttemptAt = retry ? now + record.retryInMs : null;
      return {
        id: record.deliveryId,
        attempt: record.attempt,
        status: record.status,
        http: record.httpStatus,
        error: record.error,
        message: record.messageId,
        log: [...record.log, ...record.entries].slice(-ATTEMPT_LOG_SIZE),
        next: nextAttemptAt,
        // A retry's row stays leased past its next attempt: if the job for it is lost with Redis,
        // the relay hands the row out again then.
        lease: nextAttemptAt === null ? null : nextAttemptAt + LEASE_MS,
        done: retry ? null : now,
      };
    });
    // Not synced on SQLite: a result lost with the machine leaves its row `sending`, sent again after
    // its lease. The next synced commit, or the checkpoint thread within half a second, syncs it.
    if (this.db.options.type !== 'postgres') {
      const changed = await sqliteStatementEach(
        this.db,
        RECORD_ON_SQLITE,
        rows.map((row) => [
          row.status,
          row.http,
          row.error,
          row.message,
          JSON.stringify(row.log),
          row.next,
          row.lease,
          row.done,
          now,
          row.id,
          row.attempt,
        ]),
        { durable: false },
      );
      return changed.map((count) => count === 1);
    }
    for (const row of rows) for (const [key] of RECORD_COLUMNS) if (row[key] === null) row[key] = undefined;
    const unwritten = await rowsOf<{ id: string; attempts: number }>(
      this.db,
      RECORD_ON_POSTGRES,
      [jsonParameter(rows), now],
      { name: 'signoff_record_attempts', durable: false },
    );
    const left = new Set(unwritten.map((row) => `${row.id}#${Number(row.attempts)}`));
    return records.map((record) => !left.has(`${record.deliveryId}#${record.attempt}`));
  }

  /** One job per wait: rows of one batch that failed alike (same attempt, same jitter) retry together. */
  private async scheduleRetries(records: AttemptRecord[]): Promise<void> {
    const byWait = new Map<number, string[]>();
    for (const record of records) {
      const ids = byWait.get(record.retryInMs);
      if (ids) ids.push(record.deliveryId);
      else byWait.set(record.retryInMs, [record.deliveryId]);
    }
    // Bounded: BullMQ waits for Redis rather than failing, and the batch must not wait with it. The
    // rows are leased until after their retry is due: the relay hands them out again then.
    const added = await within(
      ADD_TIMEOUT_MS,
      this.queue.add([...byWait].map(([delayMs, ids]) => ({ ids, delayMs }))).then(
        () => true,
        () => false,
      ),
      false,
    );
    if (!added) this.logger.debug({ msg: 'retries left to the relay: the queue did not take them' });
  }

  /**
   * After the worker has stopped taking jobs (onModuleDestroy) and before the database closes
   * (onApplicationShutdown): what was sent is recorded, not sent again after a restart.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.flush();
    await within(SHUTDOWN_STEP_MS, this.drained(), undefined);
  }

  /**
   * Resolves when nothing is left to write (each write's end starts the next while records wait) and
   * every settle owed is done: the windows still open end now rather than after the database closes.
   */
  private async drained(): Promise<void> {
    while (this.writing.size) await Promise.allSettled([...this.writing]);
    for (const [operationId, window] of this.settledLately) {
      clearTimeout(window.timer);
      this.settledLately.delete(operationId);
      if (window.endedSince) this.track(this.operations.settle(operationId).catch(() => undefined));
    }
    await Promise.allSettled([...this.settling]);
  }
}
