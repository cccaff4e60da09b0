import { Module } from '@nestjs/common';
import { DeliveryQueue } from './delivery-queue';
import { HttpClient } from './http-client';

@Module({ providers: [DeliveryQueue, HttpClient], exports: [DeliveryQueue, HttpClient] })
export class DispatchModule {}
