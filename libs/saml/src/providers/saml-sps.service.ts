import { Injectable } from '@nestjs/common';
import {
  type Actor,
  AuditService,
  Clock,
  ENTITY_ID_LENGTH,
  isLiveProvider,
  newId,
  OutboundPolicy,
  OutboundPolicyError,
  type AttributeMapping,
  Provider,
  returnUrlProblem,
  SamlServiceProvider,
  SignoffError,
  tombstoneValue,
} from '@signoff/core';
import { DataSource, type EntityManager } from 'typeorm';
import { type RequestedAttribute, type SpMetadata } from '../metadata/sp-metadata';
import { certificateFingerprint, type MetadataSource } from '../metadata/sp-metadata-source';
import { metadataChanges } from './metadata-changes';
import {
  type AttributeProfile,
  checkAttributeSettings,
  releasedAttributeNames,
  type SubjectIdentifier,
} from '../sso/attributes';
import { encryptionRecipient, XMLENC } from '../sso/assertion-encryption';
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
  /** `standard` (the default): the standard attributes plus attributeMappings; `none`: attributeMappings only. */
  attributeProfile?: AttributeProfile;
  /** The SP's own attributes (checked by checkAttributeSettings); at a change, the whole new list. */
  attributeMappings?: AttributeAssignment[];
  /** Which subject identifier the standard profile sends: `subject-id` (the default) or `pairwise-id`. */
  subjectIdentifier?: SubjectIdentifier;
  /** Where `/logout?return_to=…&client_id=<entityID>` may end (see returnUrlProblem); at a change, the whole new list. */
  logoutReturnUrls?: string[];
  /** Encrypt assertions to the SP's encryption certificate (off by default); refused when the metadata has none Signoff can use. */
  encryptAssertions?: boolean;
  /**
   * Where the metadata was fetched from and the certificate it must be signed with (the worker
   * refreshes it from there); at a change, null: imported by hand from now on.
   */
  metadataSource?: MetadataSource | null;
}

