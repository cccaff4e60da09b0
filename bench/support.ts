import 'reflect-metadata';
import { EmbeddedRedis } from '@signoff/core';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What runBench stops at the end, whether the benchmark succeeded or not. */
const cleanups: Array<() => Promise<void>> = [];

/** A private Redis for the run unless REDIS_URL names one (the test harness reads REDIS_URL). */
export async function ensureRedis(): Promise<void> {
  if (process.env.REDIS_URL) return;
  const redis = await EmbeddedRedis.start(mkdtempSync(join(tmpdir(), 'signoff-bench-')));
  process.env.REDIS_URL = redis.url;
  cleanups.push(() => redis.stop());
}

/** An application's back-channel endpoint on 127.0.0.1 that answers every POST 200 after `delayMs`. */
export async function startReceiver(
  delayMs: number,
): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      const answer = () => res.writeHead(200, { 'cache-control': 'no-store' }).end();
      if (delayMs) setTimeout(answer, delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const ms = (value: number) => `${value.toFixed(1)} ms`;

/**
 * Runs a benchmark to the end and exits: its servers, queues and timers are not worth closing one by
 * one, but the private Redis is stopped either way.
 */
export function runBench(main: () => Promise<void>): void {
  main()
    .then(
      () => 0,
      (error) => {
        console.error(error);
        return 1;
      },
    )
    .then(async (code) => {
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
      process.exit(code);
    });
}
