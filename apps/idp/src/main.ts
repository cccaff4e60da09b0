import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { configFromEnvOrExit, exitDeadlineOnSignal, MetricsListener, StoppedWhileWaiting } from '@signoff/core';
import type { AddressInfo } from 'node:net';
import { createIdpApp } from './app.factory';
import { StartingServer } from './health/starting-server';

async function main(): Promise<void> {
  const config = configFromEnvOrExit();
  exitDeadlineOnSignal();
  const withWorker = process.argv.includes('--with-worker');
  // Until the application listens, this answers /readyz: a start may wait for the database.
  const starting = await StartingServer.listen(config);
  const app = await createIdpApp(config, {
    withWorker,
    waitForDatabase: starting ? (reason) => starting.waitingForDatabase(reason) : true,
  });
  await starting?.close();
  await app.listen(config.port, config.host);
  const { port } = app.getHttpServer().address() as AddressInfo;
  new Logger('main').log({
    msg: 'signoff started',
    publicUrl: config.publicUrl,
    listening: `http://${config.host}:${port}`,
    worker: withWorker,
    metrics: app.get(MetricsListener).url,
  });
}

main().catch((error) => {
  process.stderr.write(`signoff: ${error instanceof Error ? error.message : String(error)}\n`);
  // Told to stop before it had started: nothing was running yet, so it stopped as asked.
  process.exit(error instanceof StoppedWhileWaiting ? 0 : 1);
});
