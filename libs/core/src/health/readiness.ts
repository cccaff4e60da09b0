import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { within } from '../lifecycle/within';
import { RedisService } from '../redis/redis.service';

/** What a readiness probe found: each dependency the process needs to serve, and why one is down. */
export interface Readiness {
  ready: boolean;
  checks: { database: 'ok' | 'down'; redis: 'ok' | 'down' };
  /** For each dependency that is down, why: its error, or that it did not answer in time. */
  reasons?: { database?: string; redis?: string };
}

/** How long a dependency may take to answer a probe before it counts as down. */
const PROBE_TIMEOUT_MS = 1000;
const LATE = `no answer within ${PROBE_TIMEOUT_MS} ms`;

/** Can this process serve? The database and Redis each answer a trivial request within a second. */
@Injectable()
export class ReadinessProbe {
  constructor(
    private readonly db: DataSource,
    private readonly redis: RedisService,
  ) {}

  async check(): Promise<Readiness> {
    // Each check gives null (ok) or why it is down.
    const [database, redis] = await Promise.all([
      within(
        PROBE_TIMEOUT_MS,
        this.db.query('SELECT 1').then(
          () => null,
          (error: Error) => error.message,
        ),
        LATE,
      ),
      within(PROBE_TIMEOUT_MS, this.redis.ping(), false).then((ok) => (ok ? null : (this.redis.unreachable ?? LATE))),
    ]);
    const checks = { database: database ? 'down' : 'ok', redis: redis ? 'down' : 'ok' } as const;
    if (!database && !redis) return { ready: true, checks };
    return {
      ready: false,
      checks,
      reasons: { ...(database ? { database } : {}), ...(redis ? { redis } : {}) },
    };
  }
}
