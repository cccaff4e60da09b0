import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One private redis-server for the whole run, unless REDIS_URL names one. Test files isolate by key prefix. */
export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) return;
  const dir = mkdtempSync(join(tmpdir(), 'signoff-test-redis-'));
  const socket = join(dir, 'redis.sock');
  const child = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: 'ignore', detached: true },
  );
  child.unref();
  await new Promise<void>((resolve, reject) => {
    child.once('error', () =>
      reject(new Error('redis-server is needed for the tests: apt-get install -y redis-server, or set REDIS_URL')),
    );
    const deadline = Date.now() + 10_000;
    const poll = () => {
      const probe = createConnection(socket);
      probe.once('connect', () => {
        probe.destroy();
        resolve();
      });
      probe.once('error', () => {
        probe.destroy();
        if (Date.now() > deadline) reject(new Error('the test redis-server did not start'));
        else setTimeout(poll, 20);
      });
    };
    poll();
  });
  writeFileSync(join(dir, 'pid'), String(child.pid));
  process.env.REDIS_URL = `unix://${socket}`;
  process.env.SIGNOFF_TEST_REDIS_DIR = dir;
}
