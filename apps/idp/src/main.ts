import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { configFromEnvOrExit, exitDeadlineOnSignal } from '@signoff/core';
import type { AddressInfo } from 'node:net';
import { createIdpApp } from './app.factory';

async function main(): Promise<void> {
  const config = configFromEnvOrExit();
  exitDeadlineOnSignal();
  const withWorker = process.argv.includes('--with-worker');
  const app = await createIdpApp(config, { withWorker });
  await app.listen(config.port, config.host);
  const { port } = app.getHttpServer().address() as AddressInfo;
  new Logger('main').log({
    msg: 'signoff started',
    publicUrl: config.publicUrl,
    listening: `http://${config.host}:${port}`,
    worker: withWorker,
  });
}

main().catch((error) => {
  process.stderr.write(`signoff: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
