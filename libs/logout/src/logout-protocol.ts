import type { DeliveryChannel, LogoutDelivery, Protocol, Provider, ProviderSession } from '@signoff/core';
import type { EntityManager } from 'typeorm';

/** A back-channel message, built fresh for each attempt (tokens expire, IDs must not repeat). */
export interface BackchannelRequest {
  url: string;
  body: string;
  contentType: string;
  /** logout token jti / SAML LogoutRequest ID, recorded on the delivery. */
  messageId: string;
}

/** The application's answer to a back-channel message, as the protocol reads it. */
export interface BackchannelVerdict {
  ok: boolean;
  /** With ok false: would the same message succeed later (the application is down or busy)? */
  retryable: boolean;
  error?: string;
}

/** How the user's browser tells a provider session on the logout page. */
export type FrontchannelStep =
  | { kind: 'iframe'; url: string }
  | { kind: 'iframe_post'; url: string; fields: Record<string, string> }
  | { kind: 'redirect'; url: string };

export type SessionWithProvider = ProviderSession & { provider: Provider };

/**
 * What a protocol library (libs/oidc, libs/saml) gives the logout engine. The engine decides who must
 * be told and keeps the books; the protocol builds and reads the messages.
 */
export interface LogoutProtocol {
  readonly protocol: Protocol;
  /** The channels over which this ending provider session must be told ([] for none). */
  channels(session: SessionWithProvider, context: { initiatingProviderSessionId: string | null }): Promise<DeliveryChannel[]>;
  /** Inside the transaction that ends the sessions: the protocol's own bookkeeping (e.g. revoking tokens). */
  sessionsEnded(tx: EntityManager, sessions: SessionWithProvider[]): Promise<void>;
  buildBackchannelRequest(delivery: LogoutDelivery, session: SessionWithProvider): Promise<BackchannelRequest>;
  readBackchannelReply(reply: { status: number; body: string }, request: BackchannelRequest): BackchannelVerdict;
  buildFrontchannelStep(delivery: LogoutDelivery, session: SessionWithProvider): Promise<FrontchannelStep>;
}
