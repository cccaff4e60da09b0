import { Injectable } from '@nestjs/common';
import {
  type Actor,
  AuditService,
  Clock,
  newId,
  OutboundPolicy,
  OutboundPolicyError,
  Provider,
  SamlServiceProvider,
  SignoffError,
} from '@signoff/core';
import { DataSource } from 'typeorm';
import { type SpMetadata } from '../metadata/sp-metadata';
import { type BindingName, NAMEID_FORMATS } from '../xml/namespaces';

export type LogoutMethod = SamlServiceProvider['logoutMethod'];
export type NameIdSource = SamlServiceProvider['nameIdSource'];

export interface SpImportOptions {
  slug?: string;
  name?: string;
  logoutMethod?: LogoutMethod;
  slsBinding?: BindingName;
  signLogoutRequests?: boolean;
  requireSignedRequests?: boolean;
  /** The exception to SAML profiles §4.4.4.1 for an SP without a signing certificate (see spWarnings). */
  allowUnsignedLogoutRequests?: boolean;
  nameIdSource?: NameIdSource;
}

export type RegisteredSp = SamlServiceProvider & { provider: Provider };

const NAMEID_FORMAT_OF: Record<NameIdSource, string> = {
  persistent: NAMEID_FORMATS.persistent,
  transient: NAMEID_FORMATS.transient,
  email: NAMEID_FORMATS.email,
  username: NAMEID_FORMATS.unspecified,
};

/** SAML service providers, registered from their metadata plus the administrator's choices. */
@Injectable()
export class SamlSpsService {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly outbound: OutboundPolicy,
  ) {}

  async import(metadata: SpMetadata, options: SpImportOptions, actor: Actor): Promise<RegisteredSp> {
    const settings = settingsFor(metadata, options, this.outbound);
    const slug = options.slug ?? slugFor(metadata.entityId);
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      if (await tx.existsBy(SamlServiceProvider, { entityId: metadata.entityId }))
        throw new SignoffError('conflict', `an SP with entityID ${metadata.entityId} is already registered`);
      if (await tx.existsBy(Provider, { slug }))
        throw new SignoffError('conflict', `a provider "${slug}" already exists`);
      const provider = await tx.save(Provider, {
        id: newId(),
        slug,
        name: options.name ?? metadata.entityId,
        protocol: 'saml',
        enabled: true,
        invalidationFlowId: null,
        createdAt: now,
        updatedAt: now,
      });
      const sp = await tx.save(SamlServiceProvider, {
        providerId: provider.id,
        ...settings,
        signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
        digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
      });
      await this.audit.record(
        {
          action: 'saml_sp.registered',
          actor,
          target: { type: 'provider', id: provider.id },
          details: { entityId: metadata.entityId, slug },
        },
        tx,
      );
      return Object.assign(sp, { provider });
    });
  }

  /**
   * Changes a registered SP: new metadata (a certificate rollover, new endpoints; the entityID must
   * stay) and/or the administrator's choices. Every setting not given keeps its value, and the result
   * must pass the same checks as a new registration.
   */
  async update(
    providerId: string,
    metadata: SpMetadata | null,
    options: Omit<SpImportOptions, 'slug' | 'name'>,
    actor: Actor,
  ): Promise<RegisteredSp> {
    const sp = await this.byProviderId(providerId);
    if (metadata && metadata.entityId !== sp.entityId)
      throw new SignoffError(
        'invalid_request',
        `The metadata is for ${metadata.entityId}, not this SP (${sp.entityId}).`,
      );
    const current: SpMetadata = metadata ?? {
      entityId: sp.entityId,
      acs: sp.acsEndpoints,
      singleLogout: sp.slsEndpoints,
      certificates: sp.certificates,
      authnRequestsSigned: sp.requireSignedRequests,
      wantAssertionsSigned: true,
      nameIdFormats: [],
    };
    const settings = settingsFor(
      current,
      {
        logoutMethod: options.logoutMethod ?? sp.logoutMethod,
        slsBinding: options.slsBinding ?? (metadata ? undefined : (sp.slsBinding ?? undefined)),
        signLogoutRequests: options.signLogoutRequests ?? sp.signLogoutRequests,
        requireSignedRequests: options.requireSignedRequests ?? sp.requireSignedRequests,
        allowUnsignedLogoutRequests: options.allowUnsignedLogoutRequests ?? sp.allowUnsignedLogoutRequests,
        nameIdSource: options.nameIdSource ?? sp.nameIdSource,
      },
      this.outbound,
    );
    await this.db.transaction(async (tx) => {
      await tx.update(SamlServiceProvider, { providerId }, settings);
      await tx.update(Provider, { id: providerId }, { updatedAt: this.clock.now() });
      await this.audit.record(
        {
          action: 'saml_sp.updated',
          actor,
          target: { type: 'provider', id: providerId },
          details: { metadata: Boolean(metadata), changed: Object.keys(options) },
        },
        tx,
      );
    });
    return this.byProviderId(providerId);
  }

  /** An enabled SP by entityID, or null. */
  async byEntityId(entityId: string): Promise<RegisteredSp | null> {
    const sp = (await this.db
      .getRepository(SamlServiceProvider)
      .findOne({ where: { entityId }, relations: { provider: true } })) as RegisteredSp | null;
    return sp?.provider.enabled ? sp : null;
  }

  async byProviderId(providerId: string): Promise<RegisteredSp> {
    return (await this.db
      .getRepository(SamlServiceProvider)
      .findOneOrFail({ where: { providerId }, relations: { provider: true } })) as RegisteredSp;
  }

  view(sp: RegisteredSp) {
    return {
      entityId: sp.entityId,
      acs: sp.acsEndpoints,
      singleLogout: sp.slsUrl ? { url: sp.slsUrl, responseUrl: sp.slsResponseUrl, binding: sp.slsBinding } : null,
      singleLogoutEndpoints: sp.slsEndpoints,
      logoutMethod: sp.logoutMethod,
      signLogoutRequests: sp.signLogoutRequests,
      requireSignedRequests: sp.requireSignedRequests,
      allowUnsignedLogoutRequests: sp.allowUnsignedLogoutRequests,
      certificates: sp.certificates.length,
      nameIdSource: sp.nameIdSource,
      nameIdFormat: sp.nameIdFormat,
      warnings: spWarnings(sp),
    };
  }
}

