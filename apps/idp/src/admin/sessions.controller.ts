import { Controller, Delete, Get, HttpCode, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
import type { Actor } from '@signoff/core';
import { IdpSessionsService } from '@signoff/sessions';
import { AdminActor, AdminGuard } from './admin.guard';
import { UserAdminService } from './user-admin.service';
import { IdParam, idFilter, pageOf } from './validation';
import { liveSessionView, sessionView } from './views';

@Controller('api/v1/sessions')
@UseGuards(AdminGuard)
export class SessionsController {
  constructor(
    private readonly sessions: IdpSessionsService,
    private readonly admin: UserAdminService,
  ) {}

  /** Every live session, most recently seen first; filters: user_id, provider_id (sessions signed in to that application). */
  @Get()
  async list(@Query() query: Record<string, unknown>) {
    const page = pageOf(query);
    const filter = { userId: idFilter(query, 'user_id'), providerId: idFilter(query, 'provider_id') };
    const { items, total } = await this.sessions.listLive(filter, page);
    return { items: items.map(liveSessionView), total, ...page };
  }

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
    const operation = await this.admin.endSession(id, actor);
    return {
      session: sessionView((await this.sessions.get(id))!),
      ended: Boolean(operation),
      operationId: operation?.id ?? null,
    };
  }
}
