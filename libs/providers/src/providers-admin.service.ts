import { Injectable } from '@nestjs/common';
import {
  type Actor,
  APPLICATION_PROTOCOLS,
  AuditService,
  Clock,
  type ErrorCode,
  Flow,
  Provider,
  ProviderSession,
  SignoffError,
  SLUG_LENGTH,
  tombstoneValue,
} from '@signoff/core';
import { FlowsService } from '@signoff/flows';
import { ApplicationLogout } from '@signoff/logout';
import {
  CLIENT_ID_PATTERN,
  ClientMetadataError,
  type ClientMetadata,
  OidcClientsService,
  type RegisteredClient,
} from '@signoff/oidc';
import {
  type FetchedSpMetadata,
  logoutDefaultWarnings,
  type MetadataSource,
  parseSpMetadata,
  pinnedCertificate,
  type RegisteredSp,
  type RequestedAttribute,
  SamlSpsService,
  type SpFields,
  type SpImportOptions,
  type SpMetadata,
  type SpMetadataChanges,
  SpMetadataError,
  spMetadataFromFields,
  SpMetadataRefresh,
  SpMetadataSource,
} from '@signoff/saml';
import { DataSource, type EntityManager, In, IsNull } from 'typeorm';

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
  /**
   * Instead of metadata: where to fetch it from (through the outbound policy), then refreshed from
   * there by the worker. With metadataSigningCertificate (PEM or base64 DER), the document must be
   * signed by exactly that certificate.
   */
  metadataUrl?: string;
  metadataSigningCertificate?: string;
} & Partial<SpFields> &
  Omit<SpImportOptions, 'slug' | 'name' | 'metadataSource'>;

/**
 * SAML settings as changed later: new metadata XML (same entityID) and/or changed choices; the rest is
 * kept. A metadataUrl or metadataSigningCertificate given fetches the metadata again now (same
 * entityID); `metadataUrl: null` stops fetching it (the metadata stays, or `metadata` replaces it).
 */
export type SamlProviderChange = {
  metadata?: string;
  metadataUrl?: string | null;
  metadataSigningCertificate?: string | null;
} & Omit<SpImportOptions, 'slug' | 'name' | 'metadataSource'>;

/** The provider settings common to both protocols. */
export interface ProviderSettings {
  name?: string;
  enabled?: boolean;
  /** The flow run when this provider starts a logout; null: the default. */
  invalidationFlowId?: string | null;
  /**
   * Binds invalidationFlowId even though that flow ends no session (no user_logout or provider_logout
   * stage): without it such a binding is refused with `flow_ends_no_session` (409).
   */
  confirmEndsNoSession?: boolean;
}

/** A new provider, as the admin API takes it: OIDC clients with RFC 7591 metadata under `oidc`, SAML SPs with their metadata under `saml`. */
export interface ProviderCreate extends ProviderSettings {
  protocol: 'oidc' | 'saml';
  slug?: string;
  /**
   * Raw RFC 7591 client metadata; validated here. Its `client_id`, when given, is the administrator's
   * choice of client_id (1–128 RFC 3986 unreserved characters, unique: `conflict` otherwise); else a
   * random one is made.
   */
  oidc?: unknown;
  saml?: SamlProviderInput;
  /** OIDC only: ask users for consent before the first code (default false: an administrator's client is first-party). */
  consentRequired?: boolean;
}

/** A change to a provider, as the admin API takes it. */
export interface ProviderChange extends ProviderSettings {
  /** The client's full new metadata (raw, RFC 7591); OIDC providers only. A `client_id` in it must be the client's own: it cannot change. */
  oidc?: unknown;
  saml?: SamlProviderChange;
  /** OIDC only: whether users are asked for consent (false: a first-party client). */
  consentRequired?: boolean;
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
  /** How many sessions users have at this application now (live provider sessions): what deleting it would end. */
  liveSessions: number;
  /** The client's registered metadata, as RFC 7591 returns it (OIDC providers). */
  oidc?: Record<string, unknown>;
  /** Whether users are asked for consent before the client gets a code (OIDC providers; true for clients registered through /oauth2/register). */
  consentRequired?: boolean;
  /** The SP's settings and warnings (SAML providers). */
  saml?: ReturnType<SamlSpsService['view']>;
}

