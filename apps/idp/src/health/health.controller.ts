import { Controller, Get, Res } from '@nestjs/common';
import { ReadinessProbe } from '@signoff/core';
import type { Response } from 'express';

@Controller()
export class HealthController {
  constructor(private readonly readiness: ReadinessProbe) {}

  /** The process is up. */
  @Get('healthz')
  health() {
    return { status: 'ok' };
  }

  /** The process can serve: database and Redis answer within a second (503 otherwise, saying why). */
  @Get('readyz')
  async ready(@Res({ passthrough: true }) res: Response) {
    const { ready, checks, reasons } = await this.readiness.check();
    res.status(ready ? 200 : 503);
    return { status: ready ? 'ok' : 'unavailable', checks, ...(reasons ? { reasons } : {}) };
  }
}
