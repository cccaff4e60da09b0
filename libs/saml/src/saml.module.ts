import { Module } from '@nestjs/common';
import { SamlSpsService } from './providers/saml-sps.service';
import { SamlSsoService } from './sso/saml-sso.service';

@Module({ providers: [SamlSpsService, SamlSsoService], exports: [SamlSpsService, SamlSsoService] })
export class SamlModule {}
