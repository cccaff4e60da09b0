import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config, RedisService, SHUTDOWN_STEP_MS, within } from '@signoff/core';
import { refreshCheckIntervalMs, SpMetadataRefresh } from '@signoff/saml';
import { Queue, Worker } from 'bullmq';
import { logWorkerError } from './worker-errors';

export const SAML_METADATA_QUEUE = 'saml-metadata';
const REFRESH_DUE = 'refresh-due';

/**
 * Keeps SP metadata fetched from a URL current: every few minutes (refreshCheckIntervalMs) it
 * refreshes the SPs whose refresh is due (SpMetadataRefresh.refreshDue: every SAML_METADATA_REFRESH,
 * or the metadata's cacheDuration when shorter), applying certificate rollovers and changed endpoints
 * and auditing each change; a failure keeps the old metadata. A BullMQ job scheduler runs it, so with
 * several workers each pass runs once.
 */
@Injectable()
export class SamlMetadataRefresher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SamlMetadataRefresher.name);
  private queue?: Queue;
  private worker?: Worker;

  constructor(
    private readonly redis: RedisService,
    private readonly refresh: SpMetadataRefresh,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const prefix = this.config.redisPrefix;
    this.queue = new Queue(SAML_METADATA_QUEUE, { connection: this.redis.connection(), prefix });
    this.queue.on('error', (error) =>
      this.logger.debug({ msg: 'saml-metadata queue connection error', error: error.message }),
    );
    await this.queue.upsertJobScheduler(
      REFRESH_DUE,
      { every: refreshCheckIntervalMs(this.config.samlMetadata.refreshMs) },
      { name: REFRESH_DUE, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
    this.worker = new Worker(SAML_METADATA_QUEUE, async (job) => (job.name === REFRESH_DUE ? this.pass() : undefined), {
      connection: this.redis.connection(),
      prefix,
      concurrency: 1,
    });
    this.worker.on('failed', (job, error) =>
      this.logger.error({ msg: 'saml-metadata job failed', job: job?.name, error: error.message }),
    );
    this.worker.on('error', (error) => logWorkerError(this.logger, 'saml-metadata worker error', error));
  }

  /** One pass: refreshes every SP whose refresh is due. */
  async pass(): Promise<{ refreshed: number; failed: number }> {
    const outcome = await this.refresh.refreshDue();
    if (outcome.refreshed || outcome.failed) this.logger.log({ msg: 'SP metadata refresh pass', ...outcome });
    return outcome;
  }

  async onModuleDestroy(): Promise<void> {
    if (this.worker) await within(SHUTDOWN_STEP_MS, this.worker.close(), undefined);
    if (this.queue) await within(SHUTDOWN_STEP_MS, this.queue.close(), undefined);
  }
}
