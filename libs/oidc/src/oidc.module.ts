import { Module } from '@nestjs/common';
import { LogoutModule } from '@signoff/logout';
import { SessionsModule } from '@signoff/sessions';
import { ConsentsService } from './authorization/consents.service';
import { InteractionsService } from './authorization/interactions.service';
import { OidcClientsService } from './clients/oidc-clients.service';
import { IdTokenHintVerifier } from './logout/id-token-hint';
import { OidcLogoutProtocol } from './logout/oidc-logout.protocol';
import { RpInitiatedLogout } from './logout/rp-initiated-logout';
import { OidcSessionsService } from './oidc-sessions.service';
import { ClaimsService } from './tokens/claims';
import { SubjectsService } from './tokens/subjects';
import { TokensService } from './tokens/tokens.service';

const providers = [
  OidcClientsService,
  ConsentsService,
  TokensService,
  OidcSessionsService,
  InteractionsService,
  IdTokenHintVerifier,
  OidcLogoutProtocol,
  SubjectsService,
  ClaimsService,
  RpInitiatedLogout,
];

@Module({ imports: [SessionsModule, LogoutModule], providers, exports: providers })
export class OidcModule {}
