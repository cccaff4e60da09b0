import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { checkPublicMetricsAccess, CONFIG, type Config, Metrics } from '@signoff/core';
import type { Response } from 'express';

/**
 * `GET /metrics` on the idp's port (Prometheus text format): only with METRICS_TOKEN set, and only for
 * whoever sends it as a bearer token; unset, 404, as if there were no such route. The METRICS_PORT
 * listener (MetricsListener) serves the same registry on a port of its own.
 */
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @Get('metrics')
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    checkPublicMetricsAccess(this.config, authorization);
    const { contentType, body } = await this.metrics.exposition();
    res.status(200).type(contentType).set('Cache-Control', 'no-store').send(body);
  }
}
