import { Column, Entity, JoinColumn, ManyToOne, OneToOne, PrimaryColumn, type Relation } from 'typeorm';
import { InstantColumn, JsonColumn } from '../database/columns';
import { Flow } from './flow.entity';

export type Protocol = 'oidc' | 'saml';

/** One application registered at the IdP: an OIDC client or a SAML service provider (exactly one of). */
@Entity('providers')
export class Provider {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 64, unique: true })
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
   * Deleted by an administrator while deliveries to it were still open: hidden from administration and
   * disabled (no sign-in, no token), but kept until those deliveries are final, because deleting the
   * row would delete them with it (libs/providers ProvidersAdminService.remove, purgeDeleted).
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

  @Column({ type: 'varchar', length: 128, unique: true })
  clientId: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  clientSecretHash: string | null;

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

  @Column({ type: 'varchar', length: 1024, unique: true })
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
