import { Column, Entity, JoinColumn, ManyToOne, OneToOne, PrimaryColumn, type Relation } from 'typeorm';
import { InstantColumn, JsonColumn } from '../database/columns';
import { Flow } from './flow.entity';

/** `ssf`: a Shared Signals receiver (SsfReceiver), told security events; no one signs in to it. */
export type Protocol = 'oidc' | 'saml' | 'ssf';
/** The protocols of applications users sign in to (what the applications list shows). */
export const APPLICATION_PROTOCOLS: readonly Protocol[] = ['oidc', 'saml'];

/** The column lengths of the identifiers a tombstone renames (tombstoneValue). */
export const SLUG_LENGTH = 64;
export const CLIENT_ID_LENGTH = 128;
export const ENTITY_ID_LENGTH = 1024;

/** What marks a deleted provider's identifiers: `~` is no slug character, so no live slug can look like one. */
export const TOMBSTONE_MARK = '~deleted~';

/**
 * What a deleted provider's unique identifier (slug, client_id, entityID) becomes: the original, cut
 * to leave room, then TOMBSTONE_MARK and the provider's id, within the column's `maxLength`. Unique
 * because the id is, and readable in the database; the original is kept by the audit event
 * `provider.deleted` (and for a client_id, which logout tokens still name, in originalClientId).
 */
export function tombstoneValue(original: string, providerId: string, maxLength: number): string {
  const suffix = `${TOMBSTONE_MARK}${providerId}`;
  return original.slice(0, Math.max(0, maxLength - suffix.length)) + suffix;
}

/**
 * Whether a provider may take part in anything from now on (sign-in, tokens, SAML messages, logout
 * return URLs): enabled, and not a deleted application's tombstone. Delivering the logouts it was
 * already owed is the one thing a tombstone still does.
 */
export const isLiveProvider = (provider: Pick<Provider, 'enabled' | 'deletedAt'>): boolean =>
  provider.enabled && !provider.deletedAt;

/** One application registered at the IdP: an OIDC client or a SAML service provider (exactly one of). */
@Entity('providers')
export class Provider {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: SLUG_LENGTH, unique: true })
  slug: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 8 })
  protocol: Protocol;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  /** The flow run when this provider starts a logout; null: default-provider-invalidation-flow. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  invalidationFlowId: string | null;

  @ManyToOne(() => Flow, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'invalidation_flow_id' })
  invalidationFlow?: Relation<Flow> | null;

  @InstantColumn()
  createdAt: Date;

  @InstantColumn()
  updatedAt: Date;

  /**
   * Deleted by an administrator: the row is a tombstone from then on, kept for good and never found by
   * a protocol or administration lookup (isLiveProvider), because the logout deliveries that record
   * what it was told belong to it (logout_deliveries.provider_id cascades), and an operation's history
   * must not lose them. Its slug, client_id and entityID hold tombstone values (tombstoneValue), so the
   * same application can be registered again at once (libs/providers ProvidersAdminService.remove).
   */
  @InstantColumn({ nullable: true })
  deletedAt: Date | null;

  @OneToOne(() => OidcClient, (client) => client.provider)
  oidc?: Relation<OidcClient> | null;

  @OneToOne(() => SamlServiceProvider, (sp) => sp.provider)
  saml?: Relation<SamlServiceProvider> | null;
}

@Entity('oidc_clients')
export class OidcClient {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  providerId: string;

  @OneToOne(() => Provider, (provider) => provider.oidc, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id' })
  provider: Relation<Provider>;

  @Column({ type: 'varchar', length: CLIENT_ID_LENGTH, unique: true })
  clientId: string;

  /**
   * Set when the client is deleted: the client_id it had, while `clientId` holds its tombstone value
   * (tombstoneValue) so that the client_id is free for a new registration. Logout tokens still going
   * out to the deleted client's sessions carry this one as `aud` (Back-Channel Logout 1.0 §2.4): the RP
   * knows no other.
   */
  @Column({ type: 'varchar', length: CLIENT_ID_LENGTH, nullable: true })
  originalClientId: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  clientSecretHash: string | null;

  /** RFC 7591 §2 `client_uri`: a web page about the client, the link the user's home page shows for it. */
  @Column({ type: 'text', nullable: true })
  clientUri: string | null;

  @Column({ type: 'varchar', length: 32, default: 'client_secret_basic' })
  tokenEndpointAuthMethod: string;

  @JsonColumn()
  grantTypes: Array<'authorization_code' | 'refresh_token'>;

  @JsonColumn()
  redirectUris: string[];

  @JsonColumn()
  postLogoutRedirectUris: string[];

  @Column({ type: 'text', nullable: true })
  frontchannelLogoutUri: string | null;

  @Column({ type: 'boolean', default: false })
  frontchannelLogoutSessionRequired: boolean;

  @Column({ type: 'text', nullable: true })
  backchannelLogoutUri: string | null;

  @Column({ type: 'boolean', default: false })
  backchannelLogoutSessionRequired: boolean;

  /** `typ` header of logout tokens: `logout+jwt`, or `JWT` for receivers that refuse the newer value. */
  @Column({ type: 'varchar', length: 16, default: 'logout+jwt' })
  logoutTokenTyp: string;

  @Column({ type: 'varchar', length: 8, default: 'RS256' })
  idTokenSignedResponseAlg: string;

  /** `public`: sub is the user's id; `pairwise`: a keyed hash per sector (OIDC Core §8.1). */
  @Column({ type: 'varchar', length: 8, default: 'public' })
  subjectType: 'public' | 'pairwise';

  /** The sector a pairwise sub is derived for: the one host of the redirect_uris, fixed at registration. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  sectorIdentifier: string | null;

  /**
   * Ask the user before the first code for a set of scopes (third-party clients: those registered
   * through /oauth2/register); first-party clients an administrator registered skip it.
   */
  @Column({ type: 'boolean', default: false })
  consentRequired: boolean;
}

/**
 * One SAML attribute an SP receives: `name` with its NameFormat (`uri`, `basic` or `unspecified`, or a
 * full NameFormat URI) and optional FriendlyName, valued from a user field (`from`: `id`, `username`,
 * `email`, `name`, `givenName`, `familyName`, `groups`, or `<field>@scope` for a scoped value), or
 * fixed (`value`).
 */
export interface AttributeMapping {
  name: string;
  nameFormat: string;
  friendlyName?: string;
  from?: string;
  value?: string;
}

/**
 * One encryption certificate of a SAML SP (metadata §2.4.1.1): the certificate as base64 DER, and the
 * Algorithm of each md:EncryptionMethod of its KeyDescriptor, in the SP's order (empty: none listed,
 * so the SP takes what the IdP chooses).
 */
export interface EncryptionCertificate {
  certificate: string;
  methods: string[];
}

export interface AcsEndpoint {
  url: string;
  binding: 'post' | 'redirect';
  index: number;
  isDefault: boolean;
}

export interface SlsEndpoint {
  binding: 'redirect' | 'post' | 'soap';
  url: string;
  responseUrl: string | null;
}

@Entity('saml_service_providers')
export class SamlServiceProvider {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  providerId: string;

