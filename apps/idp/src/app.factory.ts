import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type Config, JsonLogger } from '@signoff/core';
import { AppModule, type AppOptions } from './app.module';
import { configureHttp } from './http/configure';

/** Creates the idp HTTP application, configured and initialised but not yet listening. */
export async function createIdpApp(config: Config, options: AppOptions = {}): Promise<NestExpressApplication> {
  const logger = new JsonLogger(config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config, options), {
    bodyParser: false,
    logger,
    abortOnError: false,
  });
  configureHttp(app, config);
  await app.init();
  return app;
}
