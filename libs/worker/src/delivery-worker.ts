import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config, RedisService, SHUTDOWN_STEP_MS, within } from '@signoff/core';
import { DELIVERY_QUEUE, type DeliveryJob } from '@signoff/dispatch';
import {
  BackchannelDeliverer,
  batchesAtOnce,
  LogoutOperationsService,
  OutboxPieces,
  OutboxRelay,
  SecurityEventBooks,
  RelayFailure,
} from '@signoff/logout';
import { Worker } from 'bullmq';
import { logWorkerError } from './worker-errors';

const RELAY_INTERVAL_MS = 1000;
/** A job's lock: renewed while its worker lives; a worker that dies loses it this long after. */
const lockMs = (config: Config) => config.delivery.timeoutMs + 5000;
/** Every so many relay passes, operations left open with nothing under way are settled. */
const SETTLE_SWEEP_EVERY = 10;

/**
 * The back-channel side of the worker: a BullMQ worker running batches of deliveries (one job each,
 * several at once, their requests sharing DELIVERY_CONCURRENCY slots: a slow application holds its own
 * slots, not the queue), and the outbox relay every second, which also recovers jobs lost with Redis
 * or with a dead worker.
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryWorker.name);
  private worker?: Worker<DeliveryJob>;
  private relayTimer?: NodeJS.Timeout;
  private relayWarned = false;
  private passes = 0;

  constructor(
    private readonly redis: RedisService,
    private readonly deliverer: BackchannelDeliverer,
    private readonly relay: OutboxRelay,
    private readonly pieces: OutboxPieces,
    private readonly operations: LogoutOperationsService,
    private readonly securityEvents: SecurityEventBooks,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  onApplicationBootstrap(): void {
    this.worker = new Worker<DeliveryJob>(
      DELIVERY_QUEUE,
      // A job started before (its worker died, or its run failed) takes over the rows it left `sending`.
      async (job) => {
        // Jobs queued by an older version carry one id.
        const ids = job.data.deliveryIds ?? [(job.data as unknown as { deliveryId: string }).deliveryId];
        await this.deliverer.deliver(ids, { takeOver: job.attemptsStarted > 1 ? lockMs(this.config) : 0 });
      },
      {
        connection: this.redis.connection(),
        prefix: this.config.redisPrefix,
        concurrency: batchesAtOnce(this.config.delivery.concurrency),
        // A worker that dies mid-attempt loses its lock soon after the attempt would have timed out;
        // the stall check then hands the job to another worker (the lock is renewed while alive).
        lockDuration: lockMs(this.config),
        stalledInterval: lockMs(this.config),
      },
    );
    this.worker.on('error', (error) => logWorkerError(this.logger, 'delivery worker error', error));
    this.relayTimer = setInterval(() => void this.relayPass(), RELAY_INTERVAL_MS);
  }

  /**
   * SSF streams keep what waits for them (unacknowledged polls, pushes held while paused) within
   * bounds (SSF_POLL_MAX_EVENTS, SSF_POLL_MAX_AGE). A failure is its own: not a relay outage.
   */
  private async expireKeptEvents(): Promise<void> {
    try {
      await this.securityEvents.expireKept();
    } catch (error) {
      this.logger.warn({
        msg: 'expiring SSF events kept past their bounds failed; the next sweep tries again',
        error: (error as Error).message,
      });
    }
  }

  private async relayPass(): Promise<void> {
    try {
      // Pieces of bulk logouts their process did not write (it died after the commit), then the rows.
      await this.pieces.unpackLeftBehind();
      await this.relay.relayOnce();
      if (++this.passes % SETTLE_SWEEP_EVERY === 0) {
        await this.operations.settleOpen();
        await this.expireKeptEvents();
      }
      if (this.relayWarned) this.logger.log({ msg: 'relay reaches the queue and the database again' });
      this.relayWarned = false;
    } catch (error) {
      // An outage is logged once, and its end once (above), whatever the number of passes between.
      if (!this.relayWarned)
        this.logger.warn({
          msg:
            error instanceof RelayFailure && error.unreachable === 'database'
              ? 'relay cannot reach the database; deliveries resume when it is back'
              : 'relay cannot reach the queue; deliveries wait in the database',
          error: (error as Error).message,
        });
      this.relayWarned = true;
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.relayTimer);
    // Rows of attempts cut short keep their lease: the relay hands them out again.
    // The batches under way end first (each request within its timeout), so what they sent is recorded.
    if (this.worker) await within(this.config.delivery.timeoutMs + SHUTDOWN_STEP_MS, this.worker.close(), undefined);
  }
}
