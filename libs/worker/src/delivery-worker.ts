import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config, RedisService, SHUTDOWN_STEP_MS, within } from '@signoff/core';
import { DELIVERY_QUEUE, type DeliveryJob } from '@signoff/dispatch';
import { BackchannelDeliverer, OutboxRelay } from '@signoff/logout';
import { Worker } from 'bullmq';

/** Thrown to have BullMQ run the job again after the delay the deliverer chose. */
class RetryLater extends Error {
  constructor(readonly delayMs: number) {
    super('retry later');
  }
}

const RELAY_INTERVAL_MS = 1000;

/**
 * The back-channel side of the worker: a BullMQ worker running one attempt per job with
 * DELIVERY_CONCURRENCY attempts in flight (a slow application holds one slot, not the queue), and
 * the outbox relay every second, which also recovers jobs lost with Redis or with a dead worker.
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryWorker.name);
  private worker?: Worker<DeliveryJob>;
  private relayTimer?: NodeJS.Timeout;
  private relayWarned = false;

  constructor(
    private readonly redis: RedisService,
    private readonly deliverer: BackchannelDeliverer,
    private readonly relay: OutboxRelay,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  onApplicationBootstrap(): void {
    this.worker = new Worker<DeliveryJob>(
      DELIVERY_QUEUE,
      async (job) => {
        const outcome = await this.deliverer.attempt(job.data.deliveryId);
        if (!outcome.done) throw new RetryLater(outcome.retryInMs);
      },
      {
        connection: this.redis.connection(),
        prefix: this.config.redisPrefix,
        concurrency: this.config.delivery.concurrency,
        // A worker that dies mid-attempt loses its lock soon after the attempt would have timed out;
        // the stall check then hands the job to another worker (the lock is renewed while alive).
        lockDuration: this.config.delivery.timeoutMs + 5000,
        stalledInterval: this.config.delivery.timeoutMs + 5000,
        settings: {
          backoffStrategy: (_attempts, _type, error) => (error instanceof RetryLater ? error.delayMs : 1000),
        },
      },
    );
    this.worker.on('error', (error) => this.logger.warn({ msg: 'delivery worker error', error: error.message }));
    this.relayTimer = setInterval(() => void this.relayPass(), RELAY_INTERVAL_MS);
  }

  private async relayPass(): Promise<void> {
    try {
      await this.relay.relayOnce();
      if (this.relayWarned) this.logger.log({ msg: 'relay reaches the queue again' });
      this.relayWarned = false;
    } catch (error) {
      if (!this.relayWarned)
        this.logger.warn({
          msg: 'relay cannot reach the queue; deliveries wait in the database',
          error: (error as Error).message,
        });
      this.relayWarned = true;
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.relayTimer);
    // Rows of attempts cut short keep their lease: the relay hands them out again.
    if (this.worker) await within(SHUTDOWN_STEP_MS, this.worker.close(), undefined);
  }
}
