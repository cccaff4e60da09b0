export * from './delivery-queue';
export * from './dispatch.module';
export * from './http-client';
export * from './outbox-relay';
export * from './retry-policy';
