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

/**
 * How the user's browser tells a provider session: GET `url`, or POST `fields` to it when given. The
 * channel decides where: an iframe on the logout page, or the main tab (a native chain).
 */
export interface FrontchannelStep {
  url: string;
  fields?: Record<string, string>;
  /** The SAML LogoutRequest's ID, recorded on the delivery to match the SP's LogoutResponse. */
  messageId?: string;
}

/** Who asked for the logout: the application's provider session and its provider, when one did. */
export interface LogoutContext {
  initiatingProviderSessionId: string | null;
  initiatingProviderId: string | null;
}

export type SessionWithProvider = ProviderSession & { provider: Provider };

/**
 * What a protocol library (libs/oidc, libs/saml) gives the logout engine. The engine decides who must
 * be told and keeps the books; the protocol builds and reads the messages.
 */
export interface LogoutProtocol {
  readonly protocol: Protocol;
  /** The channels over which this ending provider session must be told ([] for none). */
  channels(session: SessionWithProvider, context: LogoutContext): Promise<DeliveryChannel[]>;
  /** Inside the transaction that ends the sessions: the protocol's own bookkeeping (e.g. revoking tokens). */
  sessionsEnded(tx: EntityManager, sessions: SessionWithProvider[]): Promise<void>;
  /**
   * Inside the same transaction, when the logout also ends these users' grants (their account was
   * deactivated, their password changed): revoke what outlives sessions too (offline_access tokens).
   */
  grantsEnded?(tx: EntityManager, userIds: string[]): Promise<void>;
  buildBackchannelRequest(delivery: LogoutDelivery, session: SessionWithProvider): Promise<BackchannelRequest>;
  readBackchannelReply(reply: { status: number; body: string }, request: BackchannelRequest): BackchannelVerdict;
  /** `relayState`: the native chain's handle, for the application to send back with its answer. */
  buildFrontchannelStep(delivery: LogoutDelivery, session: SessionWithProvider, relayState?: string): Promise<FrontchannelStep>;
}