  @OneToOne(() => Provider, (provider) => provider.saml, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'provider_id' })
  provider: Relation<Provider>;

  @Column({ type: 'varchar', length: ENTITY_ID_LENGTH, unique: true })
  entityId: string;

  @JsonColumn()
  acsEndpoints: AcsEndpoint[];

  @Column({ type: 'text', nullable: true })
  slsUrl: string | null;

  /**
   * Every SingleLogoutService in the SP's metadata: a logout the SP starts is answered over the
   * binding it came in on. (slsUrl and slsBinding are the one used to send it our LogoutRequests.)
   */
  @JsonColumn()
  slsEndpoints: SlsEndpoint[];

  /** Where the SP wants LogoutResponses, when not slsUrl (metadata ResponseLocation). */
  @Column({ type: 'text', nullable: true })
  slsResponseUrl: string | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  slsBinding: 'redirect' | 'post' | 'soap' | null;

  @Column({ type: 'varchar', length: 24, default: 'frontchannel_iframe' })
  logoutMethod: 'frontchannel_iframe' | 'frontchannel_native' | 'backchannel';

  @Column({ type: 'boolean', default: true })
  signLogoutRequests: boolean;

  @Column({ type: 'boolean', default: false })
  requireSignedRequests: boolean;

  /**
   * Lets an SP without a signing certificate start a logout with an unsigned LogoutRequest (which
   * anyone who knows a NameID could forge): an administrator's explicit exception to SAML profiles
   * §4.4.4.1. Without it such an SP cannot start a logout; with a certificate, signatures are always required.
   */
  @Column({ type: 'boolean', default: false })
  allowUnsignedLogoutRequests: boolean;

  /** PEM certificates the SP signs with; several during a rollover. */
  @JsonColumn()
  certificates: string[];

  @Column({ type: 'varchar', length: 128, default: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' })
  nameIdFormat: string;

  @Column({ type: 'varchar', length: 16, default: 'persistent' })
  nameIdSource: 'persistent' | 'email' | 'username' | 'transient';

  @Column({ type: 'varchar', length: 128, default: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' })
  signatureAlgorithm: string;

  @Column({ type: 'varchar', length: 128, default: 'http://www.w3.org/2001/04/xmlenc#sha256' })
  digestAlgorithm: string;

  /**
   * `standard`: the attributes research and enterprise federations expect (subject-id,
   * eduPersonPrincipalName, uid, mail, displayName, givenName, sn, isMemberOf), plus attributeMappings;
   * `none`: attributeMappings only.
   */
  @Column({ type: 'varchar', length: 16, default: 'standard' })
  attributeProfile: 'standard' | 'none';

  /** Attributes of this SP's own, added to the profile (a name the profile also has replaces it). */
  @JsonColumn({ default: '[]' })
  attributeMappings: AttributeMapping[];

  /** The subject identifier the standard profile sends: `subject-id` (one per user) or `pairwise-id` (one per user and SP). */
  @Column({ type: 'varchar', length: 16, default: 'subject-id' })
  subjectIdentifier: 'subject-id' | 'pairwise-id';

  /** Where GET /logout?return_to= may send the browser after an IdP-started logout for this SP (exact, or one wildcard label). */
  @JsonColumn({ default: '[]' })
  logoutReturnUrls: string[];

  /** Encrypt assertions to the SP's encryption certificate (its metadata's KeyDescriptor use="encryption"). */
  @Column({ type: 'boolean', default: false })
  encryptAssertions: boolean;

  /**
   * The SP's encryption certificates from its metadata (md:KeyDescriptor use="encryption", or without
   * `use`: metadata §2.4.1.1), each with the md:EncryptionMethods the SP listed beside it.
   */
  @JsonColumn({ default: '[]' })
  encryptionCertificates: EncryptionCertificate[];

  /** Where the SP's metadata is fetched from and refreshed (null: imported once, by hand). */
  @Column({ type: 'text', nullable: true })
  metadataUrl: string | null;

  /** The certificate fetched metadata must be signed with (federation style); null: unsigned metadata is accepted. */
  @Column({ type: 'text', nullable: true })
  metadataSigningCertificate: string | null;

  @InstantColumn({ nullable: true })
  metadataRefreshedAt: Date | null;
}
