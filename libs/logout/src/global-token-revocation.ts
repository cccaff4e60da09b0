import { Inject, Injectable } from '@nestjs/common';
import { type Actor, AuditService, CONFIG, type Config, User, type UserSubject, UsersService } from '@signoff/core';
import { DataSource } from 'typeorm';
import { LogoutOrchestrator, type StartedLogout } from './logout-orchestrator';

/**
 * Global Token Revocation (draft-parecki-oauth-global-token-revocation §3.3): a trusted party names a
 * user, and everything of theirs ends. Every refresh token goes, offline_access ones included (the
 * draft's Appendix A.3: unlike a logout), every access token too, and every IdP session, through the
 * logout engine (trigger `global_revocation`, full SLO): the user must sign in again before anything
 * new is issued, and every application they were signed in to is told.
 */
@Injectable()
export class GlobalTokenRevocation {
  constructor(
    private readonly db: DataSource,
    private readonly users: UsersService,
    private readonly orchestrator: LogoutOrchestrator,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /**
   * Ends everything of the users `subject` names (an email may name several accounts). Null when it
   * names none. In one transaction: the sessions, the tokens, the outbox rows and the audit event.
   * `tokenId`: the API token that asked, for the audit trail.
   */
  async revoke(subject: UserSubject, actor: Actor, tokenId: string | null = null): Promise<StartedLogout | null> {
    // The issuer is the public URL (OIDC Discovery: `iss` in every token Signoff signs).
    const users = await this.users.findBySubject(subject, this.config.publicUrl);
    if (!users.length) return null;
    const userIds = users.map((user) => user.id);
    const operation = await this.db.transaction(async (tx) => {
      // A grant under way holds the user's row (shared, PostgreSQL): waiting for it means a token it
      // issues is revoked below, and a grant that comes after finds its session and token gone.
      if (tx.connection.options.type === 'postgres')
        await tx.createQueryBuilder(User, 'user').setLock('pessimistic_write').whereInIds(userIds).getMany();
      const started = await this.orchestrator.endSessionsIn(tx, {
        trigger: 'global_revocation',
        initiator: actor,
        reason: 'global_revocation',
        idpSessionIds: await this.orchestrator.liveSessionIdsOf(userIds, tx),
        withBrowser: false,
        // Every grant of these users, even with no session live: the draft's point is the tokens.
        userIds,
      });
      await this.audit.recordMany(
        userIds.map((id) => ({
          action: 'user.tokens_revoked',
          actor,
          target: { type: 'user' as const, id },
          details: { via: 'global_token_revocation', subjectFormat: subject.format, operation: started.id, tokenId },
        })),
        tx,
      );
      return started;
    });
    this.orchestrator.afterCommit(operation);
    return operation;
  }
}
