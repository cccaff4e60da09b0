import { Injectable } from '@nestjs/common';
import { type Actor, SignoffError, type User, type UserChanges, UsersService } from '@signoff/core';
import { LogoutOrchestrator, type StartedLogout } from '@signoff/logout';
import { IdpSessionsService } from '@signoff/sessions';
import { DataSource, type EntityManager } from 'typeorm';

/** Administrative acts that touch more than one lib; shared by the admin API, the console and the CLI. */
@Injectable()
export class UserAdminService {
  constructor(
    private readonly db: DataSource,
    private readonly users: UsersService,
    private readonly orchestrator: LogoutOrchestrator,
    private readonly sessions: IdpSessionsService,
  ) {}

  /**
   * Deactivates the user and, in the same transaction, ends every session they have, revokes every
   * token they hold (offline_access ones too, even without a live session), and writes the deliveries
   * that tell their applications; those go out asynchronously through the worker.
   */
  async deactivate(userId: string, actor: Actor): Promise<{ user: User; operation: StartedLogout }> {
    const user = await this.users.get(userId);
    const operation = await this.db.transaction(async (tx) => {
      const deactivated = await this.users.deactivateIn(tx, user, actor);
      const idpSessionIds = await this.orchestrator.liveSessionIdsOf(user.id, tx);
      return this.orchestrator.endSessionsIn(tx, {
        trigger: 'user_deactivated',
        initiator: actor,
        reason: 'user_deactivated',
        idpSessionIds,
        withBrowser: false,
        // A user inactive already lost their grants, and SSF streams heard account-disabled, then.
        userIds: deactivated ? [user.id] : [],
        aboutUserIds: deactivated ? [] : [user.id],
      });
    });
    this.orchestrator.afterCommit(operation);
    return { user, operation };
  }

