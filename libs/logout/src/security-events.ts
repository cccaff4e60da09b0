import type { ActorType, LogoutTrigger, SecurityEventClaims } from '@signoff/core';
import type { EntityManager } from 'typeorm';
import type { BackchannelReply, BackchannelRequest, BackchannelVerdict, ReadOnce } from './logout-protocol';

/**
 * What a logout ended, as a transmitter of security events reads it: inside the transaction that
 * ends the sessions, so the events are written with them (the outbox) or not at all.
 */
export interface EndedForSignals {
  operationId: string;
  trigger: LogoutTrigger;
  initiatorType: ActorType;
  at: Date;
  /** IdP sessions the logout ended (full SLO), with their users. */
  idpSessions: ReadonlyArray<{ id: string; userId: string }>;
  /** Provider sessions ended alone (an application-only logout: their IdP session lives on). */
  providerSessions: ReadonlyArray<{ id: string; idpSessionId: string; userId: string; providerId: string }>;
  /**
   * Users the logout is about beyond their sessions: those whose credentials or account changed
   * (deactivated, password changed, reactivated, globally revoked), even with no session live.
   */
  userIds: readonly string[];
}

/** One security event for one receiver's stream: a delivery row to write. */
export interface PlannedSignal {
  /** The receiver's provider id. */
  receiverId: string;
  channel: 'ssf_push' | 'ssf_poll';
  /** The stream is paused: the event waits (`held`) until it is enabled. */
  held: boolean;
  event: SecurityEventClaims;
}

/** Whether a stream takes pushes now: see SecurityEventTransmitter.pushStates. */
export type PushState = 'enabled' | 'paused' | 'poll' | 'disabled' | 'gone';

/** A security event delivery as the transmitter sends it. */
export interface SignalDelivery {
  id: string;
  receiverId: string;
  event: SecurityEventClaims;
}

/**
 * What a Shared Signals transmitter (libs/ssf) gives the logout engine, as a protocol library gives
 * LogoutProtocol: which events a logout owes which stream, and the SET that carries one. The engine
 * keeps the books (one delivery per event per stream, retries, the attempt log), as for logout messages.
 */
export interface SecurityEventTransmitter {
  /** Inside the transaction that ends the sessions: the events owed to each stream ([] for none). */
  eventsFor(tx: EntityManager, ended: EndedForSignals): Promise<PlannedSignal[]>;
  /** Reads these receivers' settings into `once` together, before a batch builds its SETs through it. */
  readSettings?(receiverIds: string[], once: ReadOnce): Promise<void>;
  /**
   * Whether each receiver's stream takes pushes now (`enabled`), or not: `paused` (hold them), `poll`
   * (it polls now), `disabled` or `gone` (deleted, or no stream). Read as it is now, not as cached.
   */
  pushStates(receiverIds: string[]): Promise<Map<string, PushState>>;
  /** The push of one event (RFC 8935 §2): its SET signed now, the same claims (and jti) every attempt. */
  buildPush(delivery: SignalDelivery, once: ReadOnce): Promise<BackchannelRequest>;
  /** Reads the receiver's answer to a push (RFC 8935 §2.2, §2.3). */
  readPushReply(reply: BackchannelReply): BackchannelVerdict;
}
