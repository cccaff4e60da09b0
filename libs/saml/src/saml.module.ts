import { Module } from '@nestjs/common';
import { LogoutModule } from '@signoff/logout';
import { SamlIdpMetadata } from './metadata/idp-metadata.service';
import { SpMetadataSource } from './metadata/sp-metadata-source';
import { SamlSpsService } from './providers/saml-sps.service';
import { SpMetadataRefresh } from './providers/sp-metadata-refresh';
import { SamlIntake } from './bindings/intake';
import { SamlLogoutProtocol } from './slo/saml-logout.protocol';
import { SamlSloService } from './slo/saml-slo.service';
import { SamlAttributes } from './sso/attributes';
import { PersistentNameIds } from './sso/persistent-name-ids';
import { SamlSsoService } from './sso/saml-sso.service';

@Module({
  imports: [LogoutModule],
  providers: [
    SamlSpsService,
    SamlIntake,
    SamlSsoService,
    SamlLogoutProtocol,
    SamlSloService,
    PersistentNameIds,
    SamlAttributes,
    SamlIdpMetadata,
    SpMetadataSource,
    SpMetadataRefresh,
  ],
  exports: [
    SamlSpsService,
    SamlIntake,
    SamlSsoService,
    SamlLogoutProtocol,
    SamlSloService,
    SamlIdpMetadata,
    SpMetadataSource,
    SpMetadataRefresh,
  ],
})
export class SamlModule {}
