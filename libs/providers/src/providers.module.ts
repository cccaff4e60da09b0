import { Module } from '@nestjs/common';
import { FlowsModule } from '@signoff/flows';
import { LogoutModule } from '@signoff/logout';
import { OidcModule } from '@signoff/oidc';
import { SamlModule } from '@signoff/saml';
import { ProvidersAdminService } from './providers-admin.service';

/** Provider administration (ProvidersAdminService) over the OIDC and SAML libraries; imported by the idp (admin API) and the CLI. */
@Module({
  imports: [OidcModule, SamlModule, FlowsModule, LogoutModule],
  providers: [ProvidersAdminService],
  exports: [ProvidersAdminService],
})
export class ProvidersModule {}
