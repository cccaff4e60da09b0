import { Module } from '@nestjs/common';
import { SamlSpsService } from './providers/saml-sps.service';

@Module({ providers: [SamlSpsService], exports: [SamlSpsService] })
export class SamlModule {}
