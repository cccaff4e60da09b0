import { type DynamicModule, Module } from '@nestjs/common';
import { type Config, CoreModule, type CoreOptions, RedisModule } from '@signoff/core';
import { LogoutModule } from '@signoff/logout';
import { OidcModule } from '@signoff/oidc';
import { SamlModule } from '@signoff/saml';
import { SessionsModule } from '@signoff/sessions';
import { DeliveryWorker } from './delivery-worker';
import { ExpirySweeper } from './expiry-sweeper';

/** The worker's jobs, without the process-wide modules (the idp imports it for one-process mode). */
@Module({ imports: [SessionsModule, LogoutModule, OidcModule, SamlModule], providers: [ExpirySweeper, DeliveryWorker] })
export class WorkerModule {}

/** The worker process (`npm run start:worker`). */
@Module({})
export class WorkerAppModule {
  static register(config: Config, options: CoreOptions = {}): DynamicModule {
    return { module: WorkerAppModule, imports: [CoreModule.forRoot(config, options), RedisModule.forRoot(config), WorkerModule] };
  }
}
