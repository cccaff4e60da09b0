import { Injectable } from '@nestjs/common';
import { type Actor, ApiToken, AuditService, Clock, newId, randomToken, sha256Hex, User } from '@signoff/core';
import { DataSource, IsNull } from 'typeorm';

const PREFIX = 'so_';

/** Bearer tokens for the admin API: 256 random bits, shown once, stored as SHA-256. */
@Injectable()
export class ApiTokensService {
  constructor(private readonly db: DataSource, private readonly clock: Clock, private readonly audit: AuditService) {}

  async create(user: User, name: string, lifetimeMs: number | null, actor: Actor): Promise<{ token: string; record: ApiToken }> {
    const token = PREFIX + randomToken(32);
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const record = await tx.save(ApiToken, {
        id: newId(), userId: user.id, name, tokenHash: sha256Hex(token), createdAt: now, lastUsedAt: null,
        expiresAt: lifetimeMs ? new Date(now.getTime() + lifetimeMs) : null, revokedAt: null,
      });
      await this.audit.record({ action: 'api_token.created', actor, target: { type: 'user', id: user.id }, details: { tokenId: record.id, name } }, tx);
      return { token, record };
    });
  }

  /** The token's user, when the token is known, unrevoked, unexpired and its user active. */
  async authenticate(token: string): Promise<User | null> {
    if (!token.startsWith(PREFIX)) return null;
    const record = await this.db.getRepository(ApiToken).findOne({ where: { tokenHash: sha256Hex(token), revokedAt: IsNull() }, relations: { user: true } });
    const now = this.clock.now();
    if (!record || (record.expiresAt && record.expiresAt <= now) || !record.user.isActive) return null;
    if (!record.lastUsedAt || now.getTime() - record.lastUsedAt.getTime() > 60_000) {
      await this.db.getRepository(ApiToken).update({ id: record.id }, { lastUsedAt: now });
    }
    return record.user;
  }
}
