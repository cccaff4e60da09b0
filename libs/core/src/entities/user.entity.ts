import { Column, Entity, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '../database/columns';

@Entity('users')
export class User {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  /** Stored lower-cased: usernames are unique without regard to case. */
  @Column({ type: 'varchar', length: 64, unique: true })
  username: string;

  @Column({ type: 'varchar', length: 254, nullable: true })
  email: string | null;

  /** Whether the address is known to belong to the user (OIDC `email_verified`); set by an administrator. */
  @Column({ type: 'boolean', default: false })
  emailVerified: boolean;

  /** Full name, as shown (OIDC `name`, SAML `displayName`). */
  @Column({ type: 'varchar', length: 200, nullable: true })
  name: string | null;

  /** OIDC `given_name`, SAML `givenName`. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  givenName: string | null;

  /** OIDC `family_name`, SAML `sn`. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  familyName: string | null;

  /** scrypt hash (crypto/password.ts); null: the user cannot log in with a password. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  passwordHash: string | null;

  @Column({ type: 'boolean', default: true })
  isActive: boolean;

  @Column({ type: 'boolean', default: false })
  isAdmin: boolean;

  @InstantColumn()
  createdAt: Date;

  @InstantColumn()
  updatedAt: Date;

  @InstantColumn({ nullable: true })
  deactivatedAt: Date | null;
}
