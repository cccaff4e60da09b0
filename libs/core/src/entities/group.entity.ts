import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { InstantColumn } from '../database/columns';
import { User } from './user.entity';

/** A named set of users that applications authorize by (OIDC `groups` claim, SAML `isMemberOf`). */
@Entity('groups')
export class Group {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  /** Stored lower-cased and unique: what applications see. */
  @Column({ type: 'varchar', length: 64, unique: true })
  name: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  description: string | null;

  @InstantColumn()
  createdAt: Date;

  @InstantColumn()
  updatedAt: Date;
}

/** A user's membership of a group. */
@Entity('group_members')
export class GroupMember {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  groupId: string;

  @Index()
  @PrimaryColumn({ type: 'varchar', length: 36 })
  userId: string;

  @ManyToOne(() => Group, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'group_id' })
  group: Relation<Group>;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @InstantColumn()
  createdAt: Date;
}
