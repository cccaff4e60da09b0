import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import {
  type Actor,
  ApiToken,
  type ApiTokenScope,
  AuditService,
  Clock,
  newId,
  parseDuration,
  randomToken,
  sha256Hex,
  User,
} from '@signoff/core';
import { DataSource, IsNull } from 'typeorm';

const PREFIX = 'so_';

/** How often the last use is written: at most once a minute per token, so a busy script costs no write per call. */
const LAST_USE_RESOLUTION_MS = 60_000;

export type ApiTokenStatus = 'active' | 'expired' | 'revoked';

/** A token as the admin API (POST /api/v1/api-tokens) and the console ask for it. */
export interface ApiTokenRequest {
  name: string;
  /** A lifetime such as 90d or 12h (config/duration.ts). */
  expiresIn?: string;
  /** Or an instant (ISO 8601) to expire at. Neither: the token lives until revoked. */
  expiresAt?: string;
  /** What it may do (default: the admin API). */
  scopes?: ApiTokenScope[];
}

/** Bearer tokens for the admin API: 256 random bits, shown once, stored as SHA-256. */
@Injectable()
export class ApiTokensService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /**
   * A new token for `user`, valid for `lifetimeMs` (null: until revoked), allowed `scopes`. `notAfter`
   * caps its expiry: a token used to create another may not give it a longer life than its own.
   */
  async create(
    user: User,
    name: string,
    lifetimeMs: number | null,
    actor: Actor,
    notAfter: Date | null = null,
    scopes: ApiTokenScope[] = ['admin'],
  ): Promise<{ token: string; record: ApiToken }> {
    const token = PREFIX + randomToken(32);
    const now = this.clock.now();
    const expiresAt = earliest(lifetimeMs === null ? null : new Date(now.getTime() + lifetimeMs), notAfter);
    if (expiresAt && expiresAt <= now)
      throw new BadRequestException('The token would expire at once: give it a positive lifetime.');
    return this.db.transaction(async (tx) => {
      const record = await tx.save(ApiToken, {
        id: newId(),
        userId: user.id,
        name,
        tokenHash: sha256Hex(token),
        scopes: [...new Set(scopes)],
        createdAt: now,
        lastUsedAt: null,
        expiresAt,
        revokedAt: null,
      });
      record.user = user;
      await this.audit.record(
        {
          action: 'api_token.created',
          actor,
          target: { type: 'user', id: user.id },
          details: { tokenId: record.id, name, expiresAt, scopes: record.scopes },
        },
        tx,
      );
      return { token, record };
    });
  }

  /**
   * A new token for `user` as asked (`expiresIn` or `expiresAt`, already checked against
   * schemas.ApiTokenCreate): the admin API's POST and the console's form both come here.
   */
  async createFor(
    user: User,
    request: ApiTokenRequest,
    actor: Actor,
    notAfter: Date | null = null,
  ): Promise<{ token: string; record: ApiToken }> {
    return this.create(user, request.name, this.lifetimeOf(request), actor, notAfter, request.scopes);
  }

  private lifetimeOf(request: ApiTokenRequest): number | null {
    if (request.expiresIn !== undefined) {
      const ms = parseDuration(request.expiresIn);
      if (!ms)
        throw new BadRequestException({
          message: 'The request body is invalid.',
          details: ['expiresIn: must be a duration such as 90d or 12h'],
        });
      return ms;
    }
    if (request.expiresAt !== undefined) return new Date(request.expiresAt).getTime() - this.clock.now().getTime();
    return null;
  }

  /** Tokens with their users, newest first; optionally only one user's. Never the token or its hash. */
  async list(options: {
    userId?: string;
    limit: number;
    offset: number;
  }): Promise<{ items: ApiToken[]; total: number }> {
    const [items, total] = await this.db.getRepository(ApiToken).findAndCount({
      where: options.userId ? { userId: options.userId } : {},
      relations: { user: true },
      order: { createdAt: 'DESC' },
      take: options.limit,
      skip: options.offset,
    });
    return { items, total };
  }

  /** Revokes a token at once (its next request gets 401); revoking a revoked token changes nothing. */
  async revoke(id: string, actor: Actor): Promise<ApiToken> {
    return this.db.transaction(async (tx) => {
      const record = await tx.findOne(ApiToken, { where: { id }, relations: { user: true } });
      if (!record) throw new NotFoundException('No such API token.');
      if (record.revokedAt) return record;
      record.revokedAt = this.clock.now();
      await tx.update(ApiToken, { id, revokedAt: IsNull() }, { revokedAt: record.revokedAt });
      await this.audit.record(
        {
          action: 'api_token.revoked',
          actor,
          target: { type: 'user', id: record.userId },
          details: { tokenId: id, name: record.name },
        },
        tx,
      );
      return record;
    });
  }

  /** The token's record with its user, when the token is known, unrevoked, unexpired and its user active; records the use. */
  async authenticate(token: string): Promise<(ApiToken & { user: User }) | null> {
    if (!token.startsWith(PREFIX)) return null;
    const record = await this.db
      .getRepository(ApiToken)
      .findOne({ where: { tokenHash: sha256Hex(token), revokedAt: IsNull() }, relations: { user: true } });
    const now = this.clock.now();
    if (!record || apiTokenStatus(record, now) !== 'active' || !record.user.isActive) return null;
    if (!record.lastUsedAt || now.getTime() - record.lastUsedAt.getTime() >= LAST_USE_RESOLUTION_MS) {
      await this.db.getRepository(ApiToken).update({ id: record.id }, { lastUsedAt: now });
      record.lastUsedAt = now;
    }
    return record;
  }
}

export function apiTokenStatus(record: ApiToken, now: Date): ApiTokenStatus {
  if (record.revokedAt) return 'revoked';
  return record.expiresAt && record.expiresAt <= now ? 'expired' : 'active';
}

function earliest(a: Date | null, b: Date | null): Date | null {
  if (!a || !b) return a ?? b;
  return a < b ? a : b;
}