/** What deleting an application did: the logout operation that ended its live sessions (null: none was live) and how many it ended. */
export interface ProviderRemoval {
  operationId: string | null;
  endedSessions: number;
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
    private readonly metadataSource: SpMetadataSource,
    private readonly metadataRefresh: SpMetadataRefresh,
    private readonly flows: FlowsService,
    private readonly applicationLogout: ApplicationLogout,
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
    let requested: RequestedAttribute[] | undefined; // the SP metadata's RequestedAttributes: hints in this answer only
    await this.checkFlow(input); // before registering: a refused flow must leave no application behind
    if (input.protocol === 'saml') {
      if (input.consentRequired !== undefined)
        throw new ProviderAdminError('wrong_protocol', 'consentRequired applies to OIDC providers only.');
      const {
        metadata,
        metadataUrl,
        metadataSigningCertificate,
        entityId,
        acsUrls,
        singleLogoutServices,
        certificates,
        ...options
      } = input.saml!;
      const source =
        metadataUrl === undefined ? undefined : this.sourceOf(metadataUrl, metadataSigningCertificate ?? null);
      if (!source && metadataSigningCertificate !== undefined)
        throw new SignoffError('invalid_request', 'metadataSigningCertificate goes with metadataUrl.');
      if (source && (metadata !== undefined || entityId !== undefined || acsUrls !== undefined))
        throw new SignoffError('invalid_request', 'Give the SP as metadata, metadataUrl or fields: one of them.');
      const fetched = source ? await this.metadataSource.fetch(source) : null;
      const parsed =
        fetched?.metadata ??
        (typeof metadata === 'object'
          ? metadata
          : spMetadata(() =>
              metadata !== undefined
                ? parseSpMetadata(metadata)
                : spMetadataFromFields({ entityId: entityId!, acsUrls: acsUrls!, singleLogoutServices, certificates }),
            ));
      requested = parsed.requestedAttributes;
      const sp = await this.sps.import(
        parsed,
        { ...options, metadataSource: source, slug: input.slug, name: input.name },
        actor,
      );
      if (fetched) await this.metadataRefresh.scheduleNext(sp.providerId, fetched.cacheDurationMs, false);
      created = { protocol: 'saml', sp };
    } else {
      const { client, clientSecret } = await this.clients.register(
        this.oidcMetadata(input.oidc),
        {
          slug: input.slug,
          name: input.name,
          clientId: chosenClientId(input.oidc),
          consentRequired: input.consentRequired,
        },
        actor,
      );
      created = { protocol: 'oidc', client, clientSecret };
    }
    const providerId = created.protocol === 'saml' ? created.sp.providerId : created.client.providerId;
    if (input.invalidationFlowId !== undefined || input.enabled === false) await this.change(providerId, input, actor);
    const clientSecret = created.protocol === 'oidc' ? created.clientSecret : null;
    const view = {
      ...(await this.view(await this.db.getRepository(Provider).findOneByOrFail({ id: providerId }), requested)),
      ...(clientSecret ? { clientSecret } : {}),
    };
    // The registration's answer also says what a default it chose cannot do (a front-channel-only SP).
    if (created.protocol === 'saml' && view.saml)
      view.saml.warnings.push(...logoutDefaultWarnings(created.sp, input.saml!.logoutMethod !== undefined));
    return { ...created, view };
  }

  /** Every provider, by slug (not deleted ones: their tombstones stay hidden). */
  async list(): Promise<ProviderView[]> {
    const providers = await this.db
      .getRepository(Provider)
      .find({ where: { deletedAt: IsNull(), protocol: In(APPLICATION_PROTOCOLS) }, order: { slug: 'ASC' } });
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
   * `invalid_oidc_metadata`, `invalid_saml_metadata`, `no_such_flow`, and `flow_ends_no_session` for
   * a flow with no logout stage unless `confirmEndsNoSession` (checked first: nothing changes then).
   */
  async update(id: string, input: ProviderChange, actor: Actor): Promise<ProviderView> {
    const provider = await this.find(id);
    await this.checkFlow(input);
    let requested: RequestedAttribute[] | undefined; // of new SP metadata: hints in this answer only
    if (input.consentRequired !== undefined && provider.protocol !== 'oidc')
      throw new ProviderAdminError('wrong_protocol', 'consentRequired applies to OIDC providers only.');
    if (input.oidc !== undefined) {
      if (provider.protocol !== 'oidc')
        throw new ProviderAdminError('wrong_protocol', 'oidc settings apply to OIDC providers only.');
      // The view shows client_id with the metadata, so a PATCH may carry it back; it may not change it.
      const clientId = chosenClientId(input.oidc);
      if (clientId !== undefined && clientId !== (await this.clients.byProviderId(id)).clientId)
        throw new ProviderAdminError('invalid_oidc_metadata', 'The OIDC client metadata is invalid.', [
          'invalid_client_metadata: client_id: cannot be changed; register a new client for a new client_id',
        ]);
      await this.clients
        .update(id, this.oidcMetadata(input.oidc), actor)
        .catch((error: unknown) => badOidcMetadata(error));
    }
    if (input.saml !== undefined) {
      if (provider.protocol !== 'saml')
        throw new ProviderAdminError('wrong_protocol', 'saml settings apply to SAML providers only.');
      const { metadata, metadataUrl: _url, metadataSigningCertificate: _certificate, ...options } = input.saml;
      const { source, fetched } = await this.sourceChange(id, input.saml);
      const parsed = fetched?.metadata ?? (metadata === undefined ? null : spMetadata(() => parseSpMetadata(metadata)));
      requested = parsed?.requestedAttributes;
      await this.sps.update(id, parsed, source === undefined ? options : { ...options, metadataSource: source }, actor);
      if (fetched) await this.metadataRefresh.scheduleNext(id, fetched.cacheDurationMs, false);
    }
    if (input.consentRequired !== undefined) await this.clients.setConsentRequired(id, input.consentRequired, actor);
    await this.change(id, input, actor);
    return this.view(await this.find(id), requested);
  }

  /**
   * Fetches a SAML SP's metadata from its metadataUrl now and applies what changed (SpMetadataRefresh:
   * the worker's refresh, on demand). Refuses `no_such_provider`, `wrong_protocol`, an SP whose
   * metadata was not fetched from a URL, and a failed fetch or check (audited; nothing changes).
   */
  async refreshMetadata(id: string, actor: Actor): Promise<{ changes: SpMetadataChanges; provider: ProviderView }> {
    const provider = await this.find(id);
    if (provider.protocol !== 'saml')
      throw new ProviderAdminError('wrong_protocol', 'Only SAML providers have metadata to refresh.');
    const { changes } = await this.metadataRefresh.refresh(id, actor);
    return { changes, provider: await this.view(await this.find(id)) };
  }

  /**
   * Gives a confidential OIDC client a new secret, shown this once (stored as SHA-256, as at
   * registration); the old one stops working at once. Refuses `no_such_provider`, and
   * `no_client_secret` (409) for a SAML SP or a public client. Audited as
   * `oidc_client.secret_rotated`, without the secret.
   */
  async rotateSecret(id: string, actor: Actor): Promise<{ clientSecret: string; provider: ProviderView }> {
    const provider = await this.find(id);
    if (provider.protocol !== 'oidc')
      throw new SignoffError('no_client_secret', 'A SAML service provider has no client secret to rotate.');
    const { clientSecret } = await this.clients.rotateSecret(id, actor);
    return { clientSecret, provider: await this.view(await this.find(id)) };
  }

  /** How many sessions users have at the application now (live provider sessions): what `remove` would end. */
  async liveSessionCount(id: string, tx: EntityManager = this.db.manager): Promise<number> {
    return tx.count(ProviderSession, { where: { providerId: id, endedAt: IsNull() } });
  }

  /**
   * Deletes an application. Refuses `no_such_provider`, and `provider_has_sessions` (409,
   * `details.liveSessions`) while users have live sessions at it, unless `endSessions`: then those
   * sessions, and only those, end through the logout engine as an administrator's logout
   * (ApplicationLogout: the application is told over its back channel; the users' IdP sessions and
   * their other applications stay), in the transaction that deletes it.
   *
   * The row is never removed: it becomes a tombstone. The logout deliveries that record what each
   * operation told the application belong to it (logout_deliveries.provider_id cascades on delete), and
   * administrators must go on seeing, per logout, which applications confirmed. So there is no purge,
   * not even once the deliveries are final; nor a reduced one for tombstones without deliveries, which
   * would save one small row per deleted application at the price of a second deletion path whose
   * every cascade (provider sessions, tokens, deliveries) must be proven empty, and of audit events
   * and operations (initiatingProviderId) naming an id that no longer resolves to a name. In the
   * same transaction the row is disabled and marked deleted, which hides it from every lookup
   * (sign-in, tokens, SAML messages, metadata refresh, administration), and its unique identifiers are
   * released: slug, client_id or entityID get tombstone values (tombstoneValue), so the same
   * application can be registered again at once. What deliveries still going out need (logout
   * endpoints, certificates, the client_id a logout token names) stays on the tombstone. Audited as
   * `provider.deleted`, with the identifiers it had.
   */
  async remove(id: string, actor: Actor, options: { endSessions?: boolean } = {}): Promise<ProviderRemoval> {
    const { operation, endedSessions } = await this.db.transaction(async (tx) => {
      const provider = await tx.findOneBy(Provider, { id, deletedAt: IsNull() });
      if (!provider) throw new ProviderAdminError('no_such_provider', 'No such provider.');
      const now = this.clock.now();
      // Disabled before the count: from here on no session starts there, so none is left live behind the count.
      // Only if still not deleted: of two deletions at once (PostgreSQL), the second finds nothing to delete.
      const marked = await tx.update(
        Provider,
        { id, deletedAt: IsNull() },
        { enabled: false, deletedAt: now, updatedAt: now },
      );
      if (!marked.affected) throw new ProviderAdminError('no_such_provider', 'No such provider.');
      const live = await this.liveSessionCount(id, tx);
      if (live && !options.endSessions)
        throw new SignoffError(
          'provider_has_sessions',
          `${live === 1 ? 'One user is' : `${live} users are`} signed in to this application. Delete it with endSessions to sign ${
            live === 1 ? 'that session' : 'those sessions'
          } out of it first (their other sessions stay).`,
          { liveSessions: live },
        );
      const operation = live ? await this.applicationLogout.endAllIn(tx, id, actor) : null;
      // After the logout is written (the security events it owes name the application by its slug): its
      // deliveries are built later, from the tombstone, which keeps what they need.
      await tx.update(Provider, { id }, { slug: tombstoneValue(provider.slug, id, SLUG_LENGTH) });
      const released =
        provider.protocol === 'oidc' ? await this.clients.tombstone(tx, id) : await this.sps.tombstone(tx, id);
      await this.audit.record(
        {
          action: 'provider.deleted',
          actor,
          target: { type: 'provider', id },
          details: {
            slug: provider.slug,
            name: provider.name,
            protocol: provider.protocol,
            ...released,
            endedSessions: live,
            operationId: operation?.id ?? null,
          },
        },
        tx,
      );
      return { operation, endedSessions: live };
    });
    this.applicationLogout.afterCommit(operation);
    return { operationId: operation?.id ?? null, endedSessions };
  }

  /**
   * Refuses a change that would bind a flow that does not exist (`no_such_flow`), or one that ends no
   * session (`flow_ends_no_session`, 409) unless `confirmEndsNoSession`: the application's users would
   * stay signed in everywhere after a logout it starts.
   */
  private async checkFlow(input: ProviderSettings): Promise<void> {
    if (input.invalidationFlowId === undefined || input.invalidationFlowId === null) return;
    const flow = await this.flows.getFlow(input.invalidationFlowId).catch((error: unknown) => {
      if (error instanceof SignoffError && error.code === 'not_found')
        throw new ProviderAdminError('no_such_flow', 'invalidationFlowId names no flow.');
      throw error;
    });
    if (flow.endsNoSession && !input.confirmEndsNoSession)
      throw new SignoffError(
        'flow_ends_no_session',
        `The flow "${flow.slug}" has no user_logout or provider_logout stage: a logout this application starts would sign nobody out. Send confirmEndsNoSession: true to bind it anyway.`,
        { flow: { id: flow.id, slug: flow.slug, name: flow.name } },
      );
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
      details: {
        changed: Object.keys(changes),
        // The administrator's confirmation that the bound flow ends no session, on the record.
        ...(changes.invalidationFlowId && input.confirmEndsNoSession ? { confirmEndsNoSession: true } : {}),
      },
    });
  }

  /** A metadata source as given: the URL checked against the outbound policy, the certificate read as PEM. */
  private sourceOf(url: string, signingCertificate: string | null): MetadataSource {
    return {
      url: this.metadataSource.checkUrl(url),
      signingCertificate: signingCertificate === null ? null : pinnedCertificate(signingCertificate),
    };
  }

  /**
   * What a change says of where the SP's metadata comes from: `source` undefined (no change), null
   * (metadataUrl: null, fetched no more) or the new source, fetched now (`fetched`). Metadata XML for an
   * SP whose metadata is fetched from a URL is refused unless the change also says metadataUrl: null,
   * since the next refresh would silently replace it.
   */
  private async sourceChange(
    id: string,
    change: SamlProviderChange,
  ): Promise<{ source?: MetadataSource | null; fetched?: FetchedSpMetadata }> {
    const { metadata, metadataUrl, metadataSigningCertificate } = change;
    const current = await this.sps.byProviderId(id);
    if (metadataUrl === null) {
      if (metadataSigningCertificate)
        throw new SignoffError('invalid_request', 'metadataSigningCertificate goes with metadataUrl.');
      return { source: null };
    }
    if (metadataUrl === undefined && metadataSigningCertificate === undefined) {
      if (metadata !== undefined && current.metadataUrl)
        throw new SignoffError(
          'invalid_request',
          `This SP's metadata is fetched from ${current.metadataUrl}: to import metadata by hand instead, give metadataUrl: null with it.`,
        );
      return {};
    }
    if (metadata !== undefined)
      throw new SignoffError('invalid_request', 'Give either metadata or metadataUrl, not both.');
    const url = metadataUrl ?? current.metadataUrl;
    if (!url) throw new SignoffError('invalid_request', 'metadataSigningCertificate goes with metadataUrl.');
    // A new URL keeps the pinned certificate unless the change names another (or null): never less checked by accident.
    const source = this.sourceOf(
      url,
      metadataSigningCertificate === undefined ? current.metadataSigningCertificate : metadataSigningCertificate,
    );
    return { source, fetched: await this.metadataSource.fetch(source) };
  }

  private oidcMetadata(input: unknown): ClientMetadata {
    try {
      return this.clients.parse(input);
    } catch (error) {
      return badOidcMetadata(error);
    }
  }

  private async find(id: string): Promise<Provider> {
    // An SSF receiver is a provider row too (libs/ssf administers it): not an application here.
    const provider = await this.db
      .getRepository(Provider)
      .findOneBy({ id, deletedAt: IsNull(), protocol: In(APPLICATION_PROTOCOLS) });
    if (!provider) throw new ProviderAdminError('no_such_provider', 'No such provider.');
    return provider;
  }

  /** `requested`: the RequestedAttributes of SP metadata read by this request, shown as hints (see SamlSpsService.view). */
  private async view(provider: Provider, requested?: RequestedAttribute[]): Promise<ProviderView> {
    const oidc = provider.protocol === 'oidc' ? await this.clients.byProviderId(provider.id) : null;
    const saml =
      provider.protocol === 'saml' ? this.sps.view(await this.sps.byProviderId(provider.id), requested) : null;
    return {
      id: provider.id,
      slug: provider.slug,
      name: provider.name,
      protocol: provider.protocol,
      enabled: provider.enabled,
      invalidationFlowId: provider.invalidationFlowId,
      createdAt: provider.createdAt,
      updatedAt: provider.updatedAt,
      liveSessions: await this.liveSessionCount(provider.id),
      ...(oidc ? { oidc: this.clients.metadataOf(oidc), consentRequired: oidc.consentRequired } : {}),
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

/**
 * The administrator's choice of client_id in raw client metadata (`client_id`), or undefined; refuses
 * `invalid_oidc_metadata` when it is not 1–128 RFC 3986 unreserved characters.
 */
function chosenClientId(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || !Object.hasOwn(input, 'client_id')) return undefined;
  const clientId = (input as { client_id: unknown }).client_id;
  if (typeof clientId !== 'string' || !CLIENT_ID_PATTERN.test(clientId))
    throw new ProviderAdminError('invalid_oidc_metadata', 'The OIDC client metadata is invalid.', [
      'invalid_client_metadata: client_id: 1–128 letters, digits, ".", "_", "~" or "-" (RFC 3986 unreserved characters)',
    ]);
  return clientId;
}

function badOidcMetadata(error: unknown): never {
  if (error instanceof ClientMetadataError)
    throw new ProviderAdminError('invalid_oidc_metadata', 'The OIDC client metadata is invalid.', [
      `${error.error}: ${error.description}`,
    ]);
  throw error;
}
