import { Controller, Get, HttpStatus, Param, Post, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import { UsersService } from '@signoff/core';
import { ProvidersAdminService } from '@signoff/providers';
import { IdpSessionsService } from '@signoff/sessions';
import type { Response } from 'express';
import { UserAdminService } from '../admin/user-admin.service';
import { IdParam, pageOf } from '../admin/validation';
import { Admin, type ConsoleAdmin, ConsoleGuard, SignInFirst } from './console.guard';
import { text } from './forms';
import { sessionsPage } from './sessions.pages';

/** Every live IdP session, filterable by user and application; ending one shows its logout. */
@Controller('admin/sessions')
@UseGuards(ConsoleGuard)
@UseFilters(SignInFirst)
export class ConsoleSessionsController {
  constructor(
    private readonly sessions: IdpSessionsService,
    private readonly users: UsersService,
    private readonly providers: ProvidersAdminService,
    private readonly admin: UserAdminService,
  ) {}

  @Get()
  async list(
    @Admin() admin: ConsoleAdmin,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    const page = pageOf(query);
    const username = text(query, 'user');
    const application = text(query, 'application');
    const filteredUser = username ? await this.users.findByUsername(username) : undefined;
    const applications = await this.providers.list();
    const known = !application || applications.some((app) => app.id === application);
    const { items, total } =
      filteredUser === null || !known
        ? { items: [], total: 0 }
        : await this.sessions.listLive({ userId: filteredUser?.id, providerId: application }, page);
    res.type('html').send(
      sessionsPage(admin, {
        items,
        total,
        ...page,
        filter: { user: username, application },
        filteredUser: filteredUser && { id: filteredUser.id, username: filteredUser.username },
        applications,
      }),
    );
  }

  /** Ends one session: the user is signed out of that browser, and its applications are told over their back channels. */
  @Post(':id/end')
  async end(@Admin() admin: ConsoleAdmin, @Param('id', IdParam) id: string, @Res() res: Response): Promise<void> {
    const operation = await this.admin.endSession(id, admin.actor);
    if (operation) return res.redirect(HttpStatus.SEE_OTHER, `/admin/logouts/${operation.id}`);
    res.redirect(HttpStatus.SEE_OTHER, `/admin/users/${(await this.sessions.get(id))!.userId}`);
  }
}
