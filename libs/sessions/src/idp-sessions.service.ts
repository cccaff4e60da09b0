import { Inject, Injectable } from '@nestjs/common';
import {
  type Actor,
  AuditService,
  Clock,
  CONFIG,
  type Config,
  IdpSession,
  newId,
  ProviderSession,
  randomToken,
  type SessionEndReason,
  type User,
} from '@signoff/core';
import { Brackets, DataSource, type EntityManager, In, IsNull } from 'typeorm';

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export type LiveSession = IdpSession & { user: User };

/**
 * IdP sessions: a browser holds a random browser id in its cookie; each account logged in on that
 * browser has one live IdpSession. The current account is the one used most recently.
 */
@Injectable()
export class IdpSessionsService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /**
   * Starts a session for the user on this browser, or renews the live one they already have there.
   * The browser gets a new id, and its live sessions move to it: a browser id planted or seen before
   * the login (session fixation) grants nothing after it. Returns the new browser id for the cookie.
   */
  async login(user: User, browserId: string, client: ClientInfo): Promise<{ session: IdpSession; browserId: string }> {
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.config.session.absoluteMs);
    const live = (await this.forBrowser(browserId)).find((session) => session.userId === user.id);
    const renewedBrowserId = randomToken(32);
    return this.db.transaction(async (tx) => {
      await tx.update(IdpSession, { browserId, endedAt: IsNull() }, { browserId: renewedBrowserId });
      const session = live
        ? Object.assign(live, { authTime: now, lastSeenAt: now, expiresAt, browserId: renewedBrowserId, ...client })
        : tx.create(IdpSession, {
            id: newId(),
            userId: user.id,
            browserId: renewedBrowserId,
            authTime: now,
            lastSeenAt: now,
            expiresAt,
            createdAt: now,
            endedAt: null,
            endReason: null,
            ...client,
          });
      const { user: _user, ...row } = session as LiveSession;
      await tx.save(IdpSession, row);
      await this.audit.record(
        {
          action: live ? 'session.reauthenticated' : 'session.started',
          actor: { type: 'user', id: user.id },
          target: { type: 'idp_session', id: session.id },
        },
        tx,
      );
      return { session, browserId: renewedBrowserId };
    });
  }

  /**
   * The browser's live sessions, current first. An expired session counts as gone at once; the
   * sweeper ends it, and runs its logout, within SESSION_SWEEP_INTERVAL.
   */
  async forBrowser(browserId: string): Promise<LiveSession[]> {
    const sessions = (await this.db.getRepository(IdpSession).find({
      where: { browserId, endedAt: IsNull() },
      relations: { user: true },
      order: { lastSeenAt: 'DESC' },
    })) as LiveSession[];
    return sessions.filter((session) => !this.expiryReason(session) && session.user.isActive);
  }

  async current(browserId: string): Promise<LiveSession | null> {
    return (await this.forBrowser(browserId))[0] ?? null;
  }

  /** Records activity (for the idle timeout); writes at most once a minute per session. */
  async touch(session: IdpSession): Promise<void> {
    const now = this.clock.now();
    if (now.getTime() - session.lastSeenAt.getTime() < Math.min(60_000, this.config.session.idleMs / 10)) return;
    session.lastSeenAt = now;
    await this.db.getRepository(IdpSession).update({ id: session.id, endedAt: IsNull() }, { lastSeenAt: now });
  }

  /** Makes one of the browser's live sessions the current one. */
  async select(browserId: string, sessionId: string): Promise<LiveSession | null> {
    const session = (await this.forBrowser(browserId)).find((candidate) => candidate.id === sessionId) ?? null;
    if (session) {
      session.lastSeenAt = this.clock.now();
      await this.db.getRepository(IdpSession).update({ id: session.id }, { lastSeenAt: session.lastSeenAt });
    }
    return session;
  }

  /**
   * Ends live sessions and their provider sessions, with one audit event each; returns the ids it
   * ended (a session already ended is left as it was). Pass `tx` to end them inside a larger change.
   */
  async end(ids: string[], reason: SessionEndReason, actor: Actor, tx?: EntityManager): Promise<string[]> {
    if (!tx) return this.db.transaction((inner) => this.end(ids, reason, actor, inner));
    if (ids.length === 0) return [];
    const now = this.clock.now();
    const live = await tx.find(IdpSession, { where: { id: In(ids), endedAt: IsNull() }, select: { id: true } });
    const ended = live.map((session) => session.id);
    if (ended.length === 0) return [];
    await tx.update(IdpSession, { id: In(ended), endedAt: IsNull() }, { endedAt: now, endReason: reason });
    await tx.update(ProviderSession, { idpSessionId: In(ended), endedAt: IsNull() }, { endedAt: now, state: 'ended' });
    for (const id of ended) {
      await this.audit.record(
        { action: 'session.ended', actor, target: { type: 'idp_session', id }, details: { reason } },
        tx,
      );
    }
    return ended;
  }

  /** Live sessions past their absolute or idle expiry, with the reason (for the sweeper). */
  async findExpired(batchSize = 500): Promise<Array<{ id: string; reason: 'expired_absolute' | 'expired_idle' }>> {
    const now = this.clock.now().getTime();
    const due = await this.db
      .getRepository(IdpSession)
      .createQueryBuilder('s')
      .where('s.ended_at IS NULL')
      .andWhere(
        new Brackets((q) =>
          q
            .where('s.expires_at <= :now', { now })
            .orWhere('s.last_seen_at <= :idle', { idle: now - this.config.session.idleMs }),
        ),
      )
      .take(batchSize)
      .getMany();
    return due.map((session) => ({
      id: session.id,
      reason: this.expiryReason(session) as 'expired_absolute' | 'expired_idle',
    }));
  }

  async get(id: string): Promise<IdpSession | null> {
    return this.db.getRepository(IdpSession).findOneBy({ id });
  }

  async listForUser(userId: string, options: { includeEnded: boolean }): Promise<IdpSession[]> {
    return this.db.getRepository(IdpSession).find({
      where: { userId, ...(options.includeEnded ? {} : { endedAt: IsNull() }) },
      order: { createdAt: 'DESC' },
      take: 200,
    });
  }

  /**
   * Not ended, and within its absolute and idle lifetimes: an expired session counts as ended at once,
   * whether or not the sweeper has ended it yet.
   */
  isLive(session: IdpSession): boolean {
    return !session.endedAt && !this.expiryReason(session);
  }

  private expiryReason(session: IdpSession): SessionEndReason | null {
    const now = this.clock.now().getTime();
    if (session.expiresAt.getTime() <= now) return 'expired_absolute';
    if (session.lastSeenAt.getTime() + this.config.session.idleMs <= now) return 'expired_idle';
    return null;
  }
}
