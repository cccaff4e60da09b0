import type { Config } from '@signoff/core';
import { batchesAtOnce } from '@signoff/logout';
import { getHeapStatistics } from 'node:v8';

/**
 * The old-generation cap the worker is started with (`npm run start:worker`, docker-compose.yml):
 * `node --max-old-space-size=256`. Uncapped, V8 lets the heap grow to three or four times what is
 * live before it collects, and a fan-out makes garbage fast. A capped heap grows by smaller steps
 * (V8 scales its growing factor with the cap). In bench:bulk-deactivation (SQLite, 2026-11-28),
 * the worker's peak RSS was 266–309 MB uncapped and 205–207 MB capped at 192 MB (three runs of
 * each, alternated), and 198–202 MB capped at 256 MB (three runs after those); about 42 MB was live
 * after a full collection. The ratio to the ceiling was 0.72–0.76 uncapped, 0.65–0.76 at 192 and
 * 0.77–0.81 at 256: no cost shown at 256, within runs that spread by a tenth.
 */
export const WORKER_HEAP_MB = 256;

/**
 * About how much heap the worker's deliveries need: what it holds at rest, plus each delivery of the
 * batches it may hold at once (batchesAtOnce × DELIVERY_BATCH_SIZE, about 2 KB each), twice over for
 * the garbage made between two collections. Measured after full collections during
 * bench:bulk-deactivation: 42 MB live with 2,000 deliveries in hand, 52 MB with 8,000 and 58 MB
 * with 10,000 (the defaults hold 1,000).
 */
export function heapNeededMb(config: Config): number {
  const inHand = batchesAtOnce(config.delivery.concurrency) * config.delivery.batchSize;
  return Math.ceil(2 * (40 + (inHand * 2) / 1024));
}

/**
 * A warning to log at start when the process's heap limit is below what its delivery settings may
 * need (a worker that runs out of heap dies, and its deliveries wait for their leases); null when
 * it is not.
 */
export function heapWarning(config: Config, limitMb = getHeapStatistics().heap_size_limit / 1024 / 1024) {
  const needed = heapNeededMb(config);
  if (limitMb >= needed) return null;
  return {
    msg: `the worker's heap limit is below what its delivery settings may need: start it with node --max-old-space-size=${needed}`,
    heapLimitMb: Math.floor(limitMb),
    neededMb: needed,
    concurrency: config.delivery.concurrency,
    batchSize: config.delivery.batchSize,
  };
}
