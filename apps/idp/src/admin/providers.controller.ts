import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import type { Actor } from '@signoff/core';
import { type ProviderChange, type ProviderCreate, ProvidersAdminService } from '@signoff/providers';
import { AdminActor, AdminGuard } from './admin.guard';
import { schemas } from './schemas';
import { IdParam, JsonBody } from './validation';

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

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    await this.providers.remove(id, actor);
  }
}
