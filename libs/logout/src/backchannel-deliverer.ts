import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  BACKCHANNELS,
  Clock,
  CONFIG,
  type Config,
  type DeliveryAttempt,
  isOutboundPolicyError,
  LogoutDelivery,
  oneOf,
  OUTBOUND_BLOCKED,
  type SecurityEventClaims,
} from '@signoff/core';
import { HttpClient, Limiter, retryDelayMs } from '@signoff/dispatch';
import { DataSource, In, MoreThanOrEqual } from 'typeorm';
import { type AttemptRecord, AttemptRecorder } from './attempt-recorder';
import {
  type BackchannelReply,
  type BackchannelRequest,
  type BackchannelVerdict,
  type DeliveryTarget,
  readForAWhile,
  readOnce,
  type ReadOnce,
} from './logout-protocol';
import { ATTEMPT_LOG_SIZE, LogoutOperationsService } from './logout-operations.service';
import { LEASE_MS } from './outbox-relay';
import { rowsOf } from './returning-rows';
import { SecurityEventBooks } from './security-event-books';
import type { PushState } from './security-events';
import { LogoutProtocolRegistry } from './protocol-registry';

/** A delivery as the claim returns it: what its attempt needs, and its log so far. */
export interface ClaimedDelivery {
  id: string;
  operationId: string;
  /** Null for a security event (ssf_push): it tells a stream, `event` is what. */
  providerSessionId: string | null;
  providerId: string;
  channel: string;
  event: SecurityEventClaims | null;
  /** This attempt's number (the claim counted it). */
  attempts: number;
  attemptLog: DeliveryAttempt[];
}

/** A job that names a row ahead of its retry (a clock a little behind) still claims it. */
const EARLY_MS = 250;
/** How long the batches share an application's settings: a change applies to batches that start later. */
const SETTINGS_FOR_MS = 1000;

/** Requests to one application in flight at once, from one batch: a batch is mostly one application's rows. */
const PER_BATCH = 16;

/**
 * How many batches a worker runs at once: lanes (PER_BATCH a batch) for twice its request slots
 * (DELIVERY_CONCURRENCY), so that every slot stays busy while some batches claim, read and record;
 * at least 4. More only holds more rows in hand: at the defaults, 8 batches (2,000 rows) instead
 * of 4 (1,000) made bench:backchannel on PostgreSQL slower in 9 of 11 runs alternated with 4
 * (medians 0.463 against 0.487, 2026-11-28; SQLite and bench:bulk-deactivation unchanged within
 * their spread), and 3 was no better than 4.
 */
export function batchesAtOnce(concurrency: number): number {
  return Math.max(4, Math.ceil((2 * concurrency) / PER_BATCH));
}

/**
 * One back-channel attempt for each delivery of a batch still due: claim them in one statement, read
 * their targets together (each application's settings once), build each message with its provider's
 * protocol, POST them concurrently (at most DELIVERY_CONCURRENCY in flight in the process) with a hard
 * timeout, read the replies, and decide each: succeeded, retry later (network error, timeout, 5xx,
 * 429 after its Retry-After), failed (any other refusal) or dead (out of attempts). The results are
 * recorded in group commits (AttemptRecorder), which also schedule the retries and settle the operations.
 */
