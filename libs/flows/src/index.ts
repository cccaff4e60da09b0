export * from './flows.module';
export * from './flows.service';
