import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config, RedisService, SHUTDOWN_STEP_MS, SYSTEM, within } from '@signoff/core';
import { LogoutOperationsService, LogoutOrchestrator } from '@signoff/logout';
import { ProvidersAdminService } from '@signoff/providers';
import { IdpSessionsService } from '@signoff/sessions';
import { Queue, Worker } from 'bullmq';

export const MAINTENANCE_QUEUE = 'maintenance';
const EXPIRE_SESSIONS = 'expire-sessions';

/**
 * Every SESSION_SWEEP_INTERVAL: ends IdP sessions past their absolute or idle expiry with a full
 * logout (back-channel; an expiry has no browser), and fails front-channel deliveries whose logout
 * page was abandoned, and removes the rows of deleted applications whose deliveries are all final
 * (ProvidersAdminService.purgeDeleted). A BullMQ job scheduler runs it, so with several workers each sweep runs once.
 */
@Injectable()
export class ExpirySweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ExpirySweeper.name);
  private queue?: Queue;
  private worker?: Worker;

  constructor(
    private readonly redis: RedisService,
    private readonly sessions: IdpSessionsService,
    private readonly orchestrator: LogoutOrchestrator,
    private readonly operations: LogoutOperationsService,
    private readonly providers: ProvidersAdminService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const prefix = this.config.redisPrefix;
    this.queue = new Queue(MAINTENANCE_QUEUE, { connection: this.redis.connection(), prefix });
    this.queue.on('error', (error) =>
      this.logger.debug({ msg: 'maintenance queue connection error', error: error.message }),
    );
    await this.queue.upsertJobScheduler(
      EXPIRE_SESSIONS,
      { every: this.config.session.sweepIntervalMs },
      { name: EXPIRE_SESSIONS, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
    this.worker = new Worker(
      MAINTENANCE_QUEUE,
      async (job) => (job.name === EXPIRE_SESSIONS ? this.sweep() : undefined),
      { connection: this.redis.connection(), prefix, concurrency: 1 },
    );
    this.worker.on('failed', (job, error) =>
      this.logger.error({ msg: 'maintenance job failed', job: job?.name, error: error.message }),
    );
    this.worker.on('error', (error) => this.logger.warn({ msg: 'maintenance worker error', error: error.message }));
  }

  async sweep(): Promise<{ ended: number; abandoned: number; purged: number }> {
    const expired = await this.sessions.findExpired();
    for (const reason of ['expired_absolute', 'expired_idle'] as const) {
      const idpSessionIds = expired.filter((session) => session.reason === reason).map((session) => session.id);
      if (idpSessionIds.length)
        await this.orchestrator.endSessions({
          trigger: 'expiry',
          initiator: SYSTEM,
          reason,
          idpSessionIds,
          withBrowser: false,
        });
    }
    if (expired.length) this.logger.log({ msg: 'ended expired sessions', ended: expired.length });
    // A logout page gets its iframes' time plus a minute to report before its deliveries count as failed.
    const abandoned = await this.operations.failAbandonedFrontchannel(
      this.config.delivery.frontchannelTimeoutMs + 60_000,
    );
    // After the abandoned front channel is failed: those were the last open deliveries of some deleted applications.
    const purged = await this.providers.purgeDeleted();
    if (purged) this.logger.log({ msg: 'removed deleted applications', purged });
    return { ended: expired.length, abandoned, purged };
  }

  async onModuleDestroy(): Promise<void> {
    if (this.worker) await within(SHUTDOWN_STEP_MS, this.worker.close(), undefined);
    if (this.queue) await within(SHUTDOWN_STEP_MS, this.queue.close(), undefined);
  }
}