@Injectable()
export class BackchannelDeliverer {
  private readonly logger = new Logger(BackchannelDeliverer.name);
  private readonly inFlight: Limiter;

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly protocols: LogoutProtocolRegistry,
    private readonly operations: LogoutOperationsService,
    private readonly http: HttpClient,
    private readonly recorder: AttemptRecorder,
    private readonly books: SecurityEventBooks,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.inFlight = new Limiter(config.delivery.concurrency);
  }

  /** Attempts of each operation this process has claimed and not yet recorded (or given up). */
  private readonly holding = new Map<string, number>();

  /**
   * An attempt of `operationId` is recorded. When it was this process's last of the operation, the
   * operation is settled now rather than at the end of the recorder's window: the last delivery of a
   * logout is followed by its completion at once (another process's rows, if any, keep it open).
   */
  private letGo(operationId: string): void {
    const left = (this.holding.get(operationId) ?? 1) - 1;
    if (left > 0) return void this.holding.set(operationId, left);
    this.holding.delete(operationId);
    this.recorder.settleNow(operationId);
  }

  /** Applications' settings (client, SP) and operations' reasons, shared by the batches for SETTINGS_FOR_MS. */
  private readonly settings = readForAWhile(SETTINGS_FOR_MS);

  /**
   * Attempts every delivery of `ids` that is still due; resolves once every attempt is recorded, with
   * how many were. `takeOver` (ms): this job ran before and its run ended (its worker died, or the
   * run failed with the database), so the rows it left `sending` at least that long ago (its lock's
   * duration: a run that still renews its lock claimed later) are taken over at once rather than after
   * their lease. An attempt cut short is tried again within seconds, and logged as interrupted.
   */
  async deliver(ids: string[], { takeOver = 0 }: { takeOver?: number } = {}): Promise<number> {
    const once = readOnce(this.settings);
    const taken = await this.claim(ids, takeOver);
    // A run again may come sooner than its lock's time after the last one claimed (that run failed
    // with the database before it recorded): rows it left `sending` then are too young to take over.
    // Failing makes the job run again later, when they are not, instead of leaving them to their lease.
    const tooYoung = takeOver ? await this.sendingSince(ids, taken, takeOver) : 0;
    const claimed = taken.length ? await this.onlyStreamsThatTakeThem(taken) : taken;
    if (!claimed.length) {
      if (tooYoung) throw new RunAgainLater(tooYoung);
      return 0;
    }
    const targets = await this.operations.targetsOf(
      claimed.filter((row): row is ClaimedDelivery & { providerSessionId: string } => row.providerSessionId !== null),
      once,
    );
    await this.readSettings(targets, claimed, once);
    // One jitter per batch: the rows that fail alike retry together, in one job.
    const jitter = Math.random();
    // A request slot is held for the request only: recording waits for its group commit without one.
    // Every attempt runs to its end before the batch fails (a recording refused by a database gone
    // away): the job's next run takes over only rows that nobody is still sending.
    for (const row of claimed) this.holding.set(row.operationId, (this.holding.get(row.operationId) ?? 0) + 1);
    // PER_BATCH lanes, each taking the batch's next row once its last attempt is done, rather than a
    // task per row queued for a slot (a batch's hundreds of closures and promises, each held until
    // its turn). A lane does not wait for the group commit: its next attempt starts meanwhile.
    const recordings: Array<Promise<PromiseSettledResult<boolean>>> = [];
    let next = 0;
    const lane = async () => {
      while (next < claimed.length) {
        const row = claimed[next++];
        let recording: Promise<boolean>;
        try {
          const record = await this.inFlight.run(() => this.attempt(row, targets.get(row.id), once, jitter));
          recording = this.recorder.record(record);
          // The process's last attempt for now: nothing else is coming to share the commit.
          if (this.inFlight.idle) this.recorder.flushNow();
        } catch (error) {
          recording = Promise.reject(error as Error);
        }
        // Its outcome kept as a result at once: a refusal is read below, never left unhandled meanwhile.
        recordings.push(
          recording
            .then(
              (value): PromiseSettledResult<boolean> => ({ status: 'fulfilled', value }),
              (reason: unknown): PromiseSettledResult<boolean> => ({ status: 'rejected', reason }),
            )
            .finally(() => this.letGo(row.operationId)),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(PER_BATCH, claimed.length) }, lane));
    const results = await Promise.all(recordings);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    if (tooYoung) throw new RunAgainLater(tooYoung);
    return results.filter((result) => result.status === 'fulfilled' && result.value).length;
  }

  /**
   * Security events whose stream does not take pushes now are not sent: held for a paused stream,
   * moved to its poll, skipped for one disabled or gone (SecurityEventBooks.reroute). Decided here,
   * when the worker is about to send, so a retry, an administrator's retry or a logout that wrote its
   * events just before a pause all meet the stream as it is.
   */
  private async onlyStreamsThatTakeThem(claimed: ClaimedDelivery[]): Promise<ClaimedDelivery[]> {
    const events = claimed.filter((row) => row.event);
    if (!events.length) return claimed;
    const transmitter = this.protocols.signals;
    // Without a transmitter in this process nothing can tell: the attempt fails, and is tried again.
    if (!transmitter) return claimed;
    const states = await transmitter.pushStates([...new Set(events.map((row) => row.providerId))]);
    const notNow = events
      .map((row) => ({ id: row.id, state: states.get(row.providerId) ?? 'gone' }))
      .filter((row): row is { id: string; state: Exclude<PushState, 'enabled'> } => row.state !== 'enabled');
    if (!notNow.length) return claimed;
    await this.books.reroute(notNow);
    const rerouted = new Set(notNow.map((row) => row.id));
    return claimed.filter((row) => !rerouted.has(row.id));
  }

  /**
   * The batch's applications' settings read together (LogoutProtocolRegistry.readSettingsOf), and its
   * streams' (the SSF transmitter), into the `once` every message is then built through.
   */
  private async readSettings(
    targets: Map<string, DeliveryTarget>,
    claimed: ClaimedDelivery[],
    once: ReadOnce,
  ): Promise<void> {
    const receivers = [...new Set(claimed.filter((row) => row.event).map((row) => row.providerId))];
    await Promise.all([
      this.protocols.readSettingsOf(
        [...targets.values()].map(({ session }) => session),
        once,
      ),
      receivers.length ? this.protocols.signals?.readSettings?.(receivers, once) : undefined,
    ]);
  }

  /** How many of `ids` someone else (or this job's last run) claimed within the last `takeOver` ms. */
  private async sendingSince(ids: string[], claimed: ClaimedDelivery[], takeOver: number): Promise<number> {
    const mine = new Set(claimed.map((row) => row.id));
    const others = ids.filter((id) => !mine.has(id));
    if (!others.length) return 0;
    return this.db.getRepository(LogoutDelivery).countBy({
      id: In(others),
      status: 'sending',
      updatedAt: MoreThanOrEqual(new Date(this.clock.now().getTime() - takeOver)),
    });
  }

  /**
   * Claims the rows still due, in one statement: only one worker may hold a row (a job handed out
   * twice finds it taken) until its lease runs out, or until the job that holds it is run again after
   * its run ended (`takeOver`). The lease outlasts the slowest batch: every batch the worker runs at
   * once, each request waiting its turn for a slot and then its whole timeout.
   */
  private async claim(ids: string[], takeOver: number): Promise<ClaimedDelivery[]> {
    const now = this.clock.now().getTime();
    const { concurrency, timeoutMs } = this.config.delivery;
    const turns = Math.ceil((ids.length * batchesAtOnce(concurrency)) / concurrency);
    // Without takeOver no row is old enough to take over: updated_at is never negative.
    const stale = takeOver > 0 ? now - takeOver : -1;
    // One text whatever the batch's size (its ids are one parameter): PostgreSQL prepares it once per
    // connection, SQLite's statement cache keeps it.
    const postgres = this.db.options.type === 'postgres';
    const parameters: unknown[] = [];
    const place = (value: unknown) => {
      parameters.push(value);
      return postgres ? `$${parameters.length}` : '?';
    };
    const isOneOf = (column: string, values: string[]) => {
      const [predicate, value] = oneOf(this.db.manager, column, values, parameters.length + 1);
      parameters.push(value);
      return predicate;
    };
    const sql = `UPDATE logout_deliveries
          SET status = 'sending', attempts = attempts + 1, lease_until = ${place(now + turns * timeoutMs + LEASE_MS)},
              updated_at = ${place(now)}
        WHERE ${isOneOf('id', ids)} AND channel IN (${BACKCHANNELS.map((channel) => `'${channel}'`).join(', ')})
          AND (status IN ('pending', 'queued')
               OR (status = 'sending' AND (lease_until < ${place(now)} OR updated_at < ${place(stale)})))
          AND (next_attempt_at IS NULL OR next_attempt_at <= ${place(now + EARLY_MS)})
        RETURNING id, operation_id, provider_session_id, provider_id, channel, attempts, attempt_log, event`;
    // Not synced on SQLite: a claim lost with the machine leaves the row as it was, and it is sent again.
    const rows = await rowsOf<Record<string, unknown>>(this.db, sql, parameters, {
      name: 'signoff_claim_deliveries',
      durable: false,
    });
    return rows.map((row) => ({
      id: String(row.id),
      operationId: String(row.operation_id),
      providerSessionId: row.provider_session_id === null ? null : String(row.provider_session_id),
      providerId: String(row.provider_id),
      channel: String(row.channel),
      attempts: Number(row.attempts),
      attemptLog: JSON.parse(String(row.attempt_log)) as DeliveryAttempt[],
      event: row.event === null ? null : (JSON.parse(String(row.event)) as SecurityEventClaims),
    }));
  }

  /**
   * Who builds the message and reads the answer: the provider session's protocol, or for a security
   * event (no provider session) the SSF transmitter.
   */
  private senderFor(
    row: ClaimedDelivery,
    target: DeliveryTarget | undefined,
    once: ReadOnce,
  ): {
    build(): Promise<BackchannelRequest>;
    read(reply: BackchannelReply, request: BackchannelRequest): BackchannelVerdict | Promise<BackchannelVerdict>;
  } {
    if (row.event) {
      const transmitter = this.protocols.signals;
      if (!transmitter) throw new Error('no Shared Signals transmitter is registered in this process');
      const event = row.event;
      return {
        build: () => transmitter.buildPush({ id: row.id, receiverId: row.providerId, event }, once),
        read: (reply) => transmitter.readPushReply(reply),
      };
    }
    if (!target) throw new Error('the provider session is gone');
    const protocol = this.protocols.for(target.session.provider.protocol);
    return {
      build: () => protocol.buildBackchannelRequest({ ...target, once }),
      read: (reply, request) => protocol.readBackchannelReply(reply, request, target),
    };
  }

  private async attempt(
    row: ClaimedDelivery,
    target: DeliveryTarget | undefined,
    once: ReadOnce,
    jitter: number,
  ): Promise<AttemptRecord> {
    const { timeoutMs, attempts: maxAttempts } = this.config.delivery;
    const started = this.clock.now();
    let verdict: BackchannelVerdict;
    let status: number | null = null;
    let messageId: string | null = null;
    let retryAfterMs: number | null = null;
    try {
      const sender = this.senderFor(row, target, once);
      const request = await sender.build();
      messageId = request.messageId;
      const reply = await this.http.post(request.url, request.body, request.contentType, timeoutMs, request.headers);
      status = reply.status;
      retryAfterMs = reply.retryAfterMs;
      verdict = await sender.read(reply, request);
    } catch (error) {
      // A policy refusal is final (the address stays refused however often we try) and recorded
      // without the socket's detail, so lastError cannot serve as a port scanner.
      verdict = isOutboundPolicyError(error)
        ? { ok: false, retryable: false, error: OUTBOUND_BLOCKED }
        : { ok: false, retryable: true, error: describe(error, timeoutMs) };
    }

    const now = this.clock.now();
    const attempt = row.attempts;
    const retry = !verdict.ok && verdict.retryable && attempt < maxAttempts;
    const next = verdict.ok ? 'succeeded' : retry ? 'queued' : verdict.retryable ? 'dead' : 'failed';
    const error = verdict.ok ? null : (verdict.error ?? `HTTP ${status}`);
    const entry: DeliveryAttempt = {
      at: started.toISOString(),
      ms: now.getTime() - started.getTime(),
      httpStatus: status,
      result: next,
      error,
      messageId,
    };
    if (next === 'failed' || next === 'dead')
      this.logger.warn({
        msg: next === 'dead' ? 'delivery dead: out of attempts' : 'delivery failed: the application refused it',
        operation: row.operationId,
        delivery: row.id,
        application: target?.session.provider.slug ?? row.providerId,
        channel: row.channel,
        attempt,
        status,
        error,
      });
    return {
      deliveryId: row.id,
      operationId: row.operationId,
      channel: row.channel,
      attempt,
      log: row.attemptLog,
      entries: [...interruptedAttempts(row, started), entry],
      status: next,
      httpStatus: status,
      error,
      messageId,
      retryInMs: retry ? retryDelayMs(attempt, retryAfterMs, () => jitter) : 0,
    };
  }
}

