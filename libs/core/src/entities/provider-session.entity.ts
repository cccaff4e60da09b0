import {
  ChildEntity,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  type Relation,
  TableInheritance,
} from 'typeorm';
import { InstantColumn } from '../database/columns';
import { IdpSession } from './idp-session.entity';
import { Provider } from './provider.entity';
import { User } from './user.entity';

/** One provider's part in one IdP session, created when an ID token or an assertion is issued. */
@Entity('provider_sessions')
@TableInheritance({ column: { type: 'varchar', length: 8, name: 'kind' } })
export abstract class ProviderSession {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Index()
  @Column({ type: 'varchar', length: 36 })
  idpSessionId: string;

  @ManyToOne(() => IdpSession, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'idp_session_id' })
  idpSession: Relation<IdpSession>;

  @Index()
  @Column({ type: 'varchar', length: 36 })
  providerId: string;

  @ManyToOne(() => Provider, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id' })
  provider: Relation<Provider>;

  @Index()
  @Column({ type: 'varchar', length: 36 })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @InstantColumn()
  createdAt: Date;

  @InstantColumn({ nullable: true })
  endedAt: Date | null;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  state: 'active' | 'ended';
}

@ChildEntity('oidc')
export class OidcSession extends ProviderSession {
  /** The `sid` claim: random, one per provider session. */
  @Index({ unique: true })
  @Column({ type: 'varchar', length: 64, nullable: true })
  sid: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  sub: string;
}

@ChildEntity('saml')
export class SamlSession extends ProviderSession {
  @Index()
  @Column({ type: 'varchar', length: 64, nullable: true })
  sessionIndex: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  nameId: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  nameIdFormat: string;

  @Column({ type: 'varchar', length: 1024, nullable: true })
  nameQualifier: string | null;

  @Column({ type: 'varchar', length: 1024, nullable: true })
  spNameQualifier: string | null;

  @InstantColumn({ nullable: true })
  sessionNotOnOrAfter: Date | null;
}
