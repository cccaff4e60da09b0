import { ApiToken } from './api-token.entity';
import { AuditEvent } from './audit-event.entity';
import { Flow, FlowStageBinding, Stage } from './flow.entity';
import { Group, GroupMember } from './group.entity';
import { LogoutDelivery, LogoutDeliveryPiece, LogoutOperation, LogoutOperationUser } from './logout.entity';
import { AccessToken, AuthorizationCode, OidcConsent, RefreshToken } from './oauth.entity';
import { IdpSession } from './idp-session.entity';
import { OidcSession, ProviderSession, SamlSession } from './provider-session.entity';
import { OidcClient, Provider, SamlServiceProvider } from './provider.entity';
import { SamlPersistentId } from './saml-persistent-id.entity';
import { SigningKey } from './signing-key.entity';
import { SsfReceiver, SsfRemovedSubject } from './ssf.entity';
import { User } from './user.entity';

export * from './api-token.entity';
export * from './audit-event.entity';
export * from './flow.entity';
export * from './group.entity';
export * from './logout.entity';
export * from './oauth.entity';
export * from './idp-session.entity';
export * from './provider-session.entity';
export * from './provider.entity';
export * from './saml-persistent-id.entity';
export * from './signing-key.entity';
export * from './ssf.entity';
export * from './user.entity';

export const ENTITIES = [
  User,
  Group,
  GroupMember,
  OidcConsent,
  IdpSession,
  Provider,
  OidcClient,
  SamlServiceProvider,
  ProviderSession,
  OidcSession,
  SamlSession,
  SigningKey,
  AuditEvent,
  ApiToken,
  Flow,
  Stage,
  FlowStageBinding,
  LogoutOperation,
  LogoutOperationUser,
  LogoutDelivery,
  LogoutDeliveryPiece,
  AuthorizationCode,
  AccessToken,
  RefreshToken,
  SamlPersistentId,
  SsfReceiver,
  SsfRemovedSubject,
];
