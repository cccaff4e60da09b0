import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config, RedisService, SHUTDOWN_STEP_MS, SYSTEM, within } from '@signoff/core';
import { LogoutOperationsService, LogoutOrchestrator } from '@signoff/logout';
import { IdpSessionsService } from '@signoff/sessions';
import { Queue, Worker } from 'bullmq';
import { logWorkerError } from './worker-errors';

export const MAINTENANCE_QUEUE = 'maintenance';
const EXPIRE_SESSIONS = 'expire-sessions';

/**
 * Every SESSION_SWEEP_INTERVAL: ends IdP sessions past their absolute or idle expiry with a full
 * logout (back-channel; an expiry has no browser), and fails front-channel deliveries whose logout
 * page was abandoned. (Deleted applications are not removed here or anywhere: their rows stay as
 * tombstones holding their delivery history; see ProvidersAdminService.remove.) A BullMQ job scheduler
 * runs it, so with several workers each sweep runs once.
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
    this.worker.on('error', (error) => logWorkerError(this.logger, 'maintenance worker error', error));
  }

  async sweep(): Promise<{ ended: number; abandoned: number }> {
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
    return { ended: expired.length, abandoned };
  }

  async onModuleDestroy(): Promise<void> {
    if (this.worker) await within(SHUTDOWN_STEP_MS, this.worker.close(), undefined);
    if (this.queue) await within(SHUTDOWN_STEP_MS, this.queue.close(), undefined);
  }
}
