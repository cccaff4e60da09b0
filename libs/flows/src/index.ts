export * from './flow-executor';
export * from './flows.module';
export * from './flows.service';
