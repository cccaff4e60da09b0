import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { InstantColumn } from '../database/columns';
import { User } from './user.entity';

export type SessionEndReason =
  | 'logout'
  | 'expired_idle'
  | 'expired_absolute'
  | 'admin'
  | 'user_deactivated'
  | 'password_changed'
  | 'global_revocation';

/** A user's login at Signoff. The id is its public handle; the browser holds only browserId. */
@Entity('idp_sessions')
export class IdpSession {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Index()
  @Column({ type: 'varchar', length: 36 })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  /** The browser's random id from its signed cookie; shared by the accounts logged in on one browser. */
  @Index()
  @Column({ type: 'varchar', length: 64 })
  browserId: string;

  @InstantColumn()
  authTime: Date;

  @InstantColumn()
  lastSeenAt: Date;

  /** Absolute expiry; idle expiry is lastSeenAt + the configured idle timeout. */
  @InstantColumn()
  expiresAt: Date;

  @InstantColumn()
  createdAt: Date;

  @Index()
  @InstantColumn({ nullable: true })
  endedAt: Date | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  endReason: SessionEndReason | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;
}
