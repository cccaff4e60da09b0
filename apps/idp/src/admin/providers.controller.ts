import { BadRequestException, Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, Patch, Post, UseGuards } from '@nestjs/common';
import type { Actor } from '@signoff/core';
import { type ProviderChange, type ProviderCreate, ProviderAdminError, ProvidersAdminService } from '@signoff/providers';
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
    return (await answer(this.providers.create(body, actor))).view;
  }

  @Get()
  async list() {
    return { items: await this.providers.list() };
  }

  @Get(':id')
  get(@Param('id', IdParam) id: string) {
    return answer(this.providers.get(id));
  }

  @Patch(':id')
  update(@Param('id', IdParam) id: string, @Body(new JsonBody(schemas.ProviderUpdate)) body: ProviderChange, @AdminActor() actor: Actor) {
    return answer(this.providers.update(id, body, actor));
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    await answer(this.providers.remove(id, actor));
  }
}

/** The service's result, or its refusal as the HTTP error the API has always answered with: 404 for an unknown provider, else 400. */
async function answer<T>(outcome: Promise<T>): Promise<T> {
  try {
    return await outcome;
  } catch (error) {
    if (!(error instanceof ProviderAdminError)) throw error;
    if (error.reason === 'no_such_provider') throw new NotFoundException(error.message);
    throw new BadRequestException({ message: error.message, ...(error.details ? { details: error.details } : {}) });
  }
}
