import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export default async function globalTeardown(): Promise<void> {
  const dir = process.env.SIGNOFF_TEST_REDIS_DIR;
  if (!dir) return;
  const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  rmSync(dir, { recursive: true, force: true });
}
