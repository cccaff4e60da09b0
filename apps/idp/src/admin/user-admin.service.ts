import { Injectable } from '@nestjs/common';
import { type Actor, type User, UsersService } from '@signoff/core';
import { IdpSessionsService } from '@signoff/sessions';
import { DataSource } from 'typeorm';

/** Administrative acts that touch more than one lib; shared by the admin API and the CLI. */
@Injectable()
export class UserAdminService {
  constructor(private readonly db: DataSource, private readonly users: UsersService, private readonly sessions: IdpSessionsService) {}

  /** Deactivates the user and ends every session they have, in one transaction. */
  async deactivate(userId: string, actor: Actor): Promise<{ user: User; endedSessions: string[] }> {
    const user = await this.users.get(userId);
    return this.db.transaction(async (tx) => {
      await this.users.deactivateIn(tx, user, actor);
      const endedSessions = await this.sessions.endAllForUser(user.id, 'user_deactivated', actor, tx);
      return { user, endedSessions };
    });
  }
}
