export * from './backchannel-deliverer';
export * from './logout-operations.service';
export * from './logout-orchestrator';
export * from './logout-protocol';
export * from './logout.module';
export * from './protocol-registry';
