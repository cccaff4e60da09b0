import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config, RedisService, SHUTDOWN_STEP_MS, within } from '@signoff/core';
import { Queue } from 'bullmq';

export const DELIVERY_QUEUE = 'deliveries';

/** The jobs of the delivery queue carry only the delivery's id: the row is the truth. */
export interface DeliveryJob {
  deliveryId: string;
}

/** Producer side of the delivery queue. Job id = delivery id, so handing a row out twice adds one job. */
@Injectable()
export class DeliveryQueue implements OnModuleDestroy {
  private readonly logger = new Logger(DeliveryQueue.name);
  private queue?: Queue<DeliveryJob>;
  private closed = false;

  constructor(
    private readonly redis: RedisService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  get instance(): Queue<DeliveryJob> {
    if (this.queue) return this.queue;
    // A relay pass still running at shutdown (a kick after a commit) must not open a queue, and its
    // Redis connection, that nobody closes any more: it fails instead, and the rows stay pending.
    if (this.closed) throw new Error('the delivery queue is closed');
    this.queue = new Queue<DeliveryJob>(DELIVERY_QUEUE, {
      connection: this.redis.connection(),
      prefix: this.config.redisPrefix,
      defaultJobOptions: {
        // The row counts attempts and declares a delivery dead; BullMQ only has to keep retrying.
        attempts: this.config.delivery.attempts + 1,
        backoff: { type: 'jittered' },
        removeOnComplete: true,
        removeOnFail: true,
      },
    });
    // Outages are reported once by the relay; per-reconnect errors are only debug noise.
    this.queue.on('error', (error) =>
      this.logger.debug({ msg: 'delivery queue connection error', error: error.message }),
    );
    return this.queue;
  }

  async add(deliveries: Array<{ id: string; delayMs?: number }>): Promise<void> {
    if (!deliveries.length) return;
    await this.instance.addBulk(
      deliveries.map(({ id, delayMs }) => ({
        name: 'deliver',
        data: { deliveryId: id },
        opts: { jobId: id, delay: delayMs && delayMs > 0 ? delayMs : undefined },
      })),
    );
  }

  /**
   * Whether the queue's Redis answers a ping within `ms` (the admin dashboard): a bounded wait, as the
   * readiness probe does, since a command to an unreachable Redis would otherwise wait for it.
   */
  reachable(ms = 500): Promise<boolean> {
    return within(ms, this.redis.ping(), false);
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.queue) await within(SHUTDOWN_STEP_MS, this.queue.close(), undefined);
  }
}
