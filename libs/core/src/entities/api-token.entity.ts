import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { InstantColumn, JsonColumn } from '../database/columns';
import { User } from './user.entity';

/**
 * What an API token may do: `admin`, the admin API; `global_token_revocation`, only
 * POST /oauth2/global-token-revocation (a security tool ending a user's access, and nothing else).
 */
export type ApiTokenScope = 'admin' | 'global_token_revocation';
export const API_TOKEN_SCOPES: readonly ApiTokenScope[] = ['admin', 'global_token_revocation'];

/** A bearer token for the admin API. Only its SHA-256 is stored; the token is shown once. */
@Entity('api_tokens')
export class ApiToken {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Index()
  @Column({ type: 'varchar', length: 36 })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  tokenHash: string;

  @JsonColumn({ default: '["admin"]' })
  scopes: ApiTokenScope[];

  @InstantColumn()
  createdAt: Date;

  @InstantColumn({ nullable: true })
  lastUsedAt: Date | null;

  @InstantColumn({ nullable: true })
  expiresAt: Date | null;

  @InstantColumn({ nullable: true })
  revokedAt: Date | null;
}
