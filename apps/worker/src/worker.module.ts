import { type DynamicModule, Module } from '@nestjs/common';
import { type Config, CoreModule, type CoreOptions, MetricsModule, RedisModule } from '@signoff/core';
import { WorkerModule } from '@signoff/worker';

/** The worker process (`npm run start:worker`): the process-wide modules and the worker's jobs. */
@Module({})
export class WorkerAppModule {
  static register(config: Config, options: CoreOptions = {}): DynamicModule {
    return {
      module: WorkerAppModule,
      imports: [CoreModule.forRoot(config, options), RedisModule.forRoot(config), MetricsModule, WorkerModule],
    };
  }
}
