export * from './idp-sessions.service';
export * from './sessions.module';
