import { loadConfig } from '@signoff/core';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtWorkerArgs } from '../../../test/support/seed';
import { heapNeededMb, heapWarning, WORKER_HEAP_MB } from './heap';

const root = join(__dirname, '..', '..', '..');
const defaults = loadConfig({}, '/srv/signoff');

/** The heap limit V8 gives a node started with `flags`, in MB. */
function heapLimitMb(flags: string[]): number {
  const printed = execFileSync(process.execPath, [
    ...flags,
    '-e',
    "process.stdout.write(String(require('node:v8').getHeapStatistics().heap_size_limit / 1048576))",
  ]);
  return Number(printed.toString());
}

describe("the worker's heap", () => {
  it('is capped where the operator starts it: npm run start:worker (as the tests start it) and docker-compose.yml', () => {
    const flag = `--max-old-space-size=${WORKER_HEAP_MB}`;
    expect(builtWorkerArgs()).toEqual([flag, join(root, 'dist/apps/worker/src/main.js')]);
    expect(readFileSync(join(root, 'docker-compose.yml'), 'utf8')).toContain(
      `command: ['node', '${flag}', 'dist/apps/worker/src/main.js']`,
    );
  });

  it('leaves room, capped, for what the default delivery settings need: no warning at start', () => {
    const limit = heapLimitMb([`--max-old-space-size=${WORKER_HEAP_MB}`]);
    expect(limit).toBeGreaterThanOrEqual(WORKER_HEAP_MB);
    expect(heapNeededMb(defaults)).toBeLessThan(WORKER_HEAP_MB);
    expect(heapWarning(defaults, limit)).toBeNull();
  });

  it('is said to be too small, with the flag to start it with, when the delivery settings need more', () => {
    const config = loadConfig({ DELIVERY_CONCURRENCY: '1000', DELIVERY_BATCH_SIZE: '1000' }, '/srv/signoff');
    const limit = heapLimitMb([`--max-old-space-size=${WORKER_HEAP_MB}`]);

    const warning = heapWarning(config, limit);

    expect(warning).toMatchObject({ concurrency: 1000, batchSize: 1000, heapLimitMb: Math.floor(limit) });
    expect(warning!.neededMb).toBeGreaterThan(limit);
    expect(warning!.msg).toContain(`node --max-old-space-size=${warning!.neededMb}`);
    // Started as it says, the worker is not warned again.
    expect(heapWarning(config, heapLimitMb([`--max-old-space-size=${warning!.neededMb}`]))).toBeNull();
  });
});
