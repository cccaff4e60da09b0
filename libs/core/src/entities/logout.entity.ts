import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { InstantColumn, JsonColumn } from '../database/columns';
import type { ActorType } from './audit-event.entity';
import { ProviderSession } from './provider-session.entity';
import { Provider } from './provider.entity';
import { User } from './user.entity';

export type LogoutTrigger =
  | 'user_logout'
  | 'rp_initiated'
  | 'sp_initiated'
  | 'admin_session'
  | 'user_deactivated'
  | 'password_changed'
  | 'global_revocation'
  | 'expiry'
  | 'api'
  | 'user_activated'
  | 'ssf_verification';
export type LogoutOutcome = 'complete' | 'partial' | 'failed';

// Every value of each type, for the filters of the admin API (a Record, so a new value cannot be forgotten here).
const TRIGGERS: Record<LogoutTrigger, true> = {
  user_logout: true,
  rp_initiated: true,
  sp_initiated: true,
  admin_session: true,
  user_deactivated: true,
  password_changed: true,
  global_revocation: true,
  expiry: true,
  api: true,
  user_activated: true,
  ssf_verification: true,
};
export const LOGOUT_TRIGGERS = Object.keys(TRIGGERS) as LogoutTrigger[];
export const LOGOUT_OUTCOMES: LogoutOutcome[] = ['complete', 'partial', 'failed'];

/** One act of ending sessions. It owns the deliveries it caused and knows when they are all done. */
@Entity('logout_operations')
export class LogoutOperation {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 24 })
  trigger: LogoutTrigger;

  @Column({ type: 'varchar', length: 16 })
  initiatorType: ActorType;

  @Column({ type: 'varchar', length: 64, nullable: true })
  initiatorId: string | null;

  /** The provider that asked for the logout (RP- or SP-initiated), if any. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  initiatingProviderId: string | null;

  @JsonColumn()
  idpSessionIds: string[];

  @Index()
  @InstantColumn()
  createdAt: Date;

  @InstantColumn({ nullable: true })
  completedAt: Date | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  outcome: LogoutOutcome | null;
}

/**
 * A user a logout operation is about: the users of the IdP sessions it ended, and those whose grants it
 * ended. Written with the operation (the orchestrator's transaction); what "operations of this user" reads.
 */
@Entity('logout_operation_users')
export class LogoutOperationUser {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  operationId: string;

  @Index()
  @PrimaryColumn({ type: 'varchar', length: 36 })
  userId: string;

  @ManyToOne(() => LogoutOperation, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'operation_id' })
  operation: Relation<LogoutOperation>;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;
}

export type DeliveryChannel =
  | 'backchannel_oidc'
  | 'frontchannel_oidc'
  | 'backchannel_saml'
  | 'frontchannel_saml_iframe'
  | 'frontchannel_saml_native'
  | 'ssf_push'
  | 'ssf_poll';
/**
 * `held`: a security event for a paused SSF stream (SSF 1.0 §8.1.2.1: the transmitter holds what it
 * would have sent and sends it when the stream is enabled again); neither under way nor final.
 */
export type DeliveryStatus = 'pending' | 'queued' | 'sending' | 'succeeded' | 'failed' | 'dead' | 'skipped' | 'held';

/** What a security event delivery keeps of its SET (RFC 8417 §2.2; SSF 1.0 §4): see LogoutDelivery.event. */
export interface SecurityEventClaims {
  iat: number;
  txn: string;
  sub_id: Record<string, unknown>;
  events: Record<string, Record<string, unknown>>;
}

export interface DeliveryAttempt {
  at: string;
  ms: number;
  httpStatus: number | null;
  result: DeliveryStatus;
  error: string | null;
  messageId: string | null;
}

/** Channels the worker sends over (the outbox relay hands their rows out): no browser takes part. */
export const BACKCHANNELS: DeliveryChannel[] = ['backchannel_oidc', 'backchannel_saml', 'ssf_push'];
/** Channels the user's browser runs: an iframe on the logout page, or the main tab. */
export const FRONTCHANNELS: DeliveryChannel[] = [
  'frontchannel_oidc',
  'frontchannel_saml_iframe',
  'frontchannel_saml_native',
];
/** Security events to SSF streams (libs/ssf): pushed by the worker, or kept until the receiver polls. */
export const SSF_CHANNELS: DeliveryChannel[] = ['ssf_push', 'ssf_poll'];
const STATUSES: Record<DeliveryStatus, true> = {
  pending: true,
  queued: true,
  sending: true,
  succeeded: true,
  failed: true,
  dead: true,
  skipped: true,
  held: true,
};
export const DELIVERY_STATUSES = Object.keys(STATUSES) as DeliveryStatus[];
export const FINAL_STATUSES: DeliveryStatus[] = ['succeeded', 'failed', 'dead', 'skipped'];

/**
 * A row not final yet (pending, queued, sending, held): `completed_at` is set exactly when a row
 * becomes final, and cleared when an administrator sends it again. The indexes that find open rows
 * use it (an operation's open rows: `operation_id, completed_at`; open rows by age: partial on it)
 * rather than `status`: the worker's claim changes `status` and `lease_until` only, no indexed
 * column, so the database updates the row in place (PostgreSQL: a HOT update; SQLite: no index
 * touched) instead of writing an entry in every index at every step.
 */
