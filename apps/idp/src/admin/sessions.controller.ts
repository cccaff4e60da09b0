import { Controller, Delete, Get, NotFoundException, Param, UseGuards } from '@nestjs/common';
import type { Actor } from '@signoff/core';
import { IdpSessionsService } from '@signoff/sessions';
import { AdminActor, AdminGuard } from './admin.guard';
import { IdParam } from './validation';
import { sessionView } from './views';

@Controller('api/v1/sessions')
@UseGuards(AdminGuard)
export class SessionsController {
  constructor(private readonly sessions: IdpSessionsService) {}

  @Get(':id')
  async get(@Param('id', IdParam) id: string) {
    const session = await this.sessions.get(id);
    if (!session) throw new NotFoundException('No such session.');
    return sessionView(session);
  }

  /** Ends an IdP session: the user is signed out of Signoff on that browser. Ending an ended one changes nothing. */
  @Delete(':id')
  async end(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    if (!(await this.sessions.get(id))) throw new NotFoundException('No such session.');
    const ended = await this.sessions.end([id], 'admin', actor);
    return { session: sessionView((await this.sessions.get(id))!), ended: ended.length === 1 };
  }
}
