import { Injectable } from '@nestjs/common';
import { type Actor, AuditService, Clock, type ErrorCode, Flow, Provider, SignoffError } from '@signoff/core';
import { ClientMetadataError, type ClientMetadata, OidcClientsService, type RegisteredClient } from '@signoff/oidc';
import {
  parseSpMetadata,
  type RegisteredSp,
  SamlSpsService,
  type SpFields,
  type SpImportOptions,
  type SpMetadata,
  SpMetadataError,
  spMetadataFromFields,
} from '@signoff/saml';
import { DataSource } from 'typeorm';

/** Why a provider administration request was refused; each caller (admin API, CLI, console) maps it to its own answer. */
export type ProviderAdminRefusal =
  /** No provider has the id (the API answers 404). */
  | 'no_such_provider'
  /** `oidc` settings for a SAML provider, or `saml` settings for an OIDC one. */
  | 'wrong_protocol'
  /** The OIDC client metadata fails RFC 7591's rules (or would change the subs the client was given); `details` has `error: description`. */
  | 'invalid_oidc_metadata'
  /** The SP metadata (XML or fields) cannot be read; `details` says why. */
  | 'invalid_saml_metadata'
  /** invalidationFlowId names no flow. */
  | 'no_such_flow';

const CODES: Record<ProviderAdminRefusal, ErrorCode> = {
  no_such_provider: 'not_found',
  wrong_protocol: 'invalid_request',
  invalid_oidc_metadata: 'invalid_client_metadata',
  invalid_saml_metadata: 'invalid_sp_metadata',
  no_such_flow: 'invalid_request',
};

/**
 * A refused provider administration request: a SignoffError (404 for an unknown provider, else 400)
 * whose `reason` says which refusal it is, for callers that answer in their own way (the CLI).
 * Refusals raised by the protocol libraries themselves (a slug or entityID already taken, SP settings
 * logout could not use) are SignoffErrors of their own and pass through unchanged.
 */
export class ProviderAdminError extends SignoffError {
  declare readonly details?: string[];

  constructor(
    readonly reason: ProviderAdminRefusal,
    message: string,
    details?: string[],
  ) {
    super(CODES[reason], message, details);
    this.name = 'ProviderAdminError';
  }
}

/** SAML settings as given at registration: the metadata XML (or fields, for an SP that publishes none) and the administrator's choices. */
export type SamlProviderInput = {
  /** The SP's metadata XML, or metadata the caller has already read with `parseSpMetadata` (the CLI, which reports a bad file its own way). */
  metadata?: string | SpMetadata;
} & Partial<SpFields> &
  Omit<SpImportOptions, 'slug' | 'name'>;

/** SAML settings as changed later: new metadata XML (same entityID) and/or changed choices; the rest is kept. */
export type SamlProviderChange = { metadata?: string } & Omit<SpImportOptions, 'slug' | 'name'>;

/** The provider settings common to both protocols. */
export interface ProviderSettings {
  name?: string;
  enabled?: boolean;
  /** The flow run when this provider starts a logout; null: the default. */
  invalidationFlowId?: string | null;
}

/** A new provider, as the admin API takes it: OIDC clients with RFC 7591 metadata under `oidc`, SAML SPs with their metadata under `saml`. */
export interface ProviderCreate extends ProviderSettings {
  protocol: 'oidc' | 'saml';
  slug?: string;
  /** Raw RFC 7591 client metadata; validated here. */
  oidc?: unknown;
  saml?: SamlProviderInput;
}

/** A change to a provider, as the admin API takes it. */
export interface ProviderChange extends ProviderSettings {
  /** The client's full new metadata (raw, RFC 7591); OIDC providers only. */
  oidc?: unknown;
  saml?: SamlProviderChange;
}

/** What the admin API shows of a provider: its columns plus its protocol's settings. */
export interface ProviderView {
  id: string;
  slug: string;
  name: string;
  protocol: Provider['protocol'];
  enabled: boolean;
  invalidationFlowId: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** The client's registered metadata, as RFC 7591 returns it (OIDC providers). */
  oidc?: Record<string, unknown>;
  /** The SP's settings and warnings (SAML providers). */
  saml?: ReturnType<SamlSpsService['view']>;
}

