import { Controller, Get, NotFoundException, Param, UseGuards } from '@nestjs/common';
import { LogoutOperationsService } from '@signoff/logout';
import { AdminGuard } from './admin.guard';
import { IdParam } from './validation';

/** Per logout: which applications confirmed, which did not, and why. */
@Controller('api/v1/logout-operations')
@UseGuards(AdminGuard)
export class LogoutOperationsController {
  constructor(private readonly operations: LogoutOperationsService) {}

  @Get(':id')
  async get(@Param('id', IdParam) id: string) {
    const operation = await this.operations.get(id);
    if (!operation) throw new NotFoundException('No such logout operation.');
    return {
      id: operation.id,
      trigger: operation.trigger,
      initiatorType: operation.initiatorType,
      initiatorId: operation.initiatorId,
      initiatingProviderId: operation.initiatingProviderId,
      idpSessionIds: operation.idpSessionIds,
      createdAt: operation.createdAt,
      completedAt: operation.completedAt,
      outcome: operation.outcome,
      deliveries: operation.deliveries.map((delivery) => ({
        id: delivery.id,
        provider: { id: delivery.providerId, slug: delivery.provider.slug, name: delivery.provider.name },
        providerSessionId: delivery.providerSessionId,
        channel: delivery.channel,
        status: delivery.status,
        attempts: delivery.attempts,
        lastHttpStatus: delivery.lastHttpStatus,
        lastError: delivery.lastError,
        messageId: delivery.messageId,
        nextAttemptAt: delivery.nextAttemptAt,
        updatedAt: delivery.updatedAt,
        completedAt: delivery.completedAt,
        attemptLog: delivery.attemptLog,
      })),
    };
  }
}
