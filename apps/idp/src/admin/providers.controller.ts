import { BadRequestException, Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { type Actor, AuditService, Clock, Flow, Provider } from '@signoff/core';
import { ClientMetadataError, OidcClientsService, type RegisteredClient } from '@signoff/oidc';
import { parseSpMetadata, type SpFields, spMetadataFromFields, SamlSpsService, type SpImportOptions, SpMetadataError, type SpMetadata } from '@signoff/saml';
import { DataSource } from 'typeorm';
import { AdminActor, AdminGuard } from './admin.guard';
import { schemas } from './schemas';
import { IdParam, JsonBody } from './validation';

interface ProviderInput {
  slug?: string;
  name?: string;
  enabled?: boolean;
  invalidationFlowId?: string | null;
  oidc?: Record<string, unknown>;
  saml?: { metadata?: string } & Partial<SpFields> & Omit<SpImportOptions, 'slug' | 'name'>;
}

/** Applications registered at the IdP. OIDC clients take RFC 7591 metadata under `oidc`; SAML SPs their metadata XML under `saml`. */
@Controller('api/v1/providers')
@UseGuards(AdminGuard)
export class ProvidersController {
  constructor(
    private readonly db: DataSource,
    private readonly clients: OidcClientsService,
    private readonly sps: SamlSpsService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  @Post()
  async create(@Body(new JsonBody(schemas.ProviderCreate)) body: ProviderInput & { protocol: 'oidc' | 'saml' }, @AdminActor() actor: Actor) {
    let providerId: string;
    let clientSecret: string | null = null;
    if (body.protocol === 'saml') {
      const { metadata, entityId, acsUrls, singleLogoutServices, certificates, ...options } = body.saml!;
      const parsed = this.spMetadata(() => metadata !== undefined ? parseSpMetadata(metadata) : spMetadataFromFields({ entityId: entityId!, acsUrls: acsUrls!, singleLogoutServices, certificates }));
      providerId = (await this.sps.import(parsed, { ...options, slug: body.slug, name: body.name }, actor)).providerId;
    } else {
      const registered = await this.clients.register(this.metadata(body.oidc), { slug: body.slug, name: body.name }, actor);
      [providerId, clientSecret] = [registered.client.providerId, registered.clientSecret];
    }
    if (body.invalidationFlowId !== undefined || body.enabled === false) await this.change(providerId, body, actor);
    return { ...(await this.view((await this.db.getRepository(Provider).findOneByOrFail({ id: providerId })))), ...(clientSecret ? { clientSecret } : {}) };
  }

  @Get()
  async list() {
    const providers = await this.db.getRepository(Provider).find({ order: { slug: 'ASC' } });
    return { items: await Promise.all(providers.map((provider) => this.view(provider))) };
  }

  @Get(':id')
  async get(@Param('id', IdParam) id: string) {
    return this.view(await this.find(id));
  }

  @Patch(':id')
  async update(@Param('id', IdParam) id: string, @Body(new JsonBody(schemas.ProviderUpdate)) body: ProviderInput, @AdminActor() actor: Actor) {
    const provider = await this.find(id);
    if (body.oidc !== undefined) {
      if (provider.protocol !== 'oidc') throw new BadRequestException({ message: 'oidc settings apply to OIDC providers only.' });
      // The update itself refuses changes that would change the subs the client was given.
      await this.clients.update(id, this.metadata(body.oidc), actor).catch((error: unknown) => badMetadata(error));
    }
    if (body.saml !== undefined) {
      if (provider.protocol !== 'saml') throw new BadRequestException({ message: 'saml settings apply to SAML providers only.' });
      const { metadata, ...options } = body.saml;
      await this.sps.update(id, metadata === undefined ? null : this.spMetadata(() => parseSpMetadata(metadata)), options, actor);
    }
    await this.change(id, body, actor);
    return this.view(await this.find(id));
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', IdParam) id: string, @AdminActor() actor: Actor) {
    await this.find(id);
    await this.db.getRepository(Provider).delete({ id });
    await this.audit.record({ action: 'provider.deleted', actor, target: { type: 'provider', id } });
  }

  private async change(id: string, body: ProviderInput, actor: Actor) {
    const changes: Partial<Provider> = {};
    if (body.name !== undefined) changes.name = body.name;
    if (body.enabled !== undefined) changes.enabled = body.enabled;
    if (body.invalidationFlowId !== undefined) {
      if (body.invalidationFlowId !== null && !(await this.db.getRepository(Flow).existsBy({ id: body.invalidationFlowId }))) {
        throw new BadRequestException({ message: 'invalidationFlowId names no flow.' });
      }
      changes.invalidationFlowId = body.invalidationFlowId;
    }
    if (!Object.keys(changes).length) return;
    await this.db.getRepository(Provider).update({ id }, { ...changes, updatedAt: this.clock.now() });
    await this.audit.record({ action: 'provider.updated', actor, target: { type: 'provider', id }, details: { changed: Object.keys(changes) } });
  }

  private spMetadata(read: () => SpMetadata): SpMetadata {
    try {
      return read();
    } catch (error) {
      if (error instanceof SpMetadataError) throw new BadRequestException({ message: 'The SP metadata is invalid.', details: [error.message] });
      throw error;
    }
  }

  private metadata(input: unknown) {
    try {
      return this.clients.parse(input);
    } catch (error) {
      return badMetadata(error);
    }
  }

  private async find(id: string): Promise<Provider> {
    const provider = await this.db.getRepository(Provider).findOneBy({ id });
    if (!provider) throw new NotFoundException('No such provider.');
    return provider;
  }

  private async view(provider: Provider) {
    const oidc: RegisteredClient | null = provider.protocol === 'oidc' ? await this.clients.byProviderId(provider.id) : null;
    const saml = provider.protocol === 'saml' ? this.sps.view(await this.sps.byProviderId(provider.id)) : null;
    return {
      id: provider.id, slug: provider.slug, name: provider.name, protocol: provider.protocol, enabled: provider.enabled,
      invalidationFlowId: provider.invalidationFlowId, createdAt: provider.createdAt, updatedAt: provider.updatedAt,
      ...(oidc ? { oidc: this.clients.metadataOf(oidc) } : {}),
      ...(saml ? { saml } : {}),
    };
  }
}

function badMetadata(error: unknown): never {
  if (error instanceof ClientMetadataError) throw new BadRequestException({ message: 'The OIDC client metadata is invalid.', details: [`${error.error}: ${error.description}`] });
  throw error;
}