export const OPEN_ROW = 'completed_at IS NULL';
/** A final row: what the dashboard counts by when it ended (only final rows are in that index). */
export const FINAL_ROW = 'completed_at IS NOT NULL';
/** Channels settled by the application's answer (a LogoutResponse), not by a page load. */
export const ANSWERED_CHANNELS: readonly DeliveryChannel[] = ['frontchannel_saml_iframe', 'frontchannel_saml_native'];
/**
 * A row an application's answer settles, found by its message's ID: only those are in the index on
 * message_id. The back channels' message IDs (a logout token's jti, a SOAP LogoutRequest's ID) are
 * answered in the same exchange and never looked up, so recording one touches no index for it.
 * A query that should use the index says this text as it is (SQLite uses a partial index only for a
 * WHERE that contains its condition, literally; bound values do not count).
 */
export const ANSWERED_ROW = `channel IN (${ANSWERED_CHANNELS.map((channel) => `'${channel}'`).join(', ')})`;

/**
 * Deliveries of a bulk logout written as rows after its commit (PostgreSQL): the logout's transaction
 * writes its first rows, and the rest as pieces (a JSON array of rows each), which OutboxPieces turns
 * into `logout_deliveries` rows within a second of the commit, a piece per statement, while the worker
 * delivers what is written. Committed with the sessions' end, so nothing is lost if the process dies
 * before; an operation is not settled while a piece of it is left.
 */
@Entity('logout_delivery_pieces')
export class LogoutDeliveryPiece {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  operationId: string;

  /** Its place in the logout: pieces are written in this order. */
  @PrimaryColumn({ type: 'integer' })
  piece: number;

  /** Each row's own values, as the outbox's INSERT takes them (outbox-rows.ts, OWN_COLUMNS). */
  @Column({ type: 'text' })
  rows: string;

  // What the piece's rows share, as logout_deliveries stores it.
  @Column({ type: 'integer' })
  attempts: number;

  @Column({ type: 'text' })
  attemptLog: string;

  @InstantColumn()
  createdAt: Date;

  @InstantColumn()
  updatedAt: Date;

  @ManyToOne(() => LogoutOperation, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'operation_id' })
  operation: Relation<LogoutOperation>;
}

/**
 * Telling one provider session, over one channel, that it ended — or one SSF stream one security
 * event (no provider session then: `event` holds the event, the provider is the receiver). This table
 * is the outbox: rows are written in the transaction that ends the sessions; the relay hands
 * back-channel rows to BullMQ (job id = row id) and the worker records every attempt here.
 */
@Entity('logout_deliveries')
@Index(['providerSessionId', 'channel'], { unique: true })
@Index(['operationId', 'completedAt'])
@Index(['createdAt'], { where: OPEN_ROW })
@Index(['completedAt'], { where: FINAL_ROW })
@Index(['messageId'], { where: ANSWERED_ROW })
export class LogoutDelivery {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 36 })
  operationId: string;

  @ManyToOne(() => LogoutOperation, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'operation_id' })
  operation: Relation<LogoutOperation>;

  /** Null for a security event (channels ssf_push, ssf_poll): it tells a stream, not a session. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  providerSessionId: string | null;

  @ManyToOne(() => ProviderSession, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_session_id' })
  providerSession: Relation<ProviderSession>;

  /**
   * A security event's content (SSF channels only): the SET's claims but those the transmitter adds
   * when it sends (iss, aud, jti = this row's id, the same on every attempt). Null for a logout message.
   */
  @JsonColumn({ nullable: true })
  event: SecurityEventClaims | null;

  @Index()
  @Column({ type: 'varchar', length: 36 })
  providerId: string;

  @ManyToOne(() => Provider, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id' })
  provider: Relation<Provider>;

  @Column({ type: 'varchar', length: 32 })
  channel: DeliveryChannel;

  @Column({ type: 'varchar', length: 16 })
  status: DeliveryStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @InstantColumn({ nullable: true })
  nextAttemptAt: Date | null;

  /** Until when the row belongs to the queue or a worker; past it, the relay hands it out again. */
  @InstantColumn({ nullable: true })
  leaseUntil: Date | null;

  @Column({ type: 'integer', nullable: true })
  lastHttpStatus: number | null;

  @Column({ type: 'text', nullable: true })
  lastError: string | null;

  /** One entry per attempt, oldest first: when, how long, what came back. */
  @JsonColumn()
  attemptLog: DeliveryAttempt[];

  /** The logout token's jti, or the SAML LogoutRequest's ID, of the latest attempt (a LogoutResponse's InResponseTo finds it). */
  @Column({ type: 'varchar', length: 128, nullable: true })
  messageId: string | null;

  @InstantColumn()
  createdAt: Date;

  @InstantColumn()
  updatedAt: Date;

  @InstantColumn({ nullable: true })
  completedAt: Date | null;
}
