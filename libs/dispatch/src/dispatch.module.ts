import { Module } from '@nestjs/common';
import { DeliveryQueue } from './delivery-queue';
import { HttpClient } from './http-client';
import { OutboxRelay } from './outbox-relay';

@Module({ providers: [DeliveryQueue, OutboxRelay, HttpClient], exports: [DeliveryQueue, OutboxRelay, HttpClient] })
export class DispatchModule {}
