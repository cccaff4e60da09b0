import { Injectable } from '@nestjs/common';
import { Clock, newId, OidcSession, randomToken, serialize } from '@signoff/core';
import { IdpSessionsService, type LiveSession } from '@signoff/sessions';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import type { VerifiedHint } from './logout/id-token-hint';

/**
 * One OidcSession per (IdP session, client): its `sid` goes into every ID token issued to that client
 * in that IdP session, so a logout tells the client once however many tokens it holds. Its `sub` is
 * the subject issued to that client (public or pairwise), the one its logout tokens carry.
 */
@Injectable()
export class OidcSessionsService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly idpSessions: IdpSessionsService,
  ) {}

  async getOrCreate(
    tx: EntityManager,
    input: { idpSessionId: string; providerId: string; userId: string; sub: string },
  ): Promise<OidcSession> {
    await serialize(tx, `oidc-session:${input.idpSessionId}:${input.providerId}`);
    const existing = await tx.findOneBy(OidcSession, {
      idpSessionId: input.idpSessionId,
      providerId: input.providerId,
      endedAt: IsNull(),
    });
    if (existing) return existing;
    return tx.save(
      OidcSession,
      tx.create(OidcSession, {
        id: newId(),
        ...input,
        sid: randomToken(16),
        createdAt: this.clock.now(),
        endedAt: null,
        state: 'active',
      }),
    );
  }

  /** The client's live provider session in an IdP session, if any. */
  async liveOf(idpSessionId: string, providerId: string): Promise<OidcSession | null> {
    return this.db.getRepository(OidcSession).findOneBy({ idpSessionId, providerId, endedAt: IsNull() });
  }

  /**
   * The live IdP session an id_token_hint names (RP-Initiated Logout 1.0 §2): the client's provider
   * session with the hint's `sid`, issued with the hint's `sub` (as that client saw it: public or
   * pairwise). Null when there is none, or when it or its IdP session has ended or expired.
   */
  async hintedIdpSession(hint: VerifiedHint, providerId: string): Promise<LiveSession | null> {
    if (!hint.sid) return null;
    const session = await this.db
      .getRepository(OidcSession)
      .findOne({ where: { sid: hint.sid, providerId }, relations: { idpSession: { user: true } } });
    if (!session || session.sub !== hint.sub || session.endedAt) return null;
    const idpSession = session.idpSession as LiveSession;
    return this.idpSessions.isLive(idpSession) && idpSession.user.isActive ? idpSession : null;
  }
}
