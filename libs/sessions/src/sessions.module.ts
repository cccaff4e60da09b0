import { Module } from '@nestjs/common';
import { IdpSessionsService } from './idp-sessions.service';

@Module({ providers: [IdpSessionsService], exports: [IdpSessionsService] })
export class SessionsModule {}