/** An attribute mapping as given, before checkAttributeSettings: `{ name, nameFormat, friendlyName?, from? | value? }`. */
export type AttributeAssignment = Partial<AttributeMapping>;

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
        ...sourceColumns(options.metadataSource ?? null, now),
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
   * must pass the same checks as a new registration. `audit`: `metadata_refreshed` for the worker's
   * (or an administrator's) refresh from the SP's metadataUrl, audited only when something changed,
   * with what changed (metadataChanges).
   */
  async update(
    providerId: string,
    metadata: SpMetadata | null,
    options: Omit<SpImportOptions, 'slug' | 'name'>,
    actor: Actor,
    audit: 'updated' | 'metadata_refreshed' = 'updated',
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
      encryptionCertificates: sp.encryptionCertificates,
      authnRequestsSigned: sp.requireSignedRequests,
      wantAssertionsSigned: true,
      nameIdFormats: [],
      requestedAttributes: [],
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
        attributeProfile: options.attributeProfile ?? sp.attributeProfile,
        attributeMappings: options.attributeMappings ?? sp.attributeMappings,
        subjectIdentifier: options.subjectIdentifier ?? sp.subjectIdentifier,
        logoutReturnUrls: options.logoutReturnUrls ?? sp.logoutReturnUrls,
        encryptAssertions: options.encryptAssertions ?? sp.encryptAssertions,
      },
      this.outbound,
    );
    const now = this.clock.now();
    const kept = sp.metadataUrl ? { url: sp.metadataUrl, signingCertificate: sp.metadataSigningCertificate } : null;
    const source = options.metadataSource === undefined ? kept : options.metadataSource;
    const sourced = {
      ...sourceColumns(source, now),
      // Metadata given for a URL-sourced SP was just fetched from there; otherwise the time stays.
      ...(source && !metadata ? { metadataRefreshedAt: sp.metadataRefreshedAt } : {}),
    };
    const changes = audit === 'metadata_refreshed' ? metadataChanges(sp, settings) : {};
    await this.db.transaction(async (tx) => {
      await tx.update(SamlServiceProvider, { providerId }, { ...settings, ...sourced });
      await tx.update(Provider, { id: providerId }, { updatedAt: now });
      if (audit === 'updated')
        await this.audit.record(
          {
            action: 'saml_sp.updated',
            actor,
            target: { type: 'provider', id: providerId },
            details: { metadata: Boolean(metadata), changed: Object.keys(options) },
          },
          tx,
        );
      else if (Object.keys(changes).length)
        await this.audit.record(
          {
            action: 'saml_sp.metadata_refreshed',
            actor,
            target: { type: 'provider', id: providerId },
            details: { metadataUrl: source?.url ?? null, changed: Object.keys(changes), ...changes },
          },
          tx,
        );
    });
    return this.byProviderId(providerId);
  }

  /**
   * An enabled SP by entityID, or null: the lookup behind every message an SP sends (SamlIntake), IdP-
   * initiated SSO and logout return URLs. Never a deleted SP's tombstone, not even by its tombstone entityID.
   */
  async byEntityId(entityId: string): Promise<RegisteredSp | null> {
    const sp = (await this.db
      .getRepository(SamlServiceProvider)
      .findOne({ where: { entityId }, relations: { provider: true } })) as RegisteredSp | null;
    return sp && isLiveProvider(sp.provider) ? sp : null;
  }

  /**
   * A deleted SP's part of its tombstone (ProvidersAdminService.remove), in the caller's transaction:
   * its entityID is renamed (tombstoneValue) so that the SP can be registered again at once. Its
   * SingleLogoutService, certificates and signing choices stay: the LogoutRequests still going out to
   * it are built from them (and from the sessions, which keep the NameID and its qualifiers as issued).
   * Answers the entityID it had.
   */
  async tombstone(tx: EntityManager, providerId: string): Promise<{ entityId: string }> {
    const { entityId } = await tx.findOneByOrFail(SamlServiceProvider, { providerId });
    await tx.update(
      SamlServiceProvider,
      { providerId },
      { entityId: tombstoneValue(entityId, providerId, ENTITY_ID_LENGTH) },
    );
    return { entityId };
  }

  async byProviderId(providerId: string): Promise<RegisteredSp> {
    return (await this.db
      .getRepository(SamlServiceProvider)
      .findOneOrFail({ where: { providerId }, relations: { provider: true } })) as RegisteredSp;
  }

  /**
   * What the admin API shows of an SP. `requested`: the RequestedAttributes of metadata just read (at
   * registration or a metadata change; they are not stored), shown as hints with whether the SP's
   * attribute settings provide each.
   */
  view(sp: RegisteredSp, requested?: RequestedAttribute[]) {
    const released = new Set(releasedAttributeNames(sp).map((attribute) => attribute.name));
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
      attributeProfile: sp.attributeProfile,
      attributeMappings: sp.attributeMappings,
      subjectIdentifier: sp.subjectIdentifier,
      logoutReturnUrls: sp.logoutReturnUrls,
      encryptAssertions: sp.encryptAssertions,
      encryptionCertificates: sp.encryptionCertificates.length,
      assertionEncryption: assertionEncryptionOf(sp),
      metadataUrl: sp.metadataUrl,
      metadataSigningCertificateSha256: sp.metadataSigningCertificate
        ? certificateFingerprint(sp.metadataSigningCertificate)
        : null,
      metadataRefreshedAt: sp.metadataRefreshedAt,
      ...(requested
        ? {
            requestedAttributes: requested.map((attribute) => ({
              ...attribute,
              provided: released.has(attribute.name),
            })),
          }
        : {}),
      warnings: spWarnings(sp),
    };
  }
}

