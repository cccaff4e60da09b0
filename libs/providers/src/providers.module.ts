import { Module } from '@nestjs/common';
import { OidcModule } from '@signoff/oidc';
import { SamlModule } from '@signoff/saml';
import { ProvidersAdminService } from './providers-admin.service';

/** Provider administration (ProvidersAdminService) over the OIDC and SAML libraries; imported by the idp (admin API) and the CLI. */
@Module({ imports: [OidcModule, SamlModule], providers: [ProvidersAdminService], exports: [ProvidersAdminService] })
export class ProvidersModule {}
