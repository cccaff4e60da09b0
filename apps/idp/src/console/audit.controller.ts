import { BadRequestException, Controller, Get, HttpStatus, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import { type AuditFilter, AuditService, UsersService } from '@signoff/core';
import { ProvidersAdminService } from '@signoff/providers';
import type { Response } from 'express';
import { pageOf, periodFilter, textFilter } from '../admin/validation';
import { auditPage, type AuditModel } from './audit.pages';
import { Admin, type ConsoleAdmin, ConsoleGuard, SignInFirst } from './console.guard';
import { text } from './forms';

/** The actor filter's word for Signoff itself (the expiry sweeper, the metadata refresh, the CLI's bootstrap). */
const SYSTEM_ACTOR = 'system';

/** The audit log: newest first, filtered by actor, action, target and time, as GET /api/v1/audit-events. */
@Controller('admin/audit')
@UseGuards(ConsoleGuard)
@UseFilters(SignInFirst)
export class ConsoleAuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly users: UsersService,
    private readonly providers: ProvidersAdminService,
  ) {}

  @Get()
  async list(
    @Admin() admin: ConsoleAdmin,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    const page = pageOf(query);
    const filter: AuditModel['filter'] = {
      actor: text(query, 'actor'),
      action: text(query, 'action'),
      target: text(query, 'target'),
      since: text(query, 'since'),
      until: text(query, 'until'),
    };
    const { problem, criteria } = await this.criteria(filter);
    const [{ items, total }, actions, applications] = await Promise.all([
      criteria ? this.audit.list({ ...criteria, ...page }) : { items: [], total: 0 },
      this.audit.actions(),
      this.providers.list(),
    ]);
    const userIds = items.flatMap((event) => [
      ...((event.actorType === 'user' || event.actorType === 'admin') && event.actorId ? [event.actorId] : []),
      ...(event.targetType === 'user' && event.targetId ? [event.targetId] : []),
    ]);
    const model: AuditModel = {
      items,
      total,
      ...page,
      filter,
      actions,
      usernames: await this.users.usernamesOf(userIds),
      applications: new Map(applications.map((app) => [app.id, app.name])),
      problem,
    };
    res
      .status(problem ? HttpStatus.BAD_REQUEST : HttpStatus.OK)
      .type('html')
      .send(auditPage(admin, model));
  }

  /**
   * The filters as AuditService takes them, read by the admin API's own rules (validation.ts: ISO 8601
   * instants, since before until, bounded text), or what is wrong with them.
   */
  private async criteria(filter: AuditModel['filter']): Promise<{ problem?: string; criteria?: AuditFilter }> {
    try {
      const period = periodFilter({ since: filter.since, until: filter.until });
      const action = textFilter({ action: filter.action }, 'action', 64);
      const targetId = textFilter({ target: filter.target }, 'target', 64);
      const actorName = textFilter({ actor: filter.actor }, 'actor', 64);
      if (actorName?.toLowerCase() === SYSTEM_ACTOR)
        return { criteria: { actorType: 'system', action, targetId, ...period } };
      const actor = actorName ? await this.users.findByUsername(actorName) : undefined;
      if (actor === null) return { problem: `No user is named ${actorName}.` };
      return { criteria: { actorId: actor?.id, action, targetId, ...period } };
    } catch (error) {
      if (!(error instanceof BadRequestException)) throw error;
      const message = (error.getResponse() as { message?: unknown }).message;
      return { problem: typeof message === 'string' ? message : error.message };
    }
  }
}
