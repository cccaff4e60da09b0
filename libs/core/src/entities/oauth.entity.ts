import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { InstantColumn } from '../database/columns';
import { Provider } from './provider.entity';
import { User } from './user.entity';

// Codes and tokens are random strings handed to clients; only their SHA-256 is stored.

@Entity('authorization_codes')
export class AuthorizationCode {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  codeHash: string;

  @Column({ type: 'varchar', length: 36 })
  providerId: string;

  @Column({ type: 'varchar', length: 36 })
  userId: string;

  @Column({ type: 'varchar', length: 36 })
  idpSessionId: string;

  @Column({ type: 'text' })
  redirectUri: string;

  @Column({ type: 'varchar', length: 1000 })
  scope: string;

  @Column({ type: 'varchar', length: 512, nullable: true })
  nonce: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  codeChallenge: string | null;

  @InstantColumn()
  authTime: Date;

  @InstantColumn()
  expiresAt: Date;

  /** Set at the first redemption; a second one is refused and revokes what the first issued. */
  @InstantColumn({ nullable: true })
  redeemedAt: Date | null;
}

abstract class IssuedToken {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  tokenHash: string;

  @Index()
  @Column({ type: 'varchar', length: 36 })
  providerId: string;

  @Column({ type: 'varchar', length: 36 })
  userId: string;

  /** The provider session the token was issued in (null for none). */
  @Index()
  @Column({ type: 'varchar', length: 36, nullable: true })
  oidcSessionId: string | null;

  /** The authorization code the token descends from, so a replayed code can revoke it. */
  @Index()
  @Column({ type: 'varchar', length: 64, nullable: true })
  codeHash: string | null;

  @Column({ type: 'varchar', length: 1000 })
  scope: string;

  @InstantColumn()
  createdAt: Date;

  @InstantColumn()
  expiresAt: Date;

  @InstantColumn({ nullable: true })
  revokedAt: Date | null;

  /**
   * Not bound to the life of its IdP session: a refresh token granted offline_access (OIDC Core §11),
   * or an access token such a refresh token issued after that session had ended. Every other token is
   * only good while its IdP session lives.
   */
  @Column({ type: 'boolean', default: false })
  offlineAccess: boolean;
}

@Entity('access_tokens')
export class AccessToken extends IssuedToken {}

@Entity('refresh_tokens')
export class RefreshToken extends IssuedToken {
  @InstantColumn()
  authTime: Date;
}

/** What a user allowed a client that asks for consent (OidcClient.consentRequired): the scopes granted, revocable by the user. */
@Entity('oidc_consents')
export class OidcConsent {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  userId: string;

  @PrimaryColumn({ type: 'varchar', length: 36 })
  providerId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user: Relation<User>;

  @ManyToOne(() => Provider, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id' })
  provider: Relation<Provider>;

  /** The scopes the user agreed to, sorted. */
  @Column({ type: 'simple-json' })
  scopes: string[];

  @InstantColumn()
  createdAt: Date;

  @InstantColumn()
  updatedAt: Date;
}
