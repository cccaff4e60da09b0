import { Controller, Get, Query, Req, UseGuards } from '@nestjs/common';
import { AuditService, type User } from '@signoff/core';
import type { Request } from 'express';
import { BrowserService } from '../http/browser.service';
import { AdminGuard, CurrentAdmin } from './admin.guard';
import { pageOf } from './validation';
import { userView } from './views';

@Controller('api/v1')
@UseGuards(AdminGuard)
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly browser: BrowserService,
  ) {}

  /** Newest first; filter by `action` or `target_id`. */
  @Get('audit-events')
  async list(@Query() query: Record<string, unknown>) {
    const page = pageOf(query);
    const filter = {
      action: typeof query.action === 'string' ? query.action : undefined,
      targetId: typeof query.target_id === 'string' ? query.target_id : undefined,
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
