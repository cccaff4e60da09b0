import { Controller, Get, Res } from '@nestjs/common';
import { RedisService, within } from '@signoff/core';
import type { Response } from 'express';
import { DataSource } from 'typeorm';

@Controller()
export class HealthController {
  constructor(private readonly db: DataSource, private readonly redis: RedisService) {}

  /** The process is up. */
  @Get('healthz')
  health() {
    return { status: 'ok' };
  }

  /** The process can serve: database and Redis answer within a second. */
  @Get('readyz')
  async ready(@Res({ passthrough: true }) res: Response) {
    const [database, redis] = await Promise.all([
      within(1000, this.db.query('SELECT 1').then(() => true), false),
      within(1000, this.redis.ping(), false),
    ]);
    const ok = database && redis;
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks: { database: database ? 'ok' : 'down', redis: redis ? 'ok' : 'down' } };
  }
}