  /**
   * Deactivates many users at once (an offboarding): one transaction, one logout operation about all
   * of them (trigger `user_deactivated`), whose deliveries go out through the worker as for one user.
   * Users already inactive are left as they are; any unknown id refuses the whole call (`not_found`,
   * naming them) and so does leaving no active administrator (`conflict`): nothing changes then.
   */
  async deactivateMany(
    userIds: string[],
    actor: Actor,
  ): Promise<{ users: User[]; deactivated: User[]; operation: StartedLogout }> {
    const ids = [...new Set(userIds)];
    const users = await this.users.getMany(ids);
    const found = new Set(users.map((user) => user.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length)
      throw new SignoffError('not_found', `No such user: ${missing.slice(0, 10).join(', ')}`, { missing });
    const result = await this.db.transaction(async (tx) => {
      const deactivated = await this.users.deactivateManyIn(tx, users, actor);
      const leaving = new Set(deactivated.map((user) => user.id));
      const operation = await this.orchestrator.endSessionsIn(tx, {
        trigger: 'user_deactivated',
        initiator: actor,
        reason: 'user_deactivated',
        idpSessionIds: await this.orchestrator.liveSessionIdsOf(ids, tx),
        withBrowser: false,
        // Users inactive already lost their grants, and SSF streams heard account-disabled, then.
        userIds: [...leaving],
        aboutUserIds: ids.filter((id) => !leaving.has(id)),
      });
      return { deactivated, operation };
    });
    this.orchestrator.afterCommit(result.operation);
    return { users, ...result };
  }

  /**
   * Ends every session the user has, as ending each one would (trigger `admin_session`, full SLO, no
   * browser: back-channel deliveries go out through the worker, front-channel ones are skipped). The
   * user stays active and keeps grants that outlive sessions (offline_access), as with one session.
   * With no live session the operation ends nothing and is complete at once; it still names the user.
   */
  async endAllSessions(userId: string, actor: Actor): Promise<StartedLogout> {
    const user = await this.users.get(userId);
    const operation = await this.db.transaction(async (tx) =>
      this.orchestrator.endSessionsIn(tx, {
        trigger: 'admin_session',
        initiator: actor,
        reason: 'admin',
        idpSessionIds: await this.orchestrator.liveSessionIdsOf(user.id, tx),
        withBrowser: false,
        aboutUserIds: [user.id],
      }),
    );
    this.orchestrator.afterCommit(operation);
    return operation;
  }

  /**
   * Ends one IdP session, as an administrator: the user is signed out on that browser and every
   * application in the session is told over its back channel, asynchronously. Null when the session
   * had already ended (nothing to do); a session that never existed is `not_found`.
   */
  async endSession(idpSessionId: string, actor: Actor): Promise<StartedLogout | null> {
    const session = await this.sessions.get(idpSessionId);
    if (!session) throw new SignoffError('not_found', 'No such session.');
    if (session.endedAt) return null;
    return this.orchestrator.endSessions({
      trigger: 'admin_session',
      initiator: actor,
      reason: 'admin',
      idpSessionIds: [idpSessionId],
      withBrowser: false,
    });
  }

  /**
   * Ends one of the user's own sessions, as the user ("My sessions": a browser or device they left
   * signed in): trigger `user_logout`, full SLO, no browser (the device is elsewhere, so its
   * applications are told over their back channels; front-channel ones are skipped). A session that
   * is not the user's is `not_found`, exactly as one that never existed: a user learns nothing about
   * anyone else's sessions. Null when it had already ended.
   */
  async endOwnSession(userId: string, idpSessionId: string): Promise<StartedLogout | null> {
    const session = await this.sessions.get(idpSessionId);
    if (!session || session.userId !== userId) throw new SignoffError('not_found', 'No such session.');
    if (!this.sessions.isLive(session)) return null;
    return this.orchestrator.endSessions({
      trigger: 'user_logout',
      initiator: { type: 'user', id: userId },
      reason: 'logout',
      idpSessionIds: [idpSessionId],
      withBrowser: false,
    });
  }

  /**
   * Lets a deactivated user sign in again (`user.activated`); an active user is left as is. SSF
   * streams are told in the same transaction (RISC account-enabled, trigger `user_activated`).
   */
  async activate(userId: string, actor: Actor): Promise<User> {
    const { user, started } = await this.db.transaction(async (tx) => {
      const { user, activated } = await this.users.activateIn(tx, userId, actor);
      const started = activated
        ? await this.orchestrator.signalIn(tx, { trigger: 'user_activated', initiator: actor, userIds: [userId] })
        : null;
      return { user, started };
    });
    this.orchestrator.afterCommit(started);
    return user;
  }

  /**
   * Changes profile fields and, when `password` is given, the password: the one way a password
   * changes (admin API, CLI, and the user). See `changePassword`.
   */
  async update(
    userId: string,
    changes: UserChanges & { password?: string },
    actor: Actor,
    options: PasswordChangeOptions = {},
  ): Promise<{ user: User; operation: StartedLogout | null }> {
    const { password, ...fields } = changes;
    const passwordHash = password === undefined ? undefined : await this.users.hashNewPassword(password);
    const result = await this.db.transaction(async (tx) => {
      const user = Object.keys(fields).length
        ? await this.users.updateIn(tx, userId, fields, actor)
        : await this.users.getIn(tx, userId);
      const operation =
        passwordHash === undefined ? null : await this.passwordChangedIn(tx, user, passwordHash, actor, options);
      return { user, operation };
    });
    this.orchestrator.afterCommit(result.operation);
    return result;
  }

  /**
   * Sets a new password (refused with 400 when the password policy refuses it) and, in the same
   * transaction, ends the user's sessions through the logout engine — trigger `password_changed`,
   * full SLO, deliveries written to the outbox, tokens revoked by the protocols' bookkeeping — so
   * whoever knew the old password, or holds a session or token obtained with it, is shut out.
   * `keepIdpSessionId`: the session the user changed it from, which lives on.
   */
  async changePassword(
    userId: string,
    password: string,
    actor: Actor,
    options: PasswordChangeOptions = {},
  ): Promise<{ user: User; operation: StartedLogout }> {
    const { user, operation } = await this.update(userId, { password }, actor, options);
    return { user, operation: operation! };
  }

  private async passwordChangedIn(
    tx: EntityManager,
    user: User,
    passwordHash: string,
    actor: Actor,
    options: PasswordChangeOptions,
  ): Promise<StartedLogout> {
    await this.users.setPasswordIn(tx, user, passwordHash, actor);
    const idpSessionIds = (await this.orchestrator.liveSessionIdsOf(user.id, tx)).filter(
      (id) => id !== options.keepIdpSessionId,
    );
    // userIds: every token of the user goes, offline_access ones and those of a kept session included,
    // even when no session is live; a token obtained with the old password is not trusted any more.
    return this.orchestrator.endSessionsIn(tx, {
      trigger: 'password_changed',
      initiator: actor,
      reason: 'password_changed',
      idpSessionIds,
      withBrowser: false,
      userIds: [user.id],
    });
  }
}

export interface PasswordChangeOptions {
  /** The IdP session the user changed their own password from: it is not ended. */
  keepIdpSessionId?: string;
}
