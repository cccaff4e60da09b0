import { Injectable } from '@nestjs/common';
import { BACKCHANNELS, Clock, FINAL_STATUSES, LogoutDelivery, LogoutOperation, type LogoutOutcome } from '@signoff/core';
import { DataSource, type EntityManager, In, IsNull, LessThan, Not } from 'typeorm';

export type OperationWithDeliveries = LogoutOperation & { deliveries: Array<LogoutDelivery & { provider: { slug: string; name: string } }> };

/** Reading operations and closing them once every delivery has reached a final state. */
@Injectable()
export class LogoutOperationsService {
  constructor(private readonly db: DataSource, private readonly clock: Clock) {}

  /**
   * Front-channel deliveries whose logout page never reported (the tab was closed) fail once they
   * are older than `olderThanMs`, so their operations can complete. Returns how many.
   */
  async failAbandonedFrontchannel(olderThanMs: number): Promise<number> {
    const now = this.clock.now();
    const abandoned = await this.db.getRepository(LogoutDelivery).find({
      where: { status: 'pending', channel: Not(In(BACKCHANNELS)), createdAt: LessThan(new Date(now.getTime() - olderThanMs)) },
      select: { id: true, operationId: true },
      take: 500,
    });
    if (!abandoned.length) return 0;
    await this.db.getRepository(LogoutDelivery).update({ id: In(abandoned.map((row) => row.id)), status: 'pending' }, {
      status: 'failed', lastError: 'the logout page never reported: the browser left before the application was told', updatedAt: now, completedAt: now,
    });
    for (const operationId of new Set(abandoned.map((row) => row.operationId))) await this.settle(operationId);
    return abandoned.length;
  }

  async get(id: string): Promise<OperationWithDeliveries | null> {
    const operation = await this.db.getRepository(LogoutOperation).findOneBy({ id });
    if (!operation) return null;
    const deliveries = await this.db.getRepository(LogoutDelivery).find({ where: { operationId: id }, relations: { provider: true }, order: { createdAt: 'ASC' } });
    return Object.assign(operation, { deliveries });
  }

  /**
   * Completes the operation if no delivery is still under way: `complete` when every one succeeded
   * (or had nothing to do), `failed` when none did, `partial` otherwise. Safe to call any number of times.
   */
  async settle(operationId: string, tx: EntityManager = this.db.manager): Promise<void> {
    const deliveries = await tx.find(LogoutDelivery, { where: { operationId }, select: { id: true, status: true } });
    if (deliveries.some((delivery) => !FINAL_STATUSES.includes(delivery.status))) return;
    const succeeded = deliveries.filter((delivery) => delivery.status === 'succeeded' || delivery.status === 'skipped').length;
    const outcome: LogoutOutcome = succeeded === deliveries.length ? 'complete' : succeeded === 0 ? 'failed' : 'partial';
    await tx.update(LogoutOperation, { id: operationId, completedAt: IsNull() }, { completedAt: this.clock.now(), outcome });
  }
}
