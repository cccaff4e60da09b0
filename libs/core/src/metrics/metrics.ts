import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Clock } from '../clock/clock';
import type { Config } from '../config/config';
import { safeEqual } from '../crypto/random';
import {
  BACKCHANNELS,
  type DeliveryChannel,
  type DeliveryStatus,
  LOGOUT_OUTCOMES,
  LOGOUT_TRIGGERS,
  type LogoutOutcome,
  type LogoutTrigger,
} from '../entities/logout.entity';
import { SignoffError } from '../errors/signoff-error';
import { within } from '../lifecycle/within';

/** Every delivery channel: the series of the delivery counters exist from the start, at 0. */
const CHANNELS: DeliveryChannel[] = [
  'backchannel_oidc',
  'backchannel_saml',
  'frontchannel_oidc',
  'frontchannel_saml_iframe',
  'frontchannel_saml_native',
  'ssf_push',
  'ssf_poll',
];
/** The statuses a delivery ends in (FINAL_STATUSES); back-channel rows only die (out of attempts). */
const ENDINGS: Array<Extract<DeliveryStatus, 'succeeded' | 'failed' | 'dead' | 'skipped'>> = [
  'succeeded',
  'failed',
  'dead',
  'skipped',
];
/** Rows of the outbox not yet final, by status: what `signoff_logout_outbox_deliveries` reports. */
export const OUTBOX_STATUSES = ['pending', 'queued', 'sending'] as const;
/** The BullMQ job states the queue gauge reports (first attempts wait as `prioritized`, retries as `delayed`). */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;
/** What a login came to: `throttled` was refused before the password was checked. */
export type LoginResult = 'success' | 'failure' | 'throttled';
/** What one back-channel attempt came to: `retry` is an attempt that failed and will be tried again. */
export type AttemptResult = 'succeeded' | 'retry' | 'failed' | 'dead';

/**
 * How long a scrape waits for each source it reads (the database, the queue's Redis): an outage makes
 * the scrape report what it knows (and `signoff_metrics_source_up` 0), not hang until Prometheus gives up.
 */
export const SCRAPE_READ_TIMEOUT_MS = 1000;
/** Back-channel attempt latency buckets (seconds): loopback milliseconds up to DELIVERY_TIMEOUT's range. */
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The outbox as one query sees it: back-channel rows not yet final by status, and when the oldest was written. */
export interface OutboxReading {
  byStatus: Partial<Record<(typeof OUTBOX_STATUSES)[number], number>>;
  /** Epoch milliseconds; null when the outbox is empty. */
  oldestCreatedAt: number | null;
}

/**
 * prom-client's process metrics (CPU, memory, event-loop lag, garbage collection), collected once per
 * process and served by every Metrics: their collectors (a GC observer, an event-loop delay monitor)
 * cannot be stopped, so one set per app would pile up in a process that builds many apps (the tests),
 * and they describe the process, not the app.
 */
let processMetrics: Registry | undefined;
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/** What a scrape reads at the time it runs, each source on its own (one can fail while the other answers). */
interface Readings {
  outbox: OutboxReading | null;
  queue: Record<string, number> | null;
}

