import { Module } from '@nestjs/common';
import { DeliveryQueue } from './delivery-queue';
import { OutboxRelay } from './outbox-relay';

@Module({ providers: [DeliveryQueue, OutboxRelay], exports: [DeliveryQueue, OutboxRelay] })
export class DispatchModule {}
