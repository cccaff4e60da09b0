import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res, UseGuards } from '@nestjs/common';
import type { Actor } from '@signoff/core';
import { type ProviderChange, type ProviderCreate, ProvidersAdminService } from '@signoff/providers';
import type { Response } from 'express';
import { AdminActor, AdminGuard } from './admin.guard';
import { schemas } from './schemas';
import { enumFilter, IdParam, JsonBody } from './validation';

/** Applications registered at the IdP. OIDC clients take RFC 7591 metadata under `oidc`; SAML SPs their metadata XML under `saml`. */
@Controller('api/v1/providers')
@UseGuards(AdminGuard)
export class ProvidersController {
  constructor(private readonly providers: ProvidersAdminService) {}

  @Post()
  async create(@Body(new JsonBody(schemas.ProviderCreate)) body: ProviderCreate, @AdminActor() actor: Actor) {
    return (await this.providers.create(body, actor)).view;
  }

  @Get()
  async list() {
    return { items: await this.providers.list() };
  }

  @Get(':id')
  get(@Param('id', IdParam) id: string) {
    return this.providers.get(id);
  }

  @Patch(':id')
  update(
    @Param('id', IdParam) id: string,
    @Body(new JsonBody(schemas.ProviderUpdate)) body: ProviderChange,
    @AdminActor() actor: Actor,
  ) {
    return this.providers.update(id, body, actor);
  }

  /** Fetches a SAML SP's metadata from its metadataUrl now and applies what changed; answers what changed and the provider. */
  @Post(':id/refresh-metadata')
  @HttpCode(200)
  refreshMetadata(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    return this.providers.refreshMetadata(id, actor);
  }

  /** A confidential OIDC client's new secret, shown this once; the old one stops working at once. */
  @Post(':id/rotate-secret')
  @HttpCode(200)
  rotateSecret(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    return this.providers.rotateSecret(id, actor);
  }

  /**
   * Deletes an application. With live sessions, only with `end_sessions=true` (else 409
   * provider_has_sessions): those sessions are logged out through the engine first, and the answer
   * is 202 with the operation to watch; with none, 204.
   */
  @Delete(':id')
  async remove(
    @Param('id', IdParam) id: string,
    @Query() query: Record<string, unknown>,
    @AdminActor() actor: Actor,
    @Res({ passthrough: true }) res: Response,
  ) {
    const endSessions = enumFilter(query, 'end_sessions', ['true', 'false']) === 'true';
    const removal = await this.providers.remove(id, actor, { endSessions });
    if (!removal.operationId) {
      res.status(204);
      return;
    }
    res.status(202);
    return removal;
  }
}