/**
 * The process's metrics, in a registry of its own (not prom-client's global one: several apps built in
 * one test process must not share counters). Counters count what this process did; the outbox and the
 * queue are read from the table and from Redis when a scrape asks (one query each, bounded by
 * SCRAPE_READ_TIMEOUT_MS), since those are shared by every process. Names and alerts: docs/operations.md.
 *
 * libs/core cannot read the outbox itself (only libs/logout reads the logout books): the logout engine
 * hands it the readers (`readOutboxWith`, `readQueueWith`) when it starts.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  private readonly operationsStarted = new Counter({
    name: 'signoff_logout_operations_started_total',
    help: 'Logout operations started by this process, by trigger (user_logout, rp_initiated, sp_initiated, admin_session, user_deactivated, password_changed, global_revocation, expiry, api).',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });
  private readonly operationsEnded = new Counter({
    name: 'signoff_logout_operations_ended_total',
    help: 'Logout operations settled by this process, by outcome (complete, partial, failed). An operation reopened by a retry counts again when it settles again.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly deliveriesEnded = new Counter({
    name: 'signoff_logout_deliveries_ended_total',
    help: 'Logout deliveries that reached a final status in this process, by channel and status (succeeded, failed, dead, skipped).',
    labelNames: ['channel', 'status'] as const,
    registers: [this.registry],
  });
  private readonly attemptSeconds = new Histogram({
    name: 'signoff_logout_delivery_attempt_duration_seconds',
    help: 'Back-channel delivery attempts recorded by this process: time from building the message to reading the answer, by channel and result (succeeded, retry, failed, dead).',
    labelNames: ['channel', 'result'] as const,
    buckets: ATTEMPT_BUCKETS,
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: 'signoff_logout_delivery_retries_total',
    help: 'Back-channel retries scheduled by this process (an attempt failed in a way worth trying again), by channel.',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  private readonly redeliveries = new Counter({
    name: 'signoff_logout_delivery_redeliveries_total',
    help: 'Back-channel attempts made again after an attempt whose outcome was never recorded (its worker died, its lease ran out, the database restarted): the application may get the message twice.',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  private readonly logins = new Counter({
    name: 'signoff_logins_total',
    help: 'Password logins at this process, by result (success; failure: wrong username or password, or an inactive user; throttled: refused before the check).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  private outboxReader?: () => Promise<OutboxReading>;
  private queueReader?: () => Promise<Record<string, number>>;
  private reading?: Promise<Readings>;

  constructor(private readonly clock: Clock) {
    // Series that exist before their first event, so a rate() or an alert on them has data at 0.
    for (const trigger of LOGOUT_TRIGGERS) this.operationsStarted.inc({ trigger }, 0);
    for (const outcome of LOGOUT_OUTCOMES) this.operationsEnded.inc({ outcome }, 0);
    for (const channel of CHANNELS) for (const status of ENDINGS) this.deliveriesEnded.inc({ channel, status }, 0);
    for (const channel of BACKCHANNELS) {
      this.retries.inc({ channel }, 0);
      this.redeliveries.inc({ channel }, 0);
    }
    for (const result of ['success', 'failure', 'throttled']) this.logins.inc({ result }, 0);

    // collect() runs with the gauge as `this`: the registry's side is reached through these.
    const read = () => this.read();
    const now = () => this.clock.now().getTime();
    const reads = () => ({ database: Boolean(this.outboxReader), queue: Boolean(this.queueReader) });
    new Gauge({
      name: 'signoff_logout_outbox_deliveries',
      help: 'Back-channel deliveries not yet final, read from the outbox table at scrape time (every process sees the same), by status: pending (not handed out yet), queued (handed to the queue, or waiting for a retry), sending (an attempt under way).',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        const { outbox } = await read();
        this.reset();
        for (const status of OUTBOX_STATUSES) if (outbox) this.set({ status }, outbox.byStatus[status] ?? 0);
      },
    });
    new Gauge({
      name: 'signoff_logout_outbox_oldest_age_seconds',
      help: 'Age of the oldest back-channel delivery not yet final (since its logout was committed), read from the outbox table at scrape time; 0 when there is none.',
      registers: [this.registry],
      async collect() {
        const { outbox } = await read();
        this.reset();
        if (outbox)
          this.set(outbox.oldestCreatedAt === null ? 0 : Math.max(0, (now() - outbox.oldestCreatedAt) / 1000));
      },
    });
    new Gauge({
      name: 'signoff_delivery_queue_jobs',
      help: "Jobs of the delivery queue (BullMQ) at scrape time, by state: waiting, prioritized (first attempts), active, delayed (retries), failed. Absent when the queue's Redis did not answer.",
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const { queue } = await read();
        this.reset();
        for (const state of QUEUE_STATES) if (queue) this.set({ state }, queue[state] ?? 0);
      },
    });
    new Gauge({
      name: 'signoff_metrics_source_up',
      help: `Whether a source read at scrape time answered within ${SCRAPE_READ_TIMEOUT_MS} ms (1) or not (0), by source: database (the outbox), queue (Redis).`,
      labelNames: ['source'] as const,
      registers: [this.registry],
      async collect() {
        const { outbox, queue } = await read();
        if (reads().database) this.set({ source: 'database' }, outbox ? 1 : 0);
        if (reads().queue) this.set({ source: 'queue' }, queue ? 1 : 0);
      },
    });
  }

  /** The logout engine's reader of the outbox table (one cheap query), run at each scrape. */
  readOutboxWith(reader: () => Promise<OutboxReading>): void {
    this.outboxReader = oneAtATime(reader);
  }

  /** The logout engine's reader of the delivery queue's job counts, run at each scrape. */
  readQueueWith(reader: () => Promise<Record<string, number>>): void {
    this.queueReader = oneAtATime(reader);
  }

  logoutStarted(trigger: LogoutTrigger): void {
    this.operationsStarted.inc({ trigger });
  }

  logoutEnded(outcome: LogoutOutcome): void {
    this.operationsEnded.inc({ outcome });
  }

  deliveryEnded(channel: DeliveryChannel, status: (typeof ENDINGS)[number], count = 1): void {
    if (count > 0) this.deliveriesEnded.inc({ channel, status }, count);
  }

  /** One back-channel attempt, recorded: its latency, a retry it schedules, or the end of its delivery. */
  attemptRecorded(channel: DeliveryChannel, result: AttemptResult, seconds: number): void {
    this.attemptSeconds.observe({ channel, result }, seconds);
    if (result === 'retry') this.retries.inc({ channel });
    else this.deliveriesEnded.inc({ channel, status: result });
  }

  redelivered(channel: DeliveryChannel): void {
    this.redeliveries.inc({ channel });
  }

  login(result: LoginResult): void {
    this.logins.inc({ result });
  }

  /** The exposition (Prometheus text format 0.0.4) and its content type: this app's metrics, then the process's. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    const [own, process] = await Promise.all([this.registry.metrics(), processRegistry().metrics()]);
    return { contentType: this.registry.contentType, body: own + process };
  }

  /**
   * The scrape-time readings, read once however many gauges ask: a scrape collects every gauge in
   * the same tick, so they share one read of each source.
   */
  private read(): Promise<Readings> {
    this.reading ??= (async () => {
      const [outbox, queue] = await Promise.all([
        this.outboxReader ? within(SCRAPE_READ_TIMEOUT_MS, this.outboxReader(), null) : null,
        this.queueReader ? within(SCRAPE_READ_TIMEOUT_MS, this.queueReader(), null) : null,
      ]);
      return { outbox, queue };
    })().finally(() => (this.reading = undefined));
    return this.reading;
  }
}

