import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureInstalled,
  howToInstall,
  planInstall,
  REDIS_SERVER,
  systemProbe,
} from '../../libs/core/src/system/ensure-installed';
import { CHROMIUM_PROGRAM, inCi } from './chromium';

/**
 * One private redis-server for the whole run, unless REDIS_URL names one. Test files isolate by key
 * prefix. What the run needs of the system is installed by the rules `npm start` follows
 * (ensure-installed.ts: apt-get as root or with passwordless sudo, Homebrew), or named: redis-server
 * always, chromium in CI (elsewhere its absence only skips the browser suites, which is said here).
 */
export default async function globalSetup(): Promise<void> {
  await checkChromium();
  if (process.env.REDIS_URL) return;
  await ensureInstalled({
    ...REDIS_SERVER,
    purpose: "for the tests' private Redis (REDIS_URL is not set)",
    otherwise: 'or set REDIS_URL=redis://host:6379 to a Redis the tests may use',
  });
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

async function checkChromium(): Promise<void> {
  const plan = planInstall(CHROMIUM_PROGRAM, systemProbe());
  if (plan.kind === 'present') return;
  if (inCi()) return ensureInstalled(CHROMIUM_PROGRAM); // installs it, or fails the run with the command to run
  process.stderr.write(
    `\n${CHROMIUM_PROGRAM.command} is missing: the browser suites are skipped. ${howToInstall(plan.manual)}\n`,
  );
}
