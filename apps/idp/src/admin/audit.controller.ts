import { Controller, Get, Query, Req, UseGuards } from '@nestjs/common';
import { ACTOR_TYPES, AuditService, type User } from '@signoff/core';
import type { Request } from 'express';
import { BrowserService } from '../http/browser.service';
import { AdminGuard, CurrentAdmin } from './admin.guard';
import { enumFilter, idFilter, pageOf, periodFilter, textFilter } from './validation';
import { userView } from './views';

@Controller('api/v1')
@UseGuards(AdminGuard)
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly browser: BrowserService,
  ) {}

  /** Newest first; filters: action, target_id, actor_id, actor_type, since, until (the list convention of validation.ts). */
  @Get('audit-events')
  async list(@Query() query: Record<string, unknown>) {
    const page = pageOf(query);
    const filter = {
      action: textFilter(query, 'action', 64),
      targetId: textFilter(query, 'target_id', 64),
      actorId: idFilter(query, 'actor_id'),
      actorType: enumFilter(query, 'actor_type', ACTOR_TYPES),
      ...periodFilter(query),
    };
    const { items, total } = await this.audit.list({ ...page, ...filter });
    return { items, total, ...page };
  }

  /** Who is calling; for a browser session, also the CSRF token its changes must send in X-CSRF-Token. */
  @Get('me')
  me(@CurrentAdmin() admin: { user: User; viaCookie: boolean }, @Req() req: Request) {
    const browserId = admin.viaCookie ? this.browser.read(req) : null;
    return { user: userView(admin.user), ...(browserId ? { csrfToken: this.browser.csrfToken(browserId) } : {}) };
  }
}
