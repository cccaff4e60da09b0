import { Inject, Injectable } from '@nestjs/common';
import { Clock, SamlPersistentId, SUBJECT_SECRET, type User } from '@signoff/core';
import { createHmac } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { RegisteredSp } from '../providers/saml-sps.service';

/**
 * Persistent NameIDs (SAML core §8.3.7): opaque, one per (SP, user), never the same at two SPs. A
 * new one is an HMAC-SHA256 under SUBJECT_SECRET of the provider and the user, so SPs cannot link
 * users by recomputing it. Each is recorded when first issued and read back from then on: one
 * already issued (including the unkeyed hashes of earlier versions, recorded by the migration)
 * never changes.
 */
@Injectable()
export class PersistentNameIds {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    @Inject(SUBJECT_SECRET) private readonly secret: string,
  ) {}

  async of(sp: RegisteredSp, user: User): Promise<string> {
    const issued = this.db.getRepository(SamlPersistentId);
    const known = await issued.findOneBy({ providerId: sp.providerId, userId: user.id });
    if (known) return known.nameId;
    const nameId = createHmac('sha256', this.secret)
      .update(`saml-persistent\0${sp.providerId}\0${user.id}`)
      .digest('base64url');
    // Two first sign-ins at once agree on the row that was written first.
    await issued
      .createQueryBuilder()
      .insert()
      .values({ providerId: sp.providerId, userId: user.id, nameId, createdAt: this.clock.now() })
      .orIgnore()
      .execute();
    return (await issued.findOneByOrFail({ providerId: sp.providerId, userId: user.id })).nameId;
  }
}
