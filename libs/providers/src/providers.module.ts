import { Module } from '@nestjs/common';
import { FlowsModule } from '@signoff/flows';
import { LogoutModule } from '@signoff/logout';
import { OidcModule } from '@signoff/oidc';
import { SamlModule } from '@signoff/saml';
import { ApplicationHomes } from './application-homes';
import { ProvidersAdminService } from './providers-admin.service';

/**
 * Provider administration (ProvidersAdminService) over the OIDC and SAML libraries, and where each
 * application lives (ApplicationHomes); imported by the idp (admin API, the user's pages) and the CLI.
 */
@Module({
  imports: [OidcModule, SamlModule, FlowsModule, LogoutModule],
  providers: [ProvidersAdminService, ApplicationHomes],
  exports: [ProvidersAdminService, ApplicationHomes],
})
export class ProvidersModule {}