/** A new provider's view, with the client secret (shown this once) of a confidential OIDC client. */
export type CreatedProviderView = ProviderView & { clientSecret?: string };

/** The outcome of {@link ProvidersAdminService.create}: the view the admin API answers with, and the registered row for callers that report it their own way. */
export type ProviderCreated =
  | { protocol: 'oidc'; view: CreatedProviderView; client: RegisteredClient; clientSecret: string | null }
  | { protocol: 'saml'; view: CreatedProviderView; sp: RegisteredSp };

/**
 * Administration of providers (OIDC clients and SAML SPs), shared by the admin API, the CLI and the
 * admin console: registration, listing, lookup with the protocol's settings, changes (with the
 * invalidation flow check) and deletion. Protocol work is done by OidcClientsService and
 * SamlSpsService; refusals are ProviderAdminErrors.
 */
@Injectable()
export class ProvidersAdminService {
  constructor(
    private readonly db: DataSource,
    private readonly clients: OidcClientsService,
    private readonly sps: SamlSpsService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  /**
   * Registers an OIDC client or a SAML SP, then applies `enabled: false` and `invalidationFlowId`
   * when given (as a change after the registration, audited as `provider.updated`).
   */
  create(
    input: ProviderCreate & { protocol: 'oidc' },
    actor: Actor,
  ): Promise<Extract<ProviderCreated, { protocol: 'oidc' }>>;
  create(
    input: ProviderCreate & { protocol: 'saml' },
    actor: Actor,
  ): Promise<Extract<ProviderCreated, { protocol: 'saml' }>>;
  create(input: ProviderCreate, actor: Actor): Promise<ProviderCreated>;
  async create(input: ProviderCreate, actor: Actor): Promise<ProviderCreated> {
    let created:
      | { protocol: 'oidc'; client: RegisteredClient; clientSecret: string | null }
      | { protocol: 'saml'; sp: RegisteredSp };
    if (input.protocol === 'saml') {
      const { metadata, entityId, acsUrls, singleLogoutServices, certificates, ...options } = input.saml!;
      const parsed =
        typeof metadata === 'object'
          ? metadata
          : spMetadata(() =>
              metadata !== undefined
                ? parseSpMetadata(metadata)
                : spMetadataFromFields({ entityId: entityId!, acsUrls: acsUrls!, singleLogoutServices, certificates }),
            );
      created = {
        protocol: 'saml',
        sp: await this.sps.import(parsed, { ...options, slug: input.slug, name: input.name }, actor),
      };
    } else {
      const { client, clientSecret } = await this.clients.register(
        this.oidcMetadata(input.oidc),
        { slug: input.slug, name: input.name },
        actor,
      );
      created = { protocol: 'oidc', client, clientSecret };
    }
    const providerId = created.protocol === 'saml' ? created.sp.providerId : created.client.providerId;
    if (input.invalidationFlowId !== undefined || input.enabled === false) await this.change(providerId, input, actor);
    const clientSecret = created.protocol === 'oidc' ? created.clientSecret : null;
    const view = {
      ...(await this.view(await this.db.getRepository(Provider).findOneByOrFail({ id: providerId }))),
      ...(clientSecret ? { clientSecret } : {}),
    };
    return { ...created, view };
  }

  /** Every provider, by slug. */
  async list(): Promise<ProviderView[]> {
    const providers = await this.db.getRepository(Provider).find({ order: { slug: 'ASC' } });
    return Promise.all(providers.map((provider) => this.view(provider)));
  }

  /** One provider with its protocol's settings; refuses `no_such_provider`. */
  async get(id: string): Promise<ProviderView> {
    return this.view(await this.find(id));
  }

  /**
   * Changes a provider: its protocol's settings (OIDC metadata, whose update refuses changes that
   * would change the subs the client was given; SAML metadata and/or choices), then its name,
   * enabled flag and invalidation flow. Refuses `no_such_provider`, `wrong_protocol`,
   * `invalid_oidc_metadata`, `invalid_saml_metadata` and `no_such_flow`.
   */
  async update(id: string, input: ProviderChange, actor: Actor): Promise<ProviderView> {
    const provider = await this.find(id);
    if (input.oidc !== undefined) {
      if (provider.protocol !== 'oidc')
        throw new ProviderAdminError('wrong_protocol', 'oidc settings apply to OIDC providers only.');
      await this.clients
        .update(id, this.oidcMetadata(input.oidc), actor)
        .catch((error: unknown) => badOidcMetadata(error));
    }
    if (input.saml !== undefined) {
      if (provider.protocol !== 'saml')
        throw new ProviderAdminError('wrong_protocol', 'saml settings apply to SAML providers only.');
      const { metadata, ...options } = input.saml;
      await this.sps.update(
        id,
        metadata === undefined ? null : spMetadata(() => parseSpMetadata(metadata)),
        options,
        actor,
      );
    }
    await this.change(id, input, actor);
    return this.view(await this.find(id));
  }

  /** Deletes a provider (its client or SP row goes with it); refuses `no_such_provider`. Audited as `provider.deleted`. */
  async remove(id: string, actor: Actor): Promise<void> {
    await this.find(id);
    await this.db.getRepository(Provider).delete({ id });
    await this.audit.record({ action: 'provider.deleted', actor, target: { type: 'provider', id } });
  }

  /** Applies name, enabled and invalidationFlowId when given (the flow must exist); audited as `provider.updated` with the names of the changed columns. */
  private async change(id: string, input: ProviderSettings, actor: Actor): Promise<void> {
    const changes: Partial<Provider> = {};
    if (input.name !== undefined) changes.name = input.name;
    if (input.enabled !== undefined) changes.enabled = input.enabled;
    if (input.invalidationFlowId !== undefined) {
      if (
        input.invalidationFlowId !== null &&
        !(await this.db.getRepository(Flow).existsBy({ id: input.invalidationFlowId }))
      ) {
        throw new ProviderAdminError('no_such_flow', 'invalidationFlowId names no flow.');
      }
      changes.invalidationFlowId = input.invalidationFlowId;
    }
    if (!Object.keys(changes).length) return;
    await this.db.getRepository(Provider).update({ id }, { ...changes, updatedAt: this.clock.now() });
    await this.audit.record({
      action: 'provider.updated',
      actor,
      target: { type: 'provider', id },
      details: { changed: Object.keys(changes) },
    });
  }

  private oidcMetadata(input: unknown): ClientMetadata {
    try {
      return this.clients.parse(input);
    } catch (error) {
      return badOidcMetadata(error);
    }
  }

  private async find(id: string): Promise<Provider> {
    const provider = await this.db.getRepository(Provider).findOneBy({ id });
    if (!provider) throw new ProviderAdminError('no_such_provider', 'No such provider.');
    return provider;
  }

  private async view(provider: Provider): Promise<ProviderView> {
    const oidc = provider.protocol === 'oidc' ? await this.clients.byProviderId(provider.id) : null;
    const saml = provider.protocol === 'saml' ? this.sps.view(await this.sps.byProviderId(provider.id)) : null;
    return {
      id: provider.id,
      slug: provider.slug,
      name: provider.name,
      protocol: provider.protocol,
      enabled: provider.enabled,
      invalidationFlowId: provider.invalidationFlowId,
      createdAt: provider.createdAt,
      updatedAt: provider.updatedAt,
      ...(oidc ? { oidc: this.clients.metadataOf(oidc) } : {}),
      ...(saml ? { saml } : {}),
    };
  }
}

function spMetadata(read: () => SpMetadata): SpMetadata {
  try {
    return read();
  } catch (error) {
    if (error instanceof SpMetadataError)
      throw new ProviderAdminError('invalid_saml_metadata', 'The SP metadata is invalid.', [error.message]);
    throw error;
  }
}

function badOidcMetadata(error: unknown): never {
  if (error instanceof ClientMetadataError)
    throw new ProviderAdminError('invalid_oidc_metadata', 'The OIDC client metadata is invalid.', [
      `${error.error}: ${error.description}`,
    ]);
  throw error;
}
