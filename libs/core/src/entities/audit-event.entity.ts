import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { InstantColumn, JsonColumn } from '../database/columns';

/** Who may act: a user for themselves, an administrator, Signoff itself, an application, nobody known. */
export const ACTOR_TYPES = ['user', 'admin', 'system', 'provider', 'anonymous'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

/** Who did what to whom, when. Append-only. */
@Entity('audit_events')
export class AuditEvent {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Index()
  @InstantColumn()
  at: Date;

  @Index()
  @Column({ type: 'varchar', length: 64 })
  action: string;

  @Column({ type: 'varchar', length: 16 })
  actorType: ActorType;

  @Column({ type: 'varchar', length: 64, nullable: true })
  actorId: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  targetType: string | null;

  @Index()
  @Column({ type: 'varchar', length: 64, nullable: true })
  targetId: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  requestId: string | null;

  @JsonColumn({ nullable: true })
  details: object | null;
}