/**
 * Entries for the attempts that were cut short before they were recorded (a worker killed, its
 * database restarted): the claim counted them, so the log says so too, and the count and the log
 * agree. Whether the application got those messages is unknown. Countable while the log is not full.
 */
function interruptedAttempts(row: ClaimedDelivery, now: Date): DeliveryAttempt[] {
  if (row.attemptLog.length >= ATTEMPT_LOG_SIZE) return [];
  const missing = row.attempts - 1 - row.attemptLog.length;
  return Array.from({ length: Math.max(0, missing) }, () => ({
    at: now.toISOString(),
    ms: 0,
    httpStatus: null,
    result: 'queued' as const,
    error: 'interrupted: the attempt was cut short before its outcome was recorded (the application may have got it)',
    messageId: null,
  }));
}

function describe(error: unknown, timeoutMs: number): string {
  const err = error as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = err.code ?? err.cause?.code;
  return code ? `${code}: ${err.cause?.message ?? err.message}` : err.message;
}

/**
 * A job run again found rows it names still `sending`, claimed too recently to take over: thrown so
 * that BullMQ runs the job again after its backoff (the rows are taken over once old enough).
 */
export class RunAgainLater extends Error {
  constructor(readonly rows: number) {
    super(`${rows} deliveries of this job are still being sent, or were when its last run ended; run again later`);
    this.name = 'RunAgainLater';
  }
}