/** The columns that say where an SP's metadata comes from (null: imported by hand). */
function sourceColumns(source: MetadataSource | null, now: Date) {
  return {
    metadataUrl: source?.url ?? null,
    metadataSigningCertificate: source?.signingCertificate ?? null,
    metadataRefreshedAt: source ? now : null,
  };
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

/**
 * Said when an SP is registered without a chosen logout method and gets the front channel, because
 * its metadata offers no SOAP SingleLogoutService: what that choice cannot do.
 */
export const FRONTCHANNEL_ONLY_WARNING =
  "This SP is logged out in the user's browser only (front channel): its metadata offers no SOAP SingleLogoutService. Logouts without a browser (an administrator ending a session, a user deactivated, a session expiring) cannot reach it and are recorded as skipped for it. If the SP takes LogoutRequests posted by a server, choose logoutMethod backchannel with its POST endpoint.";

/**
 * What a registration adds to the SP's warnings (spWarnings) about the defaults it chose:
 * FRONTCHANNEL_ONLY_WARNING when no logout method was chosen (`methodChosen` false) and the default
 * came out front-channel.
 */
export function logoutDefaultWarnings(
  sp: Pick<SamlServiceProvider, 'slsUrl' | 'logoutMethod'>,
  methodChosen: boolean,
): string[] {
  return !methodChosen && sp.slsUrl !== null && sp.logoutMethod !== 'backchannel' ? [FRONTCHANNEL_ONLY_WARNING] : [];
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
  if (sls && logoutMethod === 'backchannel') checkServerSide(sls.url, outbound, options.logoutMethod === undefined);
  const requireSignedRequests = options.requireSignedRequests ?? metadata.authnRequestsSigned;
  if (requireSignedRequests && !metadata.certificates.length) {
    throw new SignoffError(
      'invalid_request',
      'Signed requests are required, but the metadata has no signing certificate to verify them with.',
    );
  }
  const nameIdSource = options.nameIdSource ?? 'persistent';
  const attributeProfile = options.attributeProfile ?? 'standard';
  const subjectIdentifier = options.subjectIdentifier ?? 'subject-id';
  const attributeMappings = checkAttributeSettings({
    attributeProfile,
    subjectIdentifier,
    attributeMappings: options.attributeMappings ?? [],
  });
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
    attributeProfile,
    attributeMappings,
    subjectIdentifier,
    logoutReturnUrls: checkLogoutReturnUrls(options.logoutReturnUrls ?? []),
    encryptAssertions: checkEncryptAssertions(metadata, options.encryptAssertions ?? false),
    encryptionCertificates: metadata.encryptionCertificates,
  };
}

/**
 * encryptAssertions, refused when on for an SP none of whose encryption certificates Signoff can
 * encrypt to (encryptionRecipient): better no registration than assertions the SP cannot read, or
 * assertions sent in the clear to an SP that asked for them encrypted.
 */
function checkEncryptAssertions(metadata: SpMetadata, encryptAssertions: boolean): boolean {
  const { problem } = encryptAssertions ? encryptionRecipient(metadata.encryptionCertificates) : {};
  if (problem)
    throw new SignoffError(
      'invalid_request',
      `Assertions cannot be encrypted for this SP (encryptAssertions): ${problem}.`,
    );
  return encryptAssertions;
}

/**
 * What the admin API shows of an SP's assertion encryption: the algorithms its assertions are (or,
 * once encryptAssertions is on, would be) encrypted with, or null when its metadata has no
 * encryption certificate Signoff can use.
 */
function assertionEncryptionOf(sp: Pick<SamlServiceProvider, 'encryptionCertificates'>) {
  const { recipient } = encryptionRecipient(sp.encryptionCertificates);
  return recipient ? { contentEncryption: recipient.algorithm, keyTransport: XMLENC.rsaOaepMgf1p } : null;
}

/** The most logoutReturnUrls an SP may have. */
export const MAX_LOGOUT_RETURN_URLS = 20;

/** The SP's logoutReturnUrls, each an allowed return URL (returnUrlProblem), else refused naming every bad one. */
function checkLogoutReturnUrls(urls: string[]): string[] {
  if (urls.length > MAX_LOGOUT_RETURN_URLS)
    throw new SignoffError('invalid_request', `An SP may have at most ${MAX_LOGOUT_RETURN_URLS} logoutReturnUrls.`);
  const problems = urls.flatMap((url) => {
    const problem = returnUrlProblem(url);
    return problem ? [`${url} ${problem}`] : [];
  });
  if (problems.length) throw new SignoffError('invalid_request', `logoutReturnUrls: ${problems.join('; ')}.`, problems);
  return [...new Set(urls)];
}

/** Refuses, at registration, a SingleLogoutService the outbound policy would refuse at every delivery. */
function checkServerSide(url: string, outbound: OutboundPolicy, byDefault: boolean): void {
  try {
    outbound.checkUrl(url);
  } catch (error) {
    if (!(error instanceof OutboundPolicyError)) throw error;
    const hint = byDefault
      ? ' Back-channel SOAP is the default for an SP that offers it: allow the address with OUTBOUND_ALLOW, or choose a front-channel logoutMethod.'
      : '';
    throw new SignoffError('invalid_request', `SingleLogoutService ${url}: ${error.message}.${hint}`);
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
  // No method chosen: back-channel SOAP when the SP offers it (every logout reaches it, with or without
  // a browser), else the front channel; a chosen method takes the endpoint that suits it best.
  const preference: BindingName[] =
    options.logoutMethod === undefined
      ? ['soap', 'redirect', 'post']
      : options.logoutMethod === 'backchannel'
        ? ['soap', 'post']
        : ['redirect', 'post', 'soap'];
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
