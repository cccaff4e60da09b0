import { Injectable } from '@nestjs/common';
import { AccessToken, type Actor, AuditService, Clock, OidcConsent, RefreshToken } from '@signoff/core';
import { DataSource, IsNull } from 'typeorm';

/** A consent as the user sees it on their account page. */
export interface ConsentView {
  providerId: string;
  clientName: string;
  scopes: string[];
  updatedAt: Date;
}

/**
 * What users allowed third-party clients (OidcClient.consentRequired): a client is asked about once
 * per set of scopes (OIDC Core §3.1.2.4: the OP obtains consent before releasing information), the
 * answer is remembered, and the user may withdraw it, which also revokes what the client holds.
 */
@Injectable()
export class ConsentsService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /**
   * Must the user be asked before this client gets a code? Only clients that require consent ask:
   * when the user has not yet allowed every requested scope, or the client asks again with
   * prompt=consent (OIDC Core §3.1.2.1), unless the user just answered this very request.
   */
  async mustAsk(
    client: { providerId: string; consentRequired: boolean },
    userId: string,
    request: { scope: string; prompt: string[] },
    consentGiven = false,
  ): Promise<boolean> {
    if (!client.consentRequired || consentGiven) return false;
    return (
      request.prompt.includes('consent') || !(await this.covers(userId, client.providerId, request.scope.split(' ')))
    );
  }

  /** Has the user already allowed every one of these scopes to this client? */
  async covers(userId: string, providerId: string, scopes: string[]): Promise<boolean> {
    const consent = await this.db.getRepository(OidcConsent).findOneBy({ userId, providerId });
    return Boolean(consent) && scopes.every((scope) => consent!.scopes.includes(scope));
  }

  /** Records that the user allowed these scopes (added to what they allowed before). */
  async grant(userId: string, providerId: string, scopes: string[], actor: Actor): Promise<void> {
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      const existing = await tx.findOneBy(OidcConsent, { userId, providerId });
      const all = [...new Set([...(existing?.scopes ?? []), ...scopes])].sort();
      await tx.save(OidcConsent, {
        userId,
        providerId,
        scopes: all,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      });
      await this.audit.record(
        {
          action: 'consent.granted',
          actor,
          target: { type: 'provider', id: providerId },
          details: { userId, scopes: all },
        },
        tx,
      );
    });
  }

  /** The user's consents, most recent first. */
  async of(userId: string): Promise<ConsentView[]> {
    const consents = await this.db
      .getRepository(OidcConsent)
      .find({ where: { userId }, relations: { provider: true }, order: { updatedAt: 'DESC' } });
    return consents.map((consent) => ({
      providerId: consent.providerId,
      clientName: consent.provider.name,
      scopes: consent.scopes,
      updatedAt: consent.updatedAt,
    }));
  }

  /**
   * Withdraws the user's consent to a client and revokes every token the client holds for the user
   * (offline_access ones too): what the user no longer allows, the client can no longer use.
   * False when there was no such consent.
   */
  async revoke(userId: string, providerId: string, actor: Actor): Promise<boolean> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const removed = await tx.delete(OidcConsent, { userId, providerId });
      if (!removed.affected) return false;
      await tx.update(AccessToken, { userId, providerId, revokedAt: IsNull() }, { revokedAt: now });
      await tx.update(RefreshToken, { userId, providerId, revokedAt: IsNull() }, { revokedAt: now });
      await this.audit.record(
        { action: 'consent.revoked', actor, target: { type: 'provider', id: providerId }, details: { userId } },
        tx,
      );
      return true;
    });
  }
}
