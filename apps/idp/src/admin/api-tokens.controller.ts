import { BadRequestException, Body, Controller, Delete, Get, Param, Post, Query, UseGuards } from '@nestjs/common';
import { type Actor, Clock, parseDuration } from '@signoff/core';
import { AdminActor, type AdminCaller, AdminGuard, CurrentAdmin } from './admin.guard';
import { ApiTokensService } from './api-tokens.service';
import { schemas } from './schemas';
import { IdParam, JsonBody, pageOf } from './validation';
import { apiTokenView } from './views';

interface ApiTokenCreate {
  name: string;
  expiresIn?: string;
  expiresAt?: string;
}

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
    @Body(new JsonBody(schemas.ApiTokenCreate)) body: ApiTokenCreate,
    @CurrentAdmin() caller: AdminCaller,
    @AdminActor() actor: Actor,
  ) {
    const { token, record } = await this.tokens.create(
      caller.user,
      body.name,
      this.lifetimeOf(body),
      actor,
      caller.token?.expiresAt ?? null,
    );
    return { token, ...apiTokenView(record, this.clock.now()) };
  }

  @Delete(':id')
  async revoke(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    return apiTokenView(await this.tokens.revoke(id, actor), this.clock.now());
  }

  private lifetimeOf(body: ApiTokenCreate): number | null {
    if (body.expiresIn !== undefined) {
      const ms = parseDuration(body.expiresIn);
      if (!ms)
        throw new BadRequestException({
          message: 'The request body is invalid.',
          details: ['expiresIn: must be a duration such as 90d or 12h'],
        });
      return ms;
    }
    if (body.expiresAt !== undefined) return new Date(body.expiresAt).getTime() - this.clock.now().getTime();
    return null;
  }
}
