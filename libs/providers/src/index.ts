export * from './application-homes';
export * from './providers-admin.service';
export * from './providers.module';