/**
 * `reader`, never run again while a run is still under way (later callers share it): a scrape stops
 * waiting after SCRAPE_READ_TIMEOUT_MS, but a slow query or a command queued for an unreachable Redis
 * goes on, and one per scrape would pile up on the database's pool or in Redis's offline queue.
 */
function oneAtATime<T>(reader: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => (running ??= reader().finally(() => (running = undefined)));
}

/**
 * Whether `authorization` is `Bearer <METRICS_TOKEN>`. Both sides are hashed first, so the comparison
 * takes the same time whatever the token's length or where it differs.
 */
export function metricsTokenMatches(token: string, authorization: string | undefined): boolean {
  const given = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
  if (!given) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest('hex');
  return safeEqual(digest(given), digest(token));
}

/**
 * Who may read `/metrics` on the idp's public port: nobody when METRICS_TOKEN is unset (`not_found`:
 * the endpoint is not exposed there), else whoever sends it as a bearer token (`unauthorized`).
 */
export function checkPublicMetricsAccess(config: Config, authorization: string | undefined): void {
  if (!config.metrics.token) throw new SignoffError('not_found', 'Not found.');
  if (!metricsTokenMatches(config.metrics.token, authorization))
    throw new SignoffError('unauthorized', 'Send METRICS_TOKEN as a Bearer token.');
}
