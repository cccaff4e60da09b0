import { Module } from '@nestjs/common';
import { LogoutModule } from '@signoff/logout';
import { SamlSpsService } from './providers/saml-sps.service';
import { SamlIntake } from './bindings/intake';
import { SamlLogoutProtocol } from './slo/saml-logout.protocol';
import { SamlSloService } from './slo/saml-slo.service';
import { PersistentNameIds } from './sso/persistent-name-ids';
import { SamlSsoService } from './sso/saml-sso.service';

@Module({
  imports: [LogoutModule],
  providers: [SamlSpsService, SamlIntake, SamlSsoService, SamlLogoutProtocol, SamlSloService, PersistentNameIds],
  exports: [SamlSpsService, SamlIntake, SamlSsoService, SamlLogoutProtocol, SamlSloService],
})
export class SamlModule {}
