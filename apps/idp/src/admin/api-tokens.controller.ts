import { Body, Controller, Delete, Get, Param, Post, Query, UseGuards } from '@nestjs/common';
import { type Actor, Clock } from '@signoff/core';
import { AdminActor, type AdminCaller, AdminGuard, CurrentAdmin } from './admin.guard';
import { type ApiTokenRequest, ApiTokensService } from './api-tokens.service';
import { schemas } from './schemas';
import { IdParam, JsonBody, pageOf } from './validation';
import { apiTokenView } from './views';

/**
 * The admin API's own tokens. Every token carries its administrator's full rights, so every
 * administrator sees and may revoke every token (a leaked one must be stoppable by any of them); a
 * token is created only for the caller.
 */
@Controller('api/v1/api-tokens')
@UseGuards(AdminGuard)
export class ApiTokensController {
  constructor(
    private readonly tokens: ApiTokensService,
    private readonly clock: Clock,
  ) {}

  /** Newest first; `user_id` narrows to one administrator's tokens. */
  @Get()
  async list(@Query() query: Record<string, unknown>) {
    const page = pageOf(query);
    const userId = typeof query.user_id === 'string' ? query.user_id : undefined;
    const { items, total } = await this.tokens.list({ ...page, userId });
    const now = this.clock.now();
    return { items: items.map((token) => apiTokenView(token, now)), total, ...page };
  }

  /** The token itself is in the answer once, and never again. A token cannot create one that outlives it. */
  @Post()
  async create(
    @Body(new JsonBody(schemas.ApiTokenCreate)) body: ApiTokenRequest,
    @CurrentAdmin() caller: AdminCaller,
    @AdminActor() actor: Actor,
  ) {
    const { token, record } = await this.tokens.createFor(caller.user, body, actor, caller.token?.expiresAt ?? null);
    return { token, ...apiTokenView(record, this.clock.now()) };
  }

  @Delete(':id')
  async revoke(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    return apiTokenView(await this.tokens.revoke(id, actor), this.clock.now());
  }
}
