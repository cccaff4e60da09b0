import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { within } from '../lifecycle/within';
import { RedisService } from '../redis/redis.service';

/** What a readiness probe found: each dependency the process needs to serve. */
export interface Readiness {
  ready: boolean;
  checks: { database: 'ok' | 'down'; redis: 'ok' | 'down' };
}

/** How long a dependency may take to answer a probe before it counts as down. */
const PROBE_TIMEOUT_MS = 1000;

/** Can this process serve? The database and Redis each answer a trivial request within a second. */
@Injectable()
export class ReadinessProbe {
  constructor(
    private readonly db: DataSource,
    private readonly redis: RedisService,
  ) {}

  async check(): Promise<Readiness> {
    const [database, redis] = await Promise.all([
      within(
        PROBE_TIMEOUT_MS,
        this.db.query('SELECT 1').then(() => true),
        false,
      ),
      within(PROBE_TIMEOUT_MS, this.redis.ping(), false),
    ]);
    return { ready: database && redis, checks: { database: database ? 'ok' : 'down', redis: redis ? 'ok' : 'down' } };
  }
}