/** What an administrator should know about an SP's settings: shown by the admin API (`warnings`) and the CLI. */
export function spWarnings(sp: Pick<SamlServiceProvider, 'certificates' | 'allowUnsignedLogoutRequests'>): string[] {
  if (!sp.allowUnsignedLogoutRequests) return [];
  if (sp.certificates.length)
    return [
      'allowUnsignedLogoutRequests has no effect while the SP has a signing certificate: its LogoutRequests must be signed.',
    ];
  return [
    "allowUnsignedLogoutRequests is on: this SP may start a logout with an unsigned LogoutRequest, so anyone who knows a user's NameID can end that user's sessions (SAML profiles §4.4.4.1 requires a signature). Register the SP's signing certificate and turn it off.",
  ];
}

/** The SP's columns from its metadata and the administrator's choices, refusing combinations logout could not use. */
function settingsFor(metadata: SpMetadata, options: Omit<SpImportOptions, 'slug' | 'name'>, outbound: OutboundPolicy) {
  const sls = pickSingleLogout(metadata, options);
  const logoutMethod = options.logoutMethod ?? (sls?.binding === 'soap' ? 'backchannel' : 'frontchannel_iframe');
  if (sls && logoutMethod === 'backchannel' && sls.binding === 'redirect') {
    throw new SignoffError(
      'invalid_request',
      'Back-channel logout needs a SOAP or POST SingleLogoutService; this SP offers only Redirect.',
    );
  }
  if (sls && logoutMethod !== 'backchannel' && sls.binding === 'soap') {
    throw new SignoffError(
      'invalid_request',
      'Front-channel logout needs a Redirect or POST SingleLogoutService, not SOAP.',
    );
  }
  // Back-channel logout (SOAP, or POST from the worker) is a request Signoff makes itself: the
  // outbound policy applies. Front-channel endpoints are loaded by the user's browser.
  if (sls && logoutMethod === 'backchannel') checkServerSide(sls.url, outbound);
  const requireSignedRequests = options.requireSignedRequests ?? metadata.authnRequestsSigned;
  if (requireSignedRequests && !metadata.certificates.length) {
    throw new SignoffError(
      'invalid_request',
      'Signed requests are required, but the metadata has no signing certificate to verify them with.',
    );
  }
  const nameIdSource = options.nameIdSource ?? 'persistent';
  return {
    entityId: metadata.entityId,
    acsEndpoints: metadata.acs,
    slsEndpoints: metadata.singleLogout,
    slsUrl: sls?.url ?? null,
    slsResponseUrl: sls?.responseUrl ?? null,
    slsBinding: sls?.binding ?? null,
    logoutMethod,
    signLogoutRequests: options.signLogoutRequests ?? true,
    requireSignedRequests,
    allowUnsignedLogoutRequests: options.allowUnsignedLogoutRequests ?? false,
    certificates: metadata.certificates,
    nameIdSource,
    nameIdFormat: NAMEID_FORMAT_OF[nameIdSource],
  };
}

/** Refuses, at registration, a SingleLogoutService the outbound policy would refuse at every delivery. */
function checkServerSide(url: string, outbound: OutboundPolicy): void {
  try {
    outbound.checkUrl(url);
  } catch (error) {
    if (!(error instanceof OutboundPolicyError)) throw error;
    throw new SignoffError('invalid_request', `SingleLogoutService ${url}: ${error.message}.`);
  }
}

/** The SingleLogoutService to use: the one the administrator named, else the best fit for the logout method. */
function pickSingleLogout(metadata: SpMetadata, options: SpImportOptions) {
  const offered = metadata.singleLogout;
  if (options.slsBinding) {
    const named = offered.find((endpoint) => endpoint.binding === options.slsBinding);
    if (!named)
      throw new SignoffError(
        'invalid_request',
        `The SP's metadata has no SingleLogoutService with the ${options.slsBinding} binding.`,
      );
    return named;
  }
  const preference: BindingName[] =
    options.logoutMethod === 'backchannel' ? ['soap', 'post'] : ['redirect', 'post', 'soap'];
  for (const binding of preference) {
    const found = offered.find((endpoint) => endpoint.binding === binding);
    if (found) return found;
  }
  // Offered endpoints that all misfit the method: say so, rather than register an SP logout cannot reach.
  if (offered.length) {
    throw new SignoffError(
      'invalid_request',
      `Back-channel logout needs a SOAP or POST SingleLogoutService; this SP offers only ${offered.map((endpoint) => endpoint.binding).join(', ')}.`,
    );
  }
  return null;
}

function slugFor(entityId: string): string {
  let base: string;
  try {
    base = new URL(entityId).hostname;
  } catch {
    base = entityId;
  }
  return (
    `saml-${base
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')}`.slice(0, 56) + `-${newId().slice(0, 6)}`
  );
}
