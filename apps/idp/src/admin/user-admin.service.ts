import { Injectable } from '@nestjs/common';
import { type Actor, type LogoutOperation, type User, UsersService } from '@signoff/core';
import { LogoutOrchestrator } from '@signoff/logout';
import { DataSource } from 'typeorm';

/** Administrative acts that touch more than one lib; shared by the admin API and the CLI. */
@Injectable()
export class UserAdminService {
  constructor(private readonly db: DataSource, private readonly users: UsersService, private readonly orchestrator: LogoutOrchestrator) {}

  /**
   * Deactivates the user and, in the same transaction, ends every session they have and writes the
   * deliveries that tell their applications; those go out asynchronously through the worker.
   */
  async deactivate(userId: string, actor: Actor): Promise<{ user: User; operation: LogoutOperation }> {
    const user = await this.users.get(userId);
    const operation = await this.db.transaction(async (tx) => {
      await this.users.deactivateIn(tx, user, actor);
      const idpSessionIds = await this.orchestrator.liveSessionIdsOf(user.id, tx);
      return this.orchestrator.endSessionsIn(tx, { trigger: 'user_deactivated', initiator: actor, reason: 'user_deactivated', idpSessionIds, withBrowser: false });
    });
    this.orchestrator.afterCommit();
    return { user, operation };
  }
}
