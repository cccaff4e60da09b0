import { Column, Entity, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '../database/columns';

/**
 * The persistent NameID issued to one SP for one user (SAML core §8.3.7): once issued it never
 * changes, however the derivation changes later (older ones were unkeyed hashes; new ones are HMACs).
 */
@Entity('saml_persistent_ids')
export class SamlPersistentId {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  providerId: string;

  @PrimaryColumn({ type: 'varchar', length: 36 })
  userId: string;

  @Column({ type: 'varchar', length: 255 })
  nameId: string;

  @InstantColumn()
  createdAt: Date;
}
