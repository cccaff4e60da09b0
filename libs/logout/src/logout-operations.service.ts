import { Injectable } from '@nestjs/common';
import { Clock, FINAL_STATUSES, LogoutDelivery, LogoutOperation, type LogoutOutcome } from '@signoff/core';
import { DataSource, type EntityManager, IsNull } from 'typeorm';

export type OperationWithDeliveries = LogoutOperation & { deliveries: Array<LogoutDelivery & { provider: { slug: string; name: string } }> };

/** Reading operations and closing them once every delivery has reached a final state. */
@Injectable()
export class LogoutOperationsService {
  constructor(private readonly db: DataSource, private readonly clock: Clock) {}

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
