import { Injectable } from '@nestjs/common';
import { type Actor, ProviderSession } from '@signoff/core';
import { type EntityManager, IsNull } from 'typeorm';
import { LogoutOrchestrator, type StartedLogout } from './logout-orchestrator';

/**
 * The engine's part in deleting an application (libs/providers ProvidersAdminService.remove): end the
 * sessions users have at that application, and only those (their IdP sessions and their other
 * applications stay, as an application that is gone should not sign anyone out of anything else),
 * telling the application over its channels. The application's row stays as a tombstone that the
 * deliveries are built from (ProvidersAdminService.remove), and with them the operation's history.
 */
@Injectable()
export class ApplicationLogout {
  constructor(private readonly orchestrator: LogoutOrchestrator) {}

  /**
   * Ends every live provider session of the application, in the caller's transaction, as an
   * administrator's logout (`admin_session`, without a browser: front-channel deliveries are written
   * `skipped`; back-channel ones go out after the commit). Answers the operation, or null when no
   * session was live. Call `afterCommit` once the transaction has committed.
   */
  async endAllIn(tx: EntityManager, providerId: string, initiator: Actor): Promise<StartedLogout | null> {
    const live = await tx.find(ProviderSession, {
      where: { providerId, endedAt: IsNull() },
      select: { id: true },
    });
    if (!live.length) return null;
    return this.orchestrator.endSessionsIn(tx, {
      trigger: 'admin_session',
      initiator,
      reason: 'admin',
      providerSessionIds: live.map((session) => session.id),
      initiatingProviderSessionId: null,
      withBrowser: false,
    });
  }

  /** Hands the committed back-channel deliveries of `started` to the queue (LogoutOrchestrator.afterCommit). */
  afterCommit(started: StartedLogout | null): void {
    this.orchestrator.afterCommit(started);
  }
}
