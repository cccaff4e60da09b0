import { type DynamicModule, Module } from '@nestjs/common';
import { type Config, CoreModule, type CoreOptions, MetricsModule, RedisModule } from '@signoff/core';
import { FlowsModule } from '@signoff/flows';
import { LogoutModule } from '@signoff/logout';
import { OidcModule } from '@signoff/oidc';
import { ProvidersModule } from '@signoff/providers';
import { SamlModule } from '@signoff/saml';
import { SsfModule } from '@signoff/ssf';
import { SessionsModule } from '@signoff/sessions';
import { WorkerModule } from '@signoff/worker';
import { AccountController } from './account/account.controller';
import { PasswordChange } from './account/password-change.service';
import { AdminGuard } from './admin/admin.guard';
import { ApiTokensController } from './admin/api-tokens.controller';
import { ApiTokensService } from './admin/api-tokens.service';
import { AuditController } from './admin/audit.controller';
import { FlowsController } from './admin/flows.controller';
import { GroupsController } from './admin/groups.controller';
import { KeysController } from './admin/keys.controller';
import { AdminDashboardController } from './admin/dashboard.controller';
import { DashboardService } from './admin/dashboard.service';
import { LogoutDeliveriesController, LogoutOperationsController } from './admin/logout-operations.controller';
import { ProvidersController } from './admin/providers.controller';
import { OpenApiController } from './admin/openapi';
import { UserAdminService } from './admin/user-admin.service';
import { SessionsController } from './admin/sessions.controller';
import { UsersController } from './admin/users.controller';
import { BootstrapAdmin } from './bootstrap-admin';
import { ConsoleGuard } from './console/console.guard';
import { ConsoleApplicationsController } from './console/applications.controller';
import { ConsoleDashboardController } from './console/dashboard.controller';
import { ConsoleFlowsController } from './console/flows.controller';
import { ConsoleLogoutsController } from './console/logouts.controller';
import { ConsoleSessionsController } from './console/sessions.controller';
import { ConsoleUsersController } from './console/users.controller';
import { ConsoleKeysController } from './console/keys.controller';
import { ConsoleApiTokensController } from './console/api-tokens.controller';
import { ConsoleAuditController } from './console/audit.controller';
import { HealthController } from './health/health.controller';
import { MetricsController } from './health/metrics.controller';
import { BrowserService } from './http/browser.service';
import { StaticController } from './http/static.controller';
import { LoginThrottle } from './login/login-throttle.service';
import { LoginController } from './login/login.controller';
import { LogoutController } from './logout/logout.controller';
import { AuthorizeController } from './oidc/authorize.controller';
import { CheckSessionController } from './oidc/check-session.controller';
import { DiscoveryController } from './oidc/discovery.controller';
import { EndSessionController } from './oidc/end-session.controller';
import { IntrospectController } from './oidc/introspect.controller';
import { RegisterController } from './oidc/register.controller';
import { RevokeController } from './oidc/revoke.controller';
import { GlobalTokenRevocationController } from './oidc/global-token-revocation.controller';
import { TokenController } from './oidc/token.controller';
import { SamlMetadataController } from './saml/metadata.controller';
import { SamlSloController } from './saml/slo.controller';
import { SamlSsoController } from './saml/sso.controller';
import { SsfReceiversController } from './admin/ssf-receivers.controller';
import { SsfController } from './ssf/ssf.controller';
import { ConsoleSignalsController } from './console/signals.controller';
import { UserinfoController } from './oidc/userinfo.controller';

/** The idp's controllers and their services, without the process-wide modules. */
@Module({
  imports: [SessionsModule, FlowsModule, LogoutModule, OidcModule, SamlModule, SsfModule, ProvidersModule],
  controllers: [
    AccountController,
    StaticController,
    LoginController,
    LogoutController,
    HealthController,
    MetricsController,
    DiscoveryController,
    AuthorizeController,
    TokenController,
    UserinfoController,
    RevokeController,
    GlobalTokenRevocationController,
    SsfController,
    SsfReceiversController,
    IntrospectController,
    RegisterController,
    EndSessionController,
    CheckSessionController,
    SamlMetadataController,
    SamlSsoController,
    SamlSloController,
    UsersController,
    GroupsController,
    SessionsController,
    ProvidersController,
    FlowsController,
    KeysController,
    LogoutOperationsController,
    LogoutDeliveriesController,
    AdminDashboardController,
    AuditController,
    ApiTokensController,
    OpenApiController,
    ConsoleDashboardController,
    ConsoleUsersController,
    ConsoleSessionsController,
    ConsoleLogoutsController,
    ConsoleApplicationsController,
    ConsoleFlowsController,
    ConsoleKeysController,
    ConsoleApiTokensController,
    ConsoleSignalsController,
    ConsoleAuditController,
  ],
  providers: [
    BrowserService,
    LoginThrottle,
    PasswordChange,
    ApiTokensService,
    UserAdminService,
    DashboardService,
    AdminGuard,
    ConsoleGuard,
    BootstrapAdmin,
  ],
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
      imports: [
        CoreModule.forRoot(config, options),
        RedisModule.forRoot(config),
        MetricsModule,
        IdpModule,
        ...(options.withWorker ? [WorkerModule] : []),
      ],
    };
  }
}
