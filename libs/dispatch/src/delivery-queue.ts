import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config, RedisService, SHUTDOWN_STEP_MS, within } from '@signoff/core';
import { Queue } from 'bullmq';

export const DELIVERY_QUEUE = 'deliveries';
const FRESH_PRIORITY = 10;

/**
 * A job of the delivery queue: a batch of deliveries, by id only (the rows are the truth). A worker
 * claims the rows still due in one statement; a row handed out twice is claimed once.
 */
export interface DeliveryJob {
  deliveryIds: string[];
}

/** Deliveries to hand to the queue as one job: after `delayMs`; `fresh` for a first attempt. */
export interface DeliveryBatch {
  ids: string[];
  delayMs?: number;
  /**
   * A first attempt waits behind every retry that is due (BullMQ runs jobs without a priority before
   * prioritized ones): a retry runs when its backoff says, not after a whole backlog of new work.
   */
  fresh?: boolean;
}

/** Producer side of the delivery queue. */
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
        // The rows count attempts and schedule retries (the worker adds a job for them). A job that
        // fails as a whole (the database went away mid-batch) runs again, 1 s later, then 2, 4, … (about
        // two minutes in all), and takes over the rows it left `sending` (BackchannelDeliverer.deliver).
        attempts: 8,
        backoff: { type: 'exponential', delay: 1000 },
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

  async add(batches: DeliveryBatch[]): Promise<void> {
    batches = batches.filter((batch) => batch.ids.length);
    if (!batches.length) return;
    await this.instance.addBulk(
      batches.map(({ ids, delayMs, fresh }) => ({
        name: 'deliver',
        data: { deliveryIds: ids },
        opts: { delay: delayMs && delayMs > 0 ? delayMs : undefined, priority: fresh ? FRESH_PRIORITY : undefined },
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

  /**
   * The queue's Redis server's run id, within `ms`, or null when it does not answer: a new one means
   * Redis restarted, and the jobs it held may be gone (OutboxRelay hands their rows out again).
   */
  runId(ms = 500): Promise<string | null> {
    return within(ms, this.redis.runId(), null);
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.queue) await within(SHUTDOWN_STEP_MS, this.queue.close(), undefined);
  }
}
