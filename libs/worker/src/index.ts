export * from './delivery-worker';
export * from './expiry-sweeper';
export * from './saml-metadata-refresher';
export * from './worker.module';
