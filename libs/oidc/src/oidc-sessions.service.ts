import { Injectable } from '@nestjs/common';
import { Clock, newId, OidcSession, randomToken, serialize } from '@signoff/core';
import { type EntityManager, IsNull } from 'typeorm';

/**
 * One OidcSession per (IdP session, client): its `sid` goes into every ID token issued to that client
 * in that IdP session, so a logout tells the client once however many tokens it holds.
 */
@Injectable()
export class OidcSessionsService {
  constructor(private readonly clock: Clock) {}

  async getOrCreate(tx: EntityManager, input: { idpSessionId: string; providerId: string; userId: string }): Promise<OidcSession> {
    await serialize(tx, `oidc-session:${input.idpSessionId}:${input.providerId}`);
    const existing = await tx.findOneBy(OidcSession, { idpSessionId: input.idpSessionId, providerId: input.providerId, endedAt: IsNull() });
    if (existing) return existing;
    return tx.save(OidcSession, tx.create(OidcSession, {
      id: newId(), ...input, sid: randomToken(16), sub: input.userId, createdAt: this.clock.now(), endedAt: null, state: 'active',
    }));
  }
}
