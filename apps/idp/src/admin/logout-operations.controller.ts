import { Controller, Get, HttpCode, NotFoundException, Param, Post, Query, UseGuards } from '@nestjs/common';
import { type Actor, DELIVERY_STATUSES, LOGOUT_OUTCOMES, LOGOUT_TRIGGERS } from '@signoff/core';
import {
  type DeliveryWithProvider,
  LogoutOperationsService,
  type OperationListing,
  type OperationWithDeliveries,
} from '@signoff/logout';
import { AdminActor, AdminGuard } from './admin.guard';
import { enumFilter, IdParam, idFilter, pageOf, periodFilter } from './validation';

/** An operation's own fields, as the list and the detail show them. */
const operationView = (operation: OperationListing | OperationWithDeliveries) => ({
  id: operation.id,
  trigger: operation.trigger,
  initiatorType: operation.initiatorType,
  initiatorId: operation.initiatorId,
  initiatingProviderId: operation.initiatingProviderId,
  idpSessionIds: operation.idpSessionIds,
  createdAt: operation.createdAt,
  completedAt: operation.completedAt,
  outcome: operation.outcome,
});

/** One delivery, as the operation's detail and the answer to a retry show it. */
const deliveryView = (delivery: DeliveryWithProvider) => ({
  id: delivery.id,
  operationId: delivery.operationId,
  provider: {
    id: delivery.providerId,
    slug: delivery.provider.slug,
    name: delivery.provider.name,
    deletedAt: delivery.provider.deletedAt,
  },
  providerSessionId: delivery.providerSessionId,
  channel: delivery.channel,
  event: delivery.event ? (Object.keys(delivery.event.events)[0] ?? null) : null,
  status: delivery.status,
  attempts: delivery.attempts,
  lastHttpStatus: delivery.lastHttpStatus,
  lastError: delivery.lastError,
  messageId: delivery.messageId,
  nextAttemptAt: delivery.nextAttemptAt,
  createdAt: delivery.createdAt,
  updatedAt: delivery.updatedAt,
  completedAt: delivery.completedAt,
  attemptLog: delivery.attemptLog,
});

/** Per logout: which applications confirmed, which did not, and why; and sending failed ones again. */
@Controller('api/v1/logout-operations')
@UseGuards(AdminGuard)
export class LogoutOperationsController {
  constructor(private readonly operations: LogoutOperationsService) {}

  /** Newest first; filters: trigger, outcome (or open), delivery_status, user_id, provider_id, since, until. */
  @Get()
  async list(@Query() query: Record<string, unknown>) {
    const page = pageOf(query);
    const filter = {
      trigger: enumFilter(query, 'trigger', LOGOUT_TRIGGERS),
      outcome: enumFilter(query, 'outcome', [...LOGOUT_OUTCOMES, 'open' as const]),
      deliveryStatus: enumFilter(query, 'delivery_status', DELIVERY_STATUSES),
      userId: idFilter(query, 'user_id'),
      providerId: idFilter(query, 'provider_id'),
      ...periodFilter(query),
    };
    const { items, total } = await this.operations.list(filter, page);
    return {
      items: items.map((operation) => ({
        ...operationView(operation),
        userIds: operation.userIds,
        deliveryCounts: operation.deliveryCounts,
      })),
      total,
      ...page,
    };
  }

  @Get(':id')
  async get(@Param('id', IdParam) id: string) {
    const operation = await this.operations.get(id);
    if (!operation) throw new NotFoundException('No such logout operation.');
    return {
      ...operationView(operation),
      deliveries: operation.deliveries.map(deliveryView),
      deliveriesWritten: !operation.writing,
    };
  }

  /** Its deliveries a page at a time, those not confirmed first: a bulk logout has thousands. */
  @Get(':id/deliveries')
  async deliveries(@Param('id', IdParam) id: string, @Query() query: Record<string, unknown>) {
    const page = pageOf(query);
    const operation = await this.operations.overview(id);
    if (!operation) throw new NotFoundException('No such logout operation.');
    const total = Object.values(operation.deliveryCounts).reduce((sum, count) => sum + (count ?? 0), 0);
    const items = await this.operations.deliveriesOf(id, page);
    return { items: items.map(deliveryView), total, ...page };
  }

  /** Sends every failed or dead back-channel delivery of the operation again, now. */
  @Post(':id/retry')
  @HttpCode(200)
  async retry(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    return this.operations.retryOperation(id, actor);
  }
}

/** One delivery of a logout operation. */
@Controller('api/v1/logout-deliveries')
@UseGuards(AdminGuard)
export class LogoutDeliveriesController {
  constructor(private readonly operations: LogoutOperationsService) {}

  /** Sends a failed or dead back-channel delivery again, now (409 for a front-channel one, or one that has not failed). */
  @Post(':id/retry')
  @HttpCode(200)
  async retry(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    return deliveryView(await this.operations.retryDelivery(id, actor));
  }
}
