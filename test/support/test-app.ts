import type { NestExpressApplication } from '@nestjs/platform-express';
import { type Config, loadConfig, ManualClock } from '@signoff/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createIdpApp } from '../../apps/idp/src/app.factory';
import { testDatabaseUrl } from './databases';

/** A port nobody listens on now, so the issuer URL can be known before the app starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface TestApp {
  app: NestExpressApplication;
  url: string;
  config: Config;
  clock: ManualClock;
  close(): Promise<void>;
}

/**
 * The real idp application, as `npm start` builds it, on 127.0.0.1 and a free port, with its own
 * data dir, database, Redis key prefix and a clock the test can move.
 */
export async function startApp(
  env: Record<string, string> = {},
  options: { withWorker?: boolean } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'signoff-test-'));
  const database = await testDatabaseUrl(dataDir);
  const port = await freePort();
  const config = loadConfig({
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: `t${randomBytes(6).toString('hex')}`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const clock = new ManualClock();
  const app = await createIdpApp(config, { clock, withWorker: options.withWorker });
  await app.listen(port, '127.0.0.1');
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    config,
    clock,
    async close() {
      await app.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
