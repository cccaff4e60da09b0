export * from './delivery-worker';
export * from './expiry-sweeper';
export * from './worker.module';
