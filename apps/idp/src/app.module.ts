import { type DynamicModule, Module } from '@nestjs/common';
import { type Config, CoreModule, type CoreOptions, RedisModule } from '@signoff/core';
import { SessionsModule } from '@signoff/sessions';
import { WorkerModule } from '../../worker/src/worker.module';
import { AccountController } from './account/account.controller';
import { AdminGuard } from './admin/admin.guard';
import { ApiTokensService } from './admin/api-tokens.service';
import { AuditController } from './admin/audit.controller';
import { OpenApiController } from './admin/openapi';
import { UserAdminService } from './admin/user-admin.service';
import { SessionsController } from './admin/sessions.controller';
import { UsersController } from './admin/users.controller';
import { BootstrapAdmin } from './bootstrap-admin';
import { HealthController } from './health/health.controller';
import { BrowserService } from './http/browser.service';
import { LoginThrottle } from './login/login-throttle.service';
import { LoginController } from './login/login.controller';
import { LogoutController } from './logout/logout.controller';

/** The idp's controllers and their services, without the process-wide modules. */
@Module({
  imports: [SessionsModule],
  controllers: [
    AccountController, LoginController, LogoutController, HealthController,
    UsersController, SessionsController, AuditController, OpenApiController,
  ],
  providers: [BrowserService, LoginThrottle, ApiTokensService, UserAdminService, AdminGuard, BootstrapAdmin],
})
export class IdpModule {}

export interface AppOptions extends CoreOptions {
  /** Also run the worker in this process (`npm start`). */
  withWorker?: boolean;
}

/** The idp process: HTTP server, and with `withWorker` the worker too (the embedded one-process mode). */
@Module({})
export class AppModule {
  static register(config: Config, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(config, options), RedisModule.forRoot(config), IdpModule, ...(options.withWorker ? [WorkerModule] : [])],
    };
  }
}
