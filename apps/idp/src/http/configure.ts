import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Config } from '@signoff/core';
import { ErrorsFilter } from './errors.filter';
import { requestContextMiddleware } from './request-context.middleware';
import { securityHeaders } from './security-headers';

/** What every way of starting the HTTP app (main, tests) applies before listening. */
export function configureHttp(app: NestExpressApplication, config: Config): void {
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  app.use(requestContextMiddleware);
  app.use(securityHeaders(config));
  app.useBodyParser('urlencoded', { limit: config.bodyLimitBytes, extended: false, parameterLimit: 100 });
  app.useBodyParser('json', { limit: config.bodyLimitBytes });
  // SAML's SOAP binding (/saml/slo/soap) posts XML; it is parsed later, with the safe parser only.
  app.useBodyParser('text', { limit: config.bodyLimitBytes, type: ['text/xml', 'application/soap+xml'] });
  app.useGlobalFilters(new ErrorsFilter());
  app.enableShutdownHooks();
}
