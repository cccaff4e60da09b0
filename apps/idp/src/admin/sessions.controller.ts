import { Controller, Delete, Get, HttpCode, NotFoundException, Param, UseGuards } from '@nestjs/common';
import type { Actor } from '@signoff/core';
import { LogoutOrchestrator } from '@signoff/logout';
import { IdpSessionsService } from '@signoff/sessions';
import { AdminActor, AdminGuard } from './admin.guard';
import { IdParam } from './validation';
import { sessionView } from './views';

@Controller('api/v1/sessions')
@UseGuards(AdminGuard)
export class SessionsController {
  constructor(
    private readonly sessions: IdpSessionsService,
    private readonly orchestrator: LogoutOrchestrator,
  ) {}

  @Get(':id')
  async get(@Param('id', IdParam) id: string) {
    const session = await this.sessions.get(id);
    if (!session) throw new NotFoundException('No such session.');
    return sessionView(session);
  }

  /**
   * Ends an IdP session: the user is signed out on that browser and every application in the session
   * is told over its back channel, asynchronously. Answers at once with the logout operation to watch.
   */
  @Delete(':id')
  @HttpCode(202)
  async end(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    const session = await this.sessions.get(id);
    if (!session) throw new NotFoundException('No such session.');
    const operation = session.endedAt
      ? null
      : await this.orchestrator.endSessions({
          trigger: 'admin_session',
          initiator: actor,
          reason: 'admin',
          idpSessionIds: [id],
          withBrowser: false,
        });
    return {
      session: sessionView((await this.sessions.get(id))!),
      ended: Boolean(operation),
      operationId: operation?.id ?? null,
    };
  }
}
