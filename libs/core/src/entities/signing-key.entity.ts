import type { JWK } from 'jose';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { InstantColumn, JsonColumn } from '../database/columns';

export type KeyUse = 'oidc' | 'saml';
export type KeyAlg = 'ES256' | 'RS256';
export type KeyState = 'next' | 'active' | 'retired';

/** A signing key. Per (use, alg) there is one `active` key, one `next` key, and retired ones. */
@Entity('signing_keys')
@Index(['use', 'alg', 'state'])
export class SigningKey {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  /** RFC 7638 JWK thumbprint of the public key. */
  @Column({ type: 'varchar', length: 64, unique: true })
  kid: string;

  @Column({ type: 'varchar', length: 8 })
  use: KeyUse;

  @Column({ type: 'varchar', length: 8 })
  alg: KeyAlg;

  @Column({ type: 'varchar', length: 8 })
  state: KeyState;

  /** PKCS#8 PEM sealed under the key-encryption key (`enc:v1:…`, keys/key-encryption.ts). Never logged, never returned by the API. */
  @Column({ type: 'text' })
  privateKeyPem: string;

  @JsonColumn()
  publicJwk: JWK;

  /** Self-signed X.509 certificate (PEM) for SAML keys; null for OIDC keys. */
  @Column({ type: 'text', nullable: true })
  certificatePem: string | null;

  @InstantColumn()
  createdAt: Date;

  @InstantColumn({ nullable: true })
  activatedAt: Date | null;

  @InstantColumn({ nullable: true })
  retiredAt: Date | null;
}
