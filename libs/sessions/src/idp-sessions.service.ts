import { Inject, Injectable } from '@nestjs/common';
import {
  type Actor,
  AuditEvent,
  AuditService,
  Clock,
  CONFIG,
  type Config,
  IdpSession,
  newId,
  type Protocol,
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

/** How much a user's logout at Signoff ends: this account here, every account of this browser, or the user everywhere. */
export type LogoutScope = 'account' | 'browser' | 'everywhere';
export const LOGOUT_SCOPES: readonly LogoutScope[] = ['account', 'browser', 'everywhere'];

/** An application a session is signed in to: a provider with a live provider session in it. */
export interface SessionApplication {
  providerId: string;
  slug: string;
  name: string;
  protocol: Protocol;
}

/** A live session as the admin lists show it: with its user and the applications signed in to in it. */
export type LiveSessionListing = LiveSession & { applications: SessionApplication[] };

/** Which live sessions `listLive` returns; every member narrows. */
export interface LiveSessionFilter {
  userId?: string;
  /** This one session (the user's home page: the applications of the current session). */
  id?: string;
  /** Sessions in which this provider has a live provider session. */
  providerId?: string;
}

/** Audit events that are a login: a new session, or a live one signed in to again. */
const LOGIN_ACTIONS = ['session.started', 'session.reauthenticated'];
const DAY_MS = 24 * 60 * 60 * 1000;

/** Session ids per statement when ending many. */
const END_CHUNK = 500;

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

  /**
   * The IdP sessions a user's logout of `scope` ends, and which of them this browser holds (only their
   * front channels can run here): `account` the current one; `browser` every account of this browser;
   * `everywhere` every live session of the current user, on this device and any other.
   */
  async forLogout(
    browserId: string,
    scope: LogoutScope,
  ): Promise<{ idpSessionIds: string[]; browserIdpSessionIds: string[] } | null> {
    const here = await this.forBrowser(browserId);
    const current = here[0];
    if (!current) return null;
    if (scope === 'account') return { idpSessionIds: [current.id], browserIdpSessionIds: [current.id] };
    if (scope === 'browser') {
      const ids = here.map((session) => session.id);
      return { idpSessionIds: ids, browserIdpSessionIds: ids };
    }
    const everywhere = await this.db.getRepository(IdpSession).find({
      where: { userId: current.userId, endedAt: IsNull() },
      select: { id: true },
    });
    return {
      idpSessionIds: [...new Set([current.id, ...everywhere.map((session) => session.id)])],
      browserIdpSessionIds: here.filter((session) => session.userId === current.userId).map((session) => session.id),
    };
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
    const ended: string[] = [];
    // In chunks: a bulk deactivation may end more sessions than SQLite takes bound variables.
    for (let start = 0; start < ids.length; start += END_CHUNK) {
      const chunk = ids.slice(start, start + END_CHUNK);
      const live = await tx.find(IdpSession, { where: { id: In(chunk), endedAt: IsNull() }, select: { id: true } });
      const ending = live.map((session) => session.id);
      if (ending.length === 0) continue;
      await tx.update(IdpSession, { id: In(ending), endedAt: IsNull() }, { endedAt: now, endReason: reason });
      await tx.update(
        ProviderSession,
        { idpSessionId: In(ending), endedAt: IsNull() },
        { endedAt: now, state: 'ended' },
      );
      ended.push(...ending);
    }
    await this.audit.recordMany(
      ended.map((id) => ({ action: 'session.ended', actor, target: { type: 'idp_session', id }, details: { reason } })),
      tx,
    );
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

  /**
   * Every live session (not ended, within its absolute and idle lifetimes), most recently seen first,
   * a page at a time, each with its user and the applications signed in to in it. Two queries
   * whatever the page size (plus the total): the page, and the applications of its sessions.
   */
  async listLive(
    filter: LiveSessionFilter,
    page: { limit: number; offset: number },
  ): Promise<{ items: LiveSessionListing[]; total: number }> {
    const query = this.liveQuery(this.clock.now()).innerJoinAndSelect('s.user', 'user');
    if (filter.userId) query.andWhere('s.user_id = :userId', { userId: filter.userId });
    if (filter.id) query.andWhere('s.id = :id', { id: filter.id });
    if (filter.providerId)
      query.andWhere(
        'EXISTS (SELECT 1 FROM provider_sessions fp WHERE fp.idp_session_id = s.id AND fp.provider_id = :providerId AND fp.ended_at IS NULL)',
        { providerId: filter.providerId },
      );
    const [sessions, total] = (await query
      .orderBy('s.last_seen_at', 'DESC')
      .addOrderBy('s.id', 'DESC')
      // limit/offset, not take/skip: the join is many-to-one, so rows are sessions, and one query does.
      .limit(page.limit)
      .offset(page.offset)
      .getManyAndCount()) as [LiveSession[], number];
    if (!sessions.length) return { items: [], total };
    const rows: Array<{ sessionId: string } & SessionApplication> = await this.db
      .getRepository(ProviderSession)
      .createQueryBuilder('ps')
      .innerJoin('ps.provider', 'p')
      .select('ps.idp_session_id', 'sessionId')
      .addSelect('p.id', 'providerId')
      .addSelect('p.slug', 'slug')
      .addSelect('p.name', 'name')
      .addSelect('p.protocol', 'protocol')
      .distinct(true)
      .where('ps.idp_session_id IN (:...ids)', { ids: sessions.map((session) => session.id) })
      .andWhere('ps.ended_at IS NULL')
      .orderBy('p.name', 'ASC')
      .getRawMany();
    const items = sessions.map((session) =>
      Object.assign(session, {
        applications: rows
          .filter((row) => row.sessionId === session.id)
          .map(({ providerId, slug, name, protocol }) => ({ providerId, slug, name, protocol })),
      }),
    );
    return { items, total };
  }

  /** The dashboard's numbers about sessions: live now, and logins (new sessions and sign-ins again) in the 24 hours before `now`. */
  async counts(now: Date): Promise<{ live: number; loginsLast24h: number }> {
    const live = await this.liveQuery(now).getCount();
    const loginsLast24h = await this.db
      .getRepository(AuditEvent)
      .createQueryBuilder('e')
      .where('e.action IN (:...actions)', { actions: LOGIN_ACTIONS })
      .andWhere('e.at >= :since', { since: now.getTime() - DAY_MS })
      .getCount();
    return { live, loginsLast24h };
  }

  /** Sessions live at `now`: not ended, and within their absolute and idle lifetimes (as isLive says). */
  private liveQuery(now: Date) {
    return this.db
      .getRepository(IdpSession)
      .createQueryBuilder('s')
      .where('s.ended_at IS NULL')
      .andWhere('s.expires_at > :now', { now: now.getTime() })
      .andWhere('s.last_seen_at > :idle', { idle: now.getTime() - this.config.session.idleMs });
  }

  async get(id: string): Promise<IdpSession | null> {
    return this.db.getRepository(IdpSession).findOneBy({ id });
  }

  /** A user's sessions, newest first (id breaks ties, so pages neither repeat nor skip a row), one page and the total. */
  async listForUser(
    userId: string,
    options: { includeEnded: boolean; limit: number; offset: number },
  ): Promise<{ items: IdpSession[]; total: number }> {
    const [items, total] = await this.db.getRepository(IdpSession).findAndCount({
      where: { userId, ...(options.includeEnded ? {} : { endedAt: IsNull() }) },
      order: { createdAt: 'DESC', id: 'ASC' },
      take: options.limit,
      skip: options.offset,
    });
    return { items, total };
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
