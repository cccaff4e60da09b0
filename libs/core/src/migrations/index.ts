import { InitialSchema1763800000000 } from './1763800000000-initial-schema';
import { OidcAndLogout1763900000000 } from './1763900000000-oidc-and-logout';
import { SamlLogout1764000000000 } from './1764000000000-saml-logout';
import { SamlLogoutSigning1764100000000 } from './1764100000000-saml-logout-signing';
import { OidcHardening1764200000000 } from './1764200000000-oidc-hardening';
import { Applications1764300000000 } from './1764300000000-applications';
import { LogoutOperationUsers1764400000000 } from './1764400000000-logout-operation-users';
import { ProviderDeletion1764500000000 } from './1764500000000-provider-deletion';
import { ProviderTombstones1764600000000 } from './1764600000000-provider-tombstones';
import { ClientUri1764700000000 } from './1764700000000-client-uri';
import { ApiTokenScopes1764800000000 } from './1764800000000-api-token-scopes';
import { SharedSignals1764900000000 } from './1764900000000-shared-signals';
import { DeliveryIndexes1765000000000 } from './1765000000000-delivery-indexes';
import { DeliveryFillfactor1765100000000 } from './1765100000000-delivery-fillfactor';
import { AnsweredMessageIndex1765200000000 } from './1765200000000-answered-message-index';
import { DeliveryPieces1765300000000 } from './1765300000000-delivery-pieces';

export { DEFAULT_FLOWS } from './1763900000000-oidc-and-logout';

/** Every migration, oldest first. Add new ones at the end; never edit one that has shipped. */
export const MIGRATIONS = [
  InitialSchema1763800000000,
  OidcAndLogout1763900000000,
  SamlLogout1764000000000,
  SamlLogoutSigning1764100000000,
  OidcHardening1764200000000,
  Applications1764300000000,
  LogoutOperationUsers1764400000000,
  ProviderDeletion1764500000000,
  ProviderTombstones1764600000000,
  ClientUri1764700000000,
  ApiTokenScopes1764800000000,
  SharedSignals1764900000000,
  DeliveryIndexes1765000000000,
  DeliveryFillfactor1765100000000,
  AnsweredMessageIndex1765200000000,
  DeliveryPieces1765300000000,
];
