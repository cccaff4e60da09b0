import { Column, Entity, Index, JoinColumn, OneToOne, PrimaryColumn, type Relation } from 'typeorm';
import { InstantColumn, JsonColumn } from '../database/columns';
import { Provider } from './provider.entity';

/** How a receiver's events name the user (RFC 9493 §3.2.3 iss_sub, §3.2.2 email). */
export type SsfSubjectFormat = 'iss_sub' | 'email';
export const SSF_SUBJECT_FORMATS: readonly SsfSubjectFormat[] = ['iss_sub', 'email'];

/** SSF 1.0 §6.1: push (RFC 8935) or poll (RFC 8936), named by the RFC's URN. */
export const SSF_PUSH = 'urn:ietf:rfc:8935';
export const SSF_POLL = 'urn:ietf:rfc:8936';
export type SsfDeliveryMethod = typeof SSF_PUSH | typeof SSF_POLL;

/** SSF 1.0 §8.1.2.1: enabled sends, paused holds, disabled neither sends nor keeps. */
export type SsfStreamStatus = 'enabled' | 'paused' | 'disabled';
export const SSF_STREAM_STATUSES: readonly SsfStreamStatus[] = ['enabled', 'paused', 'disabled'];

/**
 * A Shared Signals receiver an administrator registered (SSF 1.0 §8: "the authorization MUST associate
 * a Receiver with one or more stream IDs and aud values"), and its stream: at most one (a second
 * create is 409, §8.1.1.1). Its provider row (protocol `ssf`) is what its deliveries belong to, so a
 * logout operation names it beside the OIDC and SAML applications it told.
 */
@Entity('ssf_receivers')
export class SsfReceiver {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  providerId: string;

  @OneToOne(() => Provider, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id' })
  provider: Relation<Provider>;

  /** SHA-256 of the receiver's bearer token (the stream management and poll endpoints); never the token. */
  @Column({ type: 'varchar', length: 64, unique: true })
  tokenHash: string;

  /** The `aud` of its stream and of every SET it gets (SSF 1.0 §8.1.1: set by the transmitter, never updated). */
  @Column({ type: 'varchar', length: 1024 })
  audience: string;

  @Column({ type: 'varchar', length: 16 })
  subjectFormat: SsfSubjectFormat;

  /** The stream's id (§8.1.1 stream_id), null while the receiver has none. */
  @Index({ unique: true })
  @Column({ type: 'varchar', length: 36, nullable: true })
  streamId: string | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  streamStatus: SsfStreamStatus | null;

  @Column({ type: 'text', nullable: true })
  streamStatusReason: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  deliveryMethod: SsfDeliveryMethod | null;

  /** Push: where the receiver takes SETs (it chose it). Poll: null (the endpoint is ours, by stream id). */
  @Column({ type: 'text', nullable: true })
  endpointUrl: string | null;

  /**
   * Push: the Authorization header the receiver asked for (§6.1.1), sealed under the key-encryption key
   * like a private key (KeyEncryption, AAD = the receiver's id); never shown back.
   */
  @Column({ type: 'text', nullable: true })
  authorizationHeader: string | null;

  @JsonColumn({ nullable: true })
  eventsRequested: string[] | null;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @InstantColumn({ nullable: true })
  streamCreatedAt: Date | null;

  @InstantColumn({ nullable: true })
  streamUpdatedAt: Date | null;

  /** When the receiver last asked for a verification event (min_verification_interval, §8.1.4.2). */
  @InstantColumn({ nullable: true })
  lastVerificationAt: Date | null;

  @InstantColumn()
  createdAt: Date;
}

/**
 * A user subject a receiver removed from its stream (SSF 1.0 §8.1.3.3). Streams hold every user by
 * default (default_subjects ALL); a removed one gets no events until it is added again.
 * `subject`: `iss_sub:<sub>` or `email:<address, lower case>`.
 */
@Entity('ssf_removed_subjects')
export class SsfRemovedSubject {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  providerId: string;

  @PrimaryColumn({ type: 'varchar', length: 512 })
  subject: string;

  @InstantColumn()
  createdAt: Date;
}
