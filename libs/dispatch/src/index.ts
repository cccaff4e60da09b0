export * from './delivery-queue';
export * from './dispatch.module';
export * from './http-client';
export * from './retry-policy';
export * from './limiter';
