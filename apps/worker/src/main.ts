import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import {
  configFromEnvOrExit,
  exitDeadlineOnSignal,
  JsonLogger,
  MetricsListener,
  StoppedWhileWaiting,
} from '@signoff/core';
import { heapWarning } from './heap';
import { WorkerAppModule } from './worker.module';

async function main(): Promise<void> {
  const config = configFromEnvOrExit();
  exitDeadlineOnSignal();
  const logger = new JsonLogger(config.logLevel);
  const heap = heapWarning(config);
  if (heap) logger.warn(heap, 'main');
  const app = await NestFactory.createApplicationContext(WorkerAppModule.register(config, { waitForDatabase: true }), {
    logger,
    abortOnError: false,
  });
  app.enableShutdownHooks();
  logger.log({ msg: 'signoff worker started', metrics: app.get(MetricsListener).url }, 'main');
}

main().catch((error) => {
  process.stderr.write(`signoff worker: ${error instanceof Error ? error.message : String(error)}\n`);
  // Told to stop before it had started: nothing was running yet, so it stopped as asked.
  process.exit(error instanceof StoppedWhileWaiting ? 0 : 1);
});
